import { LocalTrainer } from '../../src/federated/localTrainer';
import { federatedDelta } from '../../src/federated/federatedDelta';
import { gatherRows } from '../../src/model/tfjs/sessionLoss';
import { addGaussianNoise } from '../../src/federated/clipAndNoise';
import { quantizeAtScale } from '../../src/federated/quantizeUpdate';
import { shareBits } from '../../src/federated/secureAggregation/additiveShares';
import { secureStep } from '../../src/federated/secureAggregation/secureReport';
import { maxReportBytes } from '../../src/server/secureAggregation/leaderShares';
import { RowSchedule } from '../../src/server/rowSchedule';
import { itemSketch, sketchEstimates, sketchHash } from '../../src/federated/itemSketch';
import { ServerOptimizer } from '../../src/server/serverOptimizer';
import { trainableVector, withTrainable } from '../../src/server/fedAvg';
import { Random } from '../random';
import { capturedShare, lift, momentLength, momentMatrix, project, rowMoment, tableBasis, topSubspace } from './rowBasis';
import { clipParts, dpfKeyBytes, ownRows, pickCoordinates } from './deviceRows';
import { NoisyRowGate } from './noisyRowGate';
import { rowGateFactor } from '../../src/server/rowGate';
import { epsilonFor } from '../../src/server/privacyAccountant';
import { formatDuration } from '../../src/node/cliArgs';
import type { ModelWeights } from '../../src/node/modelDir';
import type { SimulationSettings } from './simulationSettings';

/**
 * The pretrained model with rows for the catalogue's new items appended (indices
 * `w.config.numItems … numItems-1`): a neutral start the server can make without any event, a
 * seeded random direction at the median norm of the trained rows (the model scores by cosine, so
 * a new item starts out neither near nor far from any session on average).
 */
