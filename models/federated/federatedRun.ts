import { LocalTrainer } from '../../src/federated/localTrainer';
import { federatedDelta } from '../../src/federated/federatedDelta';
import { makeUpdate } from '../../src/federated/makeUpdate';
import { l2Norm, UPDATE_CONTENT_TYPE, exampleBucket } from '../../src/federated/modelUpdate';
import { Random } from '../random';
import { epsilonFor } from '../../src/server/privacyAccountant';
import { accumulate, applyFedAvg, fedAvgDenominator, trainableVector, withTrainable, type WeightPolicy } from '../../src/server/fedAvg';
import { validateUpdate, type ValidationContext } from '../../src/server/validateUpdate';
import { formatDuration } from '../../src/node/cliArgs';
import type { ModelWeights } from '../../src/node/modelDir';
import type { SimulationSettings } from './simulationSettings';

/** One line of the progress table. */
export interface RoundRow {
  round: number;
  clients: number;
  accepted: number;
  /** Mean loss per example of the sampled devices' first local epoch (before their training). */
  loss: number;
  /** Mean L2 norm of the devices' deltas before clipping, and the share that was clipped. */
  deltaNorm: number;
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
  start: ModelWeights;
  /** Each device's sessions (the whole population; K are sampled per round). */
  devices: Int32Array[][];
  /** Quality of a model on the per-round test sample. */
  evaluate: (w: ModelWeights) => Promise<{ recall20: number; mrr20: number }>;
  log: (m: string) => void;
}

/**
 * Runs rounds of federated training through the code the browser and the server run: each sampled
 * device trains with {@link LocalTrainer}, builds its bytes with {@link makeUpdate} (clip, its share
 * σ·C/√K of the noise, int8), the server checks them with `validateUpdate` and averages the accepted
 * ones with DP-FedAvg (`accumulate` / `applyFedAvg`, fixed denominator K). Devices run one after
 * another in this process; noise and rounding use a seeded generator so runs are reproducible.
 */
export async function runFederated(
  o: FederatedRunOptions,
): Promise<{ weights: ModelWeights; rows: RoundRow[]; updateBytes: number; rejected: Record<string, number> }> {
  const s = o.settings;
  const config = o.start.config;
  const k = s.clientsPerRound;
  const n = o.devices.length;
  if (k > n) throw new RangeError(`--clients-per-round ${k} exceeds the ${n} simulated devices`);
  const noiseStd = (o.noiseMultiplier * s.clipNorm) / Math.sqrt(k);
  // Every device holds `sessionsPerDevice` sessions, hence at least that many examples: with the
  // cap at that bucket every weight is 1, so the sensitivity of the weighted sum is exactly C and
  // the devices' noise adds up to σ·C on it (what the accountant assumes).
  const policy: WeightPolicy = { exampleCap: exampleBucket(s.sessionsPerDevice), stalenessDecay: 0.5 };
  const denominator = fedAvgDenominator(k, 1);
  const rng = new Random(s.seed * 7 + (o.noiseMultiplier > 0 ? 1 : 0));
  const uniform = (): number => rng.next();
  const trainer = new LocalTrainer(config, o.start.items);
  let dense = new Map(o.start.dense);
  const versions: string[] = ['v0'];
  const nonces = new Set<string>();
  const rejected: Record<string, number> = {};
  const rows: RoundRow[] = [];
  let updateBytes = 0;
  const started = performance.now();
  for (let round = 1; round <= s.rounds; round++) {
    const t0 = performance.now();
    const picked = new Set<number>();
    while (picked.size < k) picked.add(rng.int(n));
    const ctx: ValidationContext = {
      config,
      clipNorm: s.clipNorm,
      noiseStd,
      versionIndex: (v) => {
        const i = versions.indexOf(v);
        return i < 0 ? undefined : i;
      },
      currentIndex: versions.length - 1,
      maxStaleness: 0,
      openRound: round,
      hasNonce: (x) => nonces.has(x),
      weightPolicy: policy,
    };
    const sum = new Float64Array(trainableVector(dense, config).length);
    let loss = 0;
    let norms = 0;
    let clipped = 0;
    let accepted = 0;
    for (const d of picked) {
      const r = await trainer.train(dense, o.devices[d]!, { epochs: s.localEpochs, lr: s.localLr });
      const norm = l2Norm(federatedDelta(dense, r.weights, config));
      norms += norm;
      if (norm > s.clipNorm) clipped++;
      loss += r.firstEpochLoss;
      const bytes = makeUpdate({
        before: dense,
        after: r.weights,
        config,
        modelVersion: versions[versions.length - 1]!,
        roundId: String(round),
        exampleCount: r.examples,
        clipNorm: s.clipNorm,
        noiseStd,
        rng: uniform,
      });
      updateBytes = Math.max(updateBytes, bytes.length);
      const v = validateUpdate(bytes, UPDATE_CONTENT_TYPE, ctx);
      if (!v.ok) {
        rejected[v.reason] = (rejected[v.reason] ?? 0) + 1;
        continue;
      }
      nonces.add(v.update.header.nonce);
      accumulate(sum, v.update.delta, v.weight);
      accepted++;
    }
    dense = withTrainable(dense, applyFedAvg(trainableVector(dense, config), sum, s.serverLr, denominator), config);
    versions.push(`v${round}`);
    const epsilon =
      o.noiseMultiplier > 0
        ? epsilonFor({ noiseMultiplier: o.noiseMultiplier, samplingRate: k / n, rounds: round, delta: s.delta }).epsilon
        : Infinity;
    const ev = await o.evaluate({ config, items: o.start.items, dense });
    const row: RoundRow = {
      round,
      clients: k,
      accepted,
      loss: loss / k,
      deltaNorm: norms / k,
      clipped: clipped / k,
      recall20: ev.recall20,
      mrr20: ev.mrr20,
      epsilon,
      seconds: (performance.now() - t0) / 1000,
    };
    rows.push(row);
    const elapsed = (performance.now() - started) / 1000;
    o.log(
      `[${o.name}] round ${round}/${s.rounds} clients ${accepted}/${k} loss ${row.loss.toFixed(4)} ‖Δ‖ ${row.deltaNorm.toFixed(3)} (clipped ${(row.clipped * 100).toFixed(0)}%)` +
        ` sample R@20 ${ev.recall20.toFixed(4)} MRR@20 ${ev.mrr20.toFixed(4)} ε ${Number.isFinite(epsilon) ? epsilon.toFixed(2) : '∞'}` +
        ` ${row.seconds.toFixed(1)} s/round ETA ${formatDuration((elapsed / round) * (s.rounds - round))}`,
    );
  }
  trainer.dispose();
  return { weights: { config, items: o.start.items, dense }, rows, updateBytes, rejected };
}