export function growItemTable(w: ModelWeights, numItems: number, seed: number): ModelWeights {
  const { numItems: old, embedDim: d } = w.config;
  if (numItems < old) throw new RangeError(`growItemTable: ${numItems} < ${old} items`);
  const norms = new Float64Array(old);
  for (let i = 0; i < old; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += w.items[i * d + k]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const median = Float64Array.from(norms).sort()[Math.floor(old / 2)] ?? 1;
  const items = new Float32Array(numItems * d);
  items.set(w.items);
  const rng = new Random(seed);
  for (let i = old; i < numItems; i++) {
    const row = items.subarray(i * d, i * d + d);
    let s = 0;
    for (let k = 0; k < d; k++) {
      row[k] = rng.normal();
      s += row[k]! ** 2;
    }
    const f = median / Math.sqrt(s);
    for (let k = 0; k < d; k++) row[k] = row[k]! * f;
  }
  return { config: { ...w.config, numItems }, items, dense: new Map(w.dense) };
}

/** One line of the progress table. */
export interface RoundRow {
  round: number;
  clients: number;
  /** Rows announced, and how many of them had never been trained. */
  rows: number;
  newRows: number;
  /** Share of the sampled devices' training targets that were announced rows. */
  targetCoverage: number;
  /** Mean loss per example of the sampled devices' first local epoch (before their training). */
  loss: number;
  /** Mean L2 norm of the devices' deltas before clipping, and the share that was clipped. */
  deltaNorm: number;
  /** The same norm of the dense values alone, and of the rows alone (announced or own). */
  denseNorm: number;
  rowNorm: number;
  clipped: number;
  recall20: number;
  mrr20: number;
  /** Cumulative ε after this round (Infinity without noise). */
  epsilon: number;
  seconds: number;
}

/** Inputs of {@link runFederated}. */
export interface FederatedRunOptions {
  name: string;
  settings: SimulationSettings;
  /** σ of this run; 0 = FedAvg without noise. */
  noiseMultiplier: number;
  /** The starting model, its item table already grown to the catalogue ({@link growItemTable}). */
  start: ModelWeights;
  /** Rows below this index were trained before; the others are the catalogue's new items. */
  firstItems: number;
  /** Each device's sessions (the whole population; K are sampled per round). */
  devices: Int32Array[][];
  /** Quality of a model on the per-round test sample. */
  evaluate: (w: ModelWeights) => Promise<{ recall20: number; mrr20: number }>;
  log: (m: string) => void;
}

/**
 * Runs rounds of federated training the way a secure-aggregation round does it. Each round:
 * 1. the server's {@link RowSchedule} announces `rowsPerRound` item rows (new items first, then
 *    the rows its earlier aggregates found most popular, then a cycle over the catalogue) and,
 *    with `sketchBuckets`, a seed for the round's item sketch (src/federated/itemSketch.ts);
 * 2. each of K sampled devices trains with {@link LocalTrainer} (the device's own code: the dense
 *    tensors and the announced rows, full softmax over the catalogue) on its own sessions, then
 *    clips its delta (dense values and rows) to √(C² − c²), appends its item sketch of norm
 *    c = sketchShare·C (so the whole upload has norm ≤ C), adds its share σ·C/√K of the noise and
 *    quantizes at the round's fixed step (`secureStep`, `quantizeAtScale`): the codes it would
 *    split into additive shares;
 * 3. the server learns only the sum of the codes (what the two aggregators reconstruct; the
 *    split into shares and back is exact and tested in `test/unit/federated/`), divides by K and
 *    applies it with its optimizer (`src/server/serverOptimizer.ts`: FedAvg or FedAdam).
 * The upload size is the secure report's for the round's length and modulus (`maxReportBytes`).
 * Devices run one after another; noise and rounding use a seeded generator (runs repeat).
 */
export async function runFederated(o: FederatedRunOptions): Promise<{
  weights: ModelWeights;
  rows: RoundRow[];
  updateBytes: number;
  downloadBytes: number;
}> {
  const s = o.settings;
  const config = o.start.config;
  const d = config.embedDim;
  const k = s.clientsPerRound;
  const n = o.devices.length;
  if (k > n) throw new RangeError(`--clients-per-round ${k} exceeds the ${n} simulated devices`);
  // A population of P × N devices (P replicas of each real one, `populationScale`) sampled at the
  // same rate: cohorts of P × K, each real device standing for its P replicas. Their noise adds up
  // to the same σ·C on the sum, and the sum's signal is P times the real cohort's, so the average
  // carries P times less noise (ε is unchanged: same σ, same sampling rate). For P > 1 the replicas'
  // noise is drawn once on the sum, in floats (their rounding noise is left out).
  const p = s.populationScale;
  const cohort = p * k;
  const noiseStd = (o.noiseMultiplier * s.clipNorm) / Math.sqrt(cohort);
  // Rows a device picks itself (`privateRows`): the aggregators add the noise on the sum.
  const own = s.privateRows;
  const deviceNoise = p === 1 && own === 0 ? noiseStd : 0;
  const step = secureStep(s.clipNorm, deviceNoise);
  const bits = shareBits(cohort);
  const rng = new Random(s.seed * 7 + Math.round(o.noiseMultiplier * 1000));
  const uniform = (): number => rng.next();
  const fresh: number[] = [];
  for (let i = o.firstItems; i < config.numItems; i++) fresh.push(i);
  const schedule = new RowSchedule({
    numItems: config.numItems,
    rowsPerRound: s.rowsPerRound,
    newRows: fresh,
    exploitShare: s.exploitShare,
    exploitPool: s.exploitPool,
  });
  // With a sketch, it takes a fixed share of the clip norm and the rest of the update what is left.
  const sketchNorm = s.sketchBuckets > 0 ? s.sketchShare * s.clipNorm : 0;
  // With a row basis (`rowBasis`), the rows' second moment takes a share of 0.1·C the same way.
  for (const [name, v] of [
    ['rowBasis', s.rowBasis],
    ['rowDims', s.rowDims],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > d)
      throw new RangeError(`runFederated: ${name} must be an integer in [0, ${d}] (the row size), got ${v}`);
  const basisRank = s.rowBasis > 0 && s.rowBasis < d ? s.rowBasis : 0;
  if (basisRank > 0 && s.rowDims > 0) throw new RangeError('runFederated: rowBasis and rowDims are two ways to shrink a row; pick one');
  if (!Number.isInteger(own) || own < 0) throw new RangeError(`runFederated: privateRows must be a non-negative integer, got ${own}`);
  if (s.rowAccumulate > 0 && own === 0) throw new RangeError('runFederated: rowAccumulate applies to the own rows; set privateRows too');
  // The oracle's per-row averaging rescales each row's noise by its own count, which the gate's
  // single noise variance does not follow: refuse the pair rather than run without the gate.
  if (s.rowThreshold > 0 && s.rowCountOracle > 0 && own === 0)
    throw new RangeError('runFederated: rowThreshold cannot gate rows averaged by rowCountOracle; set one of them to 0');
  const gate =
    own > 0
      ? new NoisyRowGate({ numItems: config.numItems, rowSize: d, threshold: s.rowThreshold, accumulate: s.rowAccumulate > 0 })
      : null;
  if (own > 0 && (s.rowsPerRound > 0 || basisRank > 0 || s.rowDims > 0))
    throw new RangeError('runFederated: privateRows replaces the announced rows; set rowsPerRound, rowBasis and rowDims to 0');
  const momentNorm = basisRank > 0 ? 0.1 * s.clipNorm : 0;
  const updateClip = Math.sqrt(s.clipNorm ** 2 - sketchNorm ** 2 - momentNorm ** 2);
  let dense = new Map(o.start.dense);
  const items = Float32Array.from(o.start.items);
  const denseSize = trainableVector(dense, config).length;
  // Coordinates uploaded per announced row (`rowDims`; the whole row by default).
  const w = basisRank > 0 ? basisRank : s.rowDims > 0 && s.rowDims < d ? s.rowDims : d;
  const rowsEnd = denseSize + s.rowsPerRound * w;
  // Layout: dense values, rows (w each), the rows' moment (row basis only), the item sketch.
  const momentsEnd = rowsEnd + (basisRank > 0 ? momentLength(d) : 0);
  const length = momentsEnd + s.sketchBuckets;
  // The round's public row basis (d × basisRank), first from the pretrained table's rows.
  let basis = basisRank > 0 ? tableBasis(o.start.items, o.firstItems, d, basisRank) : null;
  const updateBytes = maxReportBytes(length, bits) + own * dpfKeyBytes(config.numItems, d, bits);
  // A device downloads the published model each round: the int8 item table and dense tensors
  // (one byte per value; the scales and the manifest are a rounding error beside them).
  let denseValues = 0;
  for (const v of dense.values()) denseValues += v.length;
  const downloadBytes = config.numItems * d + denseValues;
  // Expected squared norm the noise alone gives one row of the averaged update (the schedule's usage estimate).
  const noiseEnergy = w * ((o.noiseMultiplier * s.clipNorm) / cohort) ** 2;
  const coordRng = new Random(s.seed * 13 + 5);
  const denseOptimizer = new ServerOptimizer(denseSize, { kind: s.serverOptimizer, lr: s.serverLr });
  const rowOptimizer = new ServerOptimizer(config.numItems * d, { kind: s.serverOptimizer, lr: s.rowServerLr });
  const rows: RoundRow[] = [];
  const started = performance.now();
  for (let round = 1; round <= s.rounds; round++) {
    const t0 = performance.now();
    const announced = schedule.next();
    const untrainedBefore = schedule.untrained;
    const isAnnounced = new Uint8Array(config.numItems);
    for (const r of announced) isAnnounced[r] = 1;
    const before = trainableVector(dense, config);
    const startRows = gatherRows(announced, items, d);
    const trainer = new LocalTrainer(config, items, { rows: announced });
    // The round's coordinates of each announced row (public: drawn by the server, not the devices).
    const coords = w === d ? null : pickCoordinates(announced.length, d, w, coordRng);
    const hash = s.sketchBuckets > 0 ? sketchHash(s.sketchBuckets, s.seed * 1000 + round) : null;
    const picked = new Set<number>();
    while (picked.size < k) picked.add(rng.int(n));
    const sum = new Int32Array(length);
    let loss = 0;
    let norms = 0;
    let denseNorms = 0;
    let rowNorms = 0;
    let clipped = 0;
    let targets = 0;
    let covered = 0;
    // Diagnosis only (`rowCountOracle`): how many sampled devices hold each item.
    const touchers = s.rowCountOracle ? new Int32Array(config.numItems) : null;
    // The sum of the devices' own rows (`privateRows`), as the two aggregators' DPF sums give it.
    const rowSum = own > 0 ? new Int32Array(config.numItems * d) : null;
    // Own rows applied this round (all touched rows, or those above the noise; diagnosis).
    let kept = 0;
    for (const dev of picked) {
      const sessions = o.devices[dev]!;
      const mine = rowSum ? ownRows(sessions, own) : null;
      if (mine) for (const i of mine) isAnnounced[i] = 1;
      for (const x of sessions)
        for (let t = 1; t < x.length; t++) {
          targets++;
          covered += isAnnounced[x[t]!]!;
        }
      if (mine) {
        // The device's own rows: trained, clipped with the dense tensors, quantized at the same
        // step; their codes add into the table-shaped sum the DPF keys would expand to.
        for (const i of mine) isAnnounced[i] = 0;
        const start = gatherRows(mine, items, d);
        const mineTrainer = new LocalTrainer(config, items, { rows: mine });
        const r = await mineTrainer.train(dense, sessions, { epochs: s.localEpochs, lr: s.localLr });
        mineTrainer.dispose();
        const full = federatedDelta(dense, r.weights, config, { start, trained: r.rows! });
        const part = clipParts(full, denseSize, updateClip, s.rowClipShare);
        norms += part.norm;
        denseNorms += part.dense;
        rowNorms += part.rows;
        if (part.clipped) clipped++;
        loss += r.firstEpochLoss;
        const delta = new Float32Array(length);
        delta.set(full.subarray(0, denseSize), 0);
        if (hash) delta.set(itemSketch(sessions, hash, sketchNorm), momentsEnd);
        const codes = quantizeAtScale(delta, step, uniform);
        for (let j = 0; j < length; j++) sum[j]! += codes[j]!;
        const rowCodes = quantizeAtScale(full.subarray(denseSize), step, uniform);
        mine.forEach((item, j) => {
          for (let c = 0; c < d; c++) rowSum![item * d + c]! += rowCodes[j * d + c]!;
        });
        continue;
      }
      if (touchers) for (const i of new Set(sessions.flatMap((x) => Array.from(x)))) touchers[i]!++;
      const r = await trainer.train(dense, sessions, { epochs: s.localEpochs, lr: s.localLr });
      const delta = new Float32Array(length);
      const full = federatedDelta(dense, r.weights, config, r.rows ? { start: startRows, trained: r.rows } : undefined);
      if (basis) {
        const fullRows = full.subarray(denseSize);
        delta.set(full.subarray(0, denseSize), 0);
        delta.set(project(fullRows, basis, d, w), denseSize);
        delta.set(rowMoment(fullRows, d, momentNorm), rowsEnd);
      } else if (coords) {
        delta.set(full.subarray(0, denseSize), 0);
        for (let j = 0; j < coords.length; j++) delta[denseSize + j] = full[denseSize + Math.floor(j / w) * d + coords[j]!]!;
      } else delta.set(full, 0);
      const part = clipParts(delta.subarray(0, rowsEnd), denseSize, updateClip, s.rowClipShare);
      norms += part.norm;
      denseNorms += part.dense;
      rowNorms += part.rows;
      if (part.clipped) clipped++;
      if (hash) delta.set(itemSketch(sessions, hash, sketchNorm), momentsEnd);
      loss += r.firstEpochLoss;
      addGaussianNoise(delta, deviceNoise, uniform);
      const codes = quantizeAtScale(delta, step, uniform);
      for (let j = 0; j < length; j++) sum[j]! += codes[j]!;
    }
    trainer.dispose();
    // The averaged update, as the server reconstructs it from the two aggregators' sums.
    const mean = new Float32Array(length);
    for (let j = 0; j < length; j++) mean[j] = (sum[j]! * step) / k;
    if (p > 1 || own > 0) {
      // The P·K replicas' noise, σ·C on the sum, on the average of P·K (the signal is unchanged).
      const noise = new Float32Array(length);
      addGaussianNoise(noise, (o.noiseMultiplier * s.clipNorm) / cohort, uniform);
      for (let j = 0; j < length; j++) mean[j] = mean[j]! + noise[j]!;
    }
    // A decaying server rate (FedAvg): both steps scaled alike, linearly from 1 to serverLrFinal.
    const decay = s.rounds > 1 ? 1 - (1 - s.serverLrFinal) * ((round - 1) / (s.rounds - 1)) : 1;
    const applied = decay === 1 && !touchers ? mean : mean.map((v, j) => (j < rowsEnd ? v * decay : v));
    const next = Float32Array.from(before);
    denseOptimizer.step(next, 0, applied.subarray(0, denseSize));
    dense = withTrainable(dense, next, config);
    const rowDelta = mean.subarray(denseSize, rowsEnd);
    if (hash)
      schedule.observePopularity(
        sketchEstimates(
          mean.subarray(momentsEnd).map((v) => v * cohort),
          hash,
          config.numItems,
        ),
      );
    const rowStep = applied.subarray(denseSize, rowsEnd);
    if (touchers)
      announced.forEach((r, j) => {
        const f = k / Math.max(touchers[r]!, 1);
        for (let c = j * w; c < j * w + w; c++) rowStep[c] = rowStep[c]! * f;
      });
    const fullRow = new Float32Array(d);
    // Under DP the announced rows go through the gate too (`rowThreshold`): in the w values a row
    // uploads, against the noise's variance per value of the averaged update (σ·C/cohort)².
    const gateVar = ((decay * o.noiseMultiplier * s.clipNorm) / cohort) ** 2;
    const gatedRow = new Float32Array(w);
    announced.forEach((r, j) => {
      // A copy: the schedule observes the rows' changes as released, before the gate.
      gatedRow.set(rowStep.subarray(j * w, j * w + w));
      let energy = 0;
      for (let c = 0; c < w; c++) energy += gatedRow[c]! ** 2;
      const g = rowGateFactor(energy, w, gateVar, s.rowThreshold);
      if (g === 0) return;
      kept++;
      if (g !== 1) for (let c = 0; c < w; c++) gatedRow[c] = gatedRow[c]! * g;
      if (basis) {
        lift(gatedRow, basis, d, w, fullRow);
        rowOptimizer.step(items, r * d, fullRow);
      } else if (coords) {
        fullRow.fill(0);
        for (let c = 0; c < w; c++) fullRow[coords[j * w + c]!] = gatedRow[c]!;
        rowOptimizer.step(items, r * d, fullRow);
      } else rowOptimizer.step(items, r * d, gatedRow);
    });
    // Every row of the table: the sum of the devices' own rows, plus the aggregators' noise.
    if (rowSum)
      kept = gate!.step(
        (r, out) => {
          let any = false;
          for (let c = 0; c < d; c++) {
            out[c] = (rowSum[r * d + c]! * step) / k;
            if (out[c] !== 0) any = true;
          }
          return any;
        },
        (o.noiseMultiplier * s.clipNorm) / cohort,
        decay,
        uniform,
        items,
        rowOptimizer,
      );
    schedule.observe(announced, rowDelta, w, noiseEnergy);
    // The next round's basis: the top directions of the summed row moments, from this basis.
    // `captured`: the share of the moments' trace that this round's basis held (diagnosis).
    let captured = NaN;
    if (basis) {
      const m = momentMatrix(mean.subarray(rowsEnd, momentsEnd), d);
      captured = capturedShare(m, basis, d, w);
      basis = topSubspace(m, d, w, basis);
    }
    const epsilon =
      o.noiseMultiplier > 0
        ? epsilonFor({ noiseMultiplier: o.noiseMultiplier, samplingRate: k / n, rounds: round, delta: s.delta }).epsilon
        : Infinity;
    const ev = round % s.evalEvery === 0 || round === s.rounds ? await o.evaluate({ config, items, dense }) : { recall20: NaN, mrr20: NaN };
    const row: RoundRow = {
      round,
      clients: k,
      rows: announced.length,
      newRows: untrainedBefore - schedule.untrained,
      targetCoverage: covered / Math.max(targets, 1),
      loss: loss / k,
      deltaNorm: norms / k,
      denseNorm: denseNorms / k,
      rowNorm: rowNorms / k,
      clipped: clipped / k,
      recall20: ev.recall20,
      mrr20: ev.mrr20,
      epsilon,
      seconds: (performance.now() - t0) / 1000,
    };
    rows.push(row);
    const elapsed = (performance.now() - started) / 1000;
    o.log(
      `[${o.name}] round ${round}/${s.rounds} ` +
        (own > 0
          ? `${own} own rows a device (${(row.targetCoverage * 100).toFixed(1)}% of targets in them) `
          : `rows ${row.rows} (${row.newRows} new, ${schedule.untrained} untrained left; ${(row.targetCoverage * 100).toFixed(1)}% of targets announced) `) +
        `loss ${row.loss.toFixed(4)} ‖Δ‖ ${row.deltaNorm.toFixed(3)} (dense ${row.denseNorm.toFixed(3)}, rows ${row.rowNorm.toFixed(3)}; clipped ${(row.clipped * 100).toFixed(0)}%)` +
        (Number.isNaN(ev.recall20) ? '' : ` sample R@20 ${ev.recall20.toFixed(4)} MRR@20 ${ev.mrr20.toFixed(4)}`) +
        ` ε ${Number.isFinite(epsilon) ? epsilon.toFixed(2) : '∞'}` +
        (Number.isNaN(captured) ? '' : ` basis held ${(captured * 100).toFixed(1)}% of the rows' moment`) +
        (own > 0 ? ` ${kept} own rows applied` : s.rowThreshold > 0 ? ` ${kept} of ${announced.length} rows applied` : '') +
        ` ${row.seconds.toFixed(1)} s/round ETA ${formatDuration((elapsed / round) * (s.rounds - round))}`,
    );
  }
  return { weights: { config, items, dense }, rows, updateBytes, downloadBytes };
}
