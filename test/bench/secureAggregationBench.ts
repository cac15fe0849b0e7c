/**
 * The cost of secure aggregation (two aggregators, additive shares: src/server/README.md), printed
 * (not asserted), in Node alone (no browser): `npm run bench -- --only secure`, and part of the
 * full `npm run bench`. For cohorts of 8, 100 and 1,000 simulated devices on the demo model
 * (`models/online-retail`: its trainable vector, as the server builds it) and the server's
 * default privacy settings for a round of that target:
 * - per device: the bytes sent (the report, the POST body) and received (the `GET /v1/model`
 *   answer with its `secureAggregation` field, and the 202 answer), against a plain int8 update
 *   of the same model (`makeUpdate`); CPU and wall time of `makeSecureReport` over every device
 *   (each one a real, distinct report: its own delta, seed, HPKE seal and report id);
 * - per round: the leader's time (decode every report, sum the leader shares, then recombine with
 *   the helper's answer), the helper's time (`HelperAggregator.aggregate` over the cohort, in
 *   memory), and the bytes of the leader → helper request and of the helper's answer;
 * - a check: the recombined sum equals the sum of every device's int8 codes exactly (else the
 *   bench exits non-zero).
 * `--secure-cohorts 8,100` runs other cohorts.
 */
import { statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Random } from '../../models/random';
import type { NamedWeights } from '../../src/federated/federatedDelta';
import { makeUpdate, MAX_UPDATE_BYTES } from '../../src/federated/makeUpdate';
import { federatedShapes, federatedSize } from '../../src/federated/modelUpdate';
import { toBase64Url } from '../../src/federated/participationChallenge';
import {
  addShare,
  decodeShare,
  leaderShare,
  recombine,
  shareBits,
  type ShareBits,
} from '../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys, reportContext, sealSeed } from '../../src/federated/secureAggregation/helperEncryption';
import { decodeSecureReport, makeSecureReport, secureStep, type SecureRoundInfo } from '../../src/federated/secureAggregation/secureReport';
import { readModelDir } from '../../src/node/modelDir';
import { trainableVector } from '../../src/server/fedAvg';
import { HelperAggregator, type AggregateRequest } from '../../src/server/secureAggregation/helperAggregator';
import { HELPER_PROTOCOL } from '../../src/server/secureAggregation/helperServer';
import { MemoryHelperStore } from '../../src/server/secureAggregation/helperStore';
import { resolveServerOptions } from '../../src/server/serverOptions';

const root = new URL('../../', import.meta.url).pathname;
const MODEL_DIR = join(root, 'models/online-retail');
/** Reports made and thrown away before timing (JIT, WebCrypto and the XOF warmed up). */
const WARMUP = 5;
/** Devices whose report is also timed step by step (HPKE seal, leader share). */
const BREAKDOWN = 20;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const median = (xs: number[]): number => pct(xs, 50);
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const kb = (n: number): string => `${n.toLocaleString('en')} B (${(n / 1024).toFixed(1)} KiB)`;
const bytesOfJson = (x: unknown): number => Buffer.byteLength(JSON.stringify(x));

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Wall and process CPU time (user + system, all threads: WebCrypto runs on libuv's pool) of `f`. */
async function timed<T>(f: () => Promise<T> | T): Promise<Timing & { value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

/** A device's weights after local training: the model's trainable tensors plus a small random step. */
function trained(before: NamedWeights, shapes: Array<[string, number[]]>, rng: Random): Map<string, Float32Array> {
  const after = new Map(before);
  for (const [name] of shapes)
    after.set(
      name,
      Float32Array.from(before.get(name)!, (x) => x + rng.normal() * 0.002),
    );
  return after;
}

/** The leader's pass over a round's reports: decode each, add its share into `leaderSum`, list the helper's parts. */
function leaderPass(reports: Uint8Array[], d: number, bits: ShareBits, leaderSum: Uint32Array): AggregateRequest['reports'] {
  const forHelper: AggregateRequest['reports'] = [];
  for (const bytes of reports) {
    const r = decodeSecureReport(bytes, d);
    addShare(leaderSum, r.leaderShare, bits);
    forHelper.push({ reportId: r.header.reportId, enc: toBase64Url(r.enc), ciphertext: toBase64Url(r.sealedSeed) });
  }
  return forHelper;
}

/** Runs the cohorts and prints their figures; false if a recombined sum was not exact. */
export async function benchSecureAggregation(cohorts: number[] = [8, 100, 1000]): Promise<boolean> {
  const started = performance.now();
  const { manifest, weights } = readModelDir(MODEL_DIR);
  const config = manifest.config;
  const before: NamedWeights = weights.dense;
  const shapes = federatedShapes(config);
  const d = federatedSize(config);
  if (trainableVector(weights.dense, config).length !== d) throw new Error('the trainable vector and the update disagree on d');
  const modelFiles = ['model.json', 'weights.bin'].reduce((n, f) => n + statSync(join(MODEL_DIR, f)).size, 0);
  const cpu = cpus();
  console.log(`\n5. Secure aggregation cost (Node only, no browser; simulated devices in one process, one at a time)`);
  console.log(
    `   Node ${process.version}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at start`,
  );
  console.log(
    `   model ${manifest.modelVersion} (models/online-retail): d = ${d.toLocaleString('en')} trainable values (${shapes.map(([n]) => n).join(', ')})`,
  );
  console.log(
    '   bytes are HTTP bodies only (no headers, TLS or participation tokens, the same on both paths); not counted either: the model files,',
  );
  console.log(
    `   ${kb(modelFiles)} model.json + weights.bin, fetched once per version on both paths. Times: wall and process CPU (user + system, every thread),`,
  );
  console.log(
    `   on this machine's cores in Node, not a shopper's browser; ${WARMUP} reports and one small aggregation first, untimed (warm-up).`,
  );
  console.log(
    "   GET /v1/model: the server's answer for the round plus secureAggregation { protocol, roundId, helperPublicKey, bits, step, minCohort };",
  );
  console.log("   the 202 answer: the plain path's { accepted, roundId, received, target } (secure reports are not routed yet).");

  const rng = new Random(2024);
  let ok = true;
  let warm = false;
  for (const [index, cohort] of cohorts.entries()) {
    const bits = shareBits(cohort);
    // The server's defaults for a round of this target: C = 0.1, σ = 1, noise σ·C/√target per device.
    const server = resolveServerOptions({ modelDir: MODEL_DIR, targetUpdates: cohort, populationEstimate: Math.max(10_000, cohort) });
    const minCohort = server.minUpdates;
    const keys = await generateHelperKeys();
    const roundId = String(41 + index);
    const round: SecureRoundInfo = { roundId, helperPublicKey: toBase64Url(keys.publicKey), bits, step: secureStep(server.clipNorm) };
    const reportOptions = (after: NamedWeights) => ({
      before,
      after,
      config,
      modelVersion: manifest.modelVersion,
      round,
      clipNorm: server.clipNorm,
      noiseStd: server.noiseStd,
    });
    if (!warm) {
      // Warm-up, not timed: a few reports through both devices' paths and both aggregators.
      const warmReports: Uint8Array[] = [];
      for (let i = 0; i < WARMUP; i++) {
        const after = trained(before, shapes, rng);
        warmReports.push((await makeSecureReport(reportOptions(after))).bytes);
        makeUpdate({ ...reportOptions(after), roundId, exampleCount: 8 });
      }
      const warmSum = new Uint32Array(d);
      const warmHelper = new HelperAggregator({
        privateKey: keys.privateKey,
        store: new MemoryHelperStore(),
        minCohort: 2,
        maxCohort: WARMUP,
      });
      const warmAnswer = await warmHelper.aggregate({ roundId, length: d, bits, reports: leaderPass(warmReports, d, bits, warmSum) });
      recombine(warmSum, decodeShare(Buffer.from(warmAnswer.sum, 'base64url'), d, bits), bits);
      warm = true;
    }

    // Devices.
    const reports: Uint8Array[] = [];
    const codeSum = new Int32Array(d);
    const secureWall: number[] = [];
    const secureCpu: number[] = [];
    const plainCpu: number[] = [];
    const plainBytes: number[] = [];
    for (let k = 0; k < cohort; k++) {
      const after = trained(before, shapes, rng);
      const secure = await timed(() => makeSecureReport(reportOptions(after)));
      reports.push(secure.value.bytes);
      secureWall.push(secure.wallMs);
      secureCpu.push(secure.cpuMs);
      secure.value.codes.forEach((v, i) => (codeSum[i]! += v));
      const plain = await timed(() => makeUpdate({ ...reportOptions(after), roundId, exampleCount: 8 }));
      plainCpu.push(plain.cpuMs);
      plainBytes.push(plain.value.length);
    }
    // The two steps a plain update lacks, timed alone on a few more reports' worth of codes.
    const sealMs: number[] = [];
    const shareMs: number[] = [];
    for (let k = 0; k < Math.min(BREAKDOWN, cohort); k++) {
      const codes = new Int8Array(d).map(() => rng.int(255) - 127);
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const context = reportContext(roundId, toBase64Url(crypto.getRandomValues(new Uint8Array(16))));
      sealMs.push((await timed(() => sealSeed(keys.publicKey, seed, context))).cpuMs);
      shareMs.push((await timed(() => leaderShare(codes, seed, context, bits))).cpuMs);
    }
    const sent = reports.map((r) => r.length);
    const modelAnswer = {
      modelVersion: manifest.modelVersion,
      modelUrl: `/v1/models/${manifest.modelVersion}/model.json`,
      round: {
        id: roundId,
        target: cohort,
        received: cohort - 1,
        deadline: new Date(Date.UTC(2026, 11, 2, 12, 0, 0)).toISOString(),
        samplingRate: cohort / server.populationEstimate,
      },
      privacy: { clipNorm: server.clipNorm, noiseStd: server.noiseStd, noiseMultiplier: server.noiseMultiplier },
      training: { lr: server.deviceLr, epochs: server.deviceEpochs },
    };
    const secureAnswer = {
      ...modelAnswer,
      secureAggregation: { protocol: HELPER_PROTOCOL, roundId, helperPublicKey: round.helperPublicKey, bits, step: round.step, minCohort },
    };
    const ack = { accepted: true, roundId, received: cohort, target: cohort };
    const received = bytesOfJson(secureAnswer) + bytesOfJson(ack);
    const receivedPlain = bytesOfJson(modelAnswer) + bytesOfJson(ack);

    // The round, `reps` times over the same reports (a fresh leader sum and helper store each
    // time): the leader decodes and sums every report and asks the helper; then recombines.
    const reps = cohort <= 100 ? 5 : 3;
    const leaderDecode: Timing[] = [];
    const helperTime: Timing[] = [];
    const combineTime: Timing[] = [];
    let requestBytes = 0;
    let answerBytes = 0;
    let exact = true;
    let why = '';
    for (let rep = 0; rep < reps; rep++) {
      const leaderSum = new Uint32Array(d);
      const decode = await timed(() => leaderPass(reports, d, bits, leaderSum));
      const requestJson = JSON.stringify({ roundId, length: d, bits, reports: decode.value } satisfies AggregateRequest);
      const helper = new HelperAggregator({ privateKey: keys.privateKey, store: new MemoryHelperStore(), minCohort, maxCohort: cohort });
      const parsed = JSON.parse(requestJson) as AggregateRequest; // what the helper's HTTP side reads
      const aggregated = await timed(() => helper.aggregate(parsed));
      const answer = aggregated.value;
      const combine = await timed(() => recombine(leaderSum, decodeShare(Buffer.from(answer.sum, 'base64url'), d, bits), bits));
      leaderDecode.push(decode);
      helperTime.push(aggregated);
      combineTime.push(combine);
      requestBytes = Buffer.byteLength(requestJson);
      answerBytes = bytesOfJson(answer);
      let mismatches = 0;
      for (let i = 0; i < d; i++) if (combine.value[i] !== codeSum[i]) mismatches++;
      if (mismatches > 0 || answer.accepted.length !== cohort || answer.rejected.length !== 0) {
        exact = false;
        why ||= `run ${rep + 1}: ${mismatches} of ${d} values differ; ${answer.accepted.length} accepted, ${answer.rejected.length} rejected`;
      }
    }
    ok &&= exact;
    const wall = (ts: Timing[]): number[] => ts.map((t) => t.wallMs);
    const cpuOf = (ts: Timing[]): number[] => ts.map((t) => t.cpuMs);
    const spread = (xs: number[]): string => `${ms(median(xs))} (${ms(Math.min(...xs))}–${ms(Math.max(...xs))})`;
    const maxAbs = codeSum.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

    const secureModel = bytesOfJson(secureAnswer);
    const field = secureModel - bytesOfJson(modelAnswer);
    const lines = [
      `\n   cohort ${cohort.toLocaleString('en')}: shares mod 2^${bits} (shareBits(${cohort})), helper minCohort ${minCohort} (the server's default minUpdates); ` +
        `C = ${server.clipNorm}, step C/127 = ${round.step.toExponential(3)}, noise std ${server.noiseStd.toFixed(4)} per device (server defaults)`,
      '     per device',
      `       sends      ${kb(median(sent))}: the report (POST body)`,
      `                  plain int8 update ${kb(median(plainBytes))}: ×${(median(sent) / median(plainBytes)).toFixed(2)}; ` +
        `largest report under the ${MAX_UPDATE_BYTES / 1024} KiB upload bar: ${Math.max(...sent) <= MAX_UPDATE_BYTES ? 'yes' : 'NO'}`,
      `       receives   ${received.toLocaleString('en')} B: GET /v1/model answer ${secureModel} B (its secureAggregation field ${field} B) + 202 answer ${bytesOfJson(ack)} B` +
        ` (the plain path: ${receivedPlain} B, ×${(received / receivedPlain).toFixed(2)})`,
      `       makeSecureReport CPU p50 ${ms(median(secureCpu))}, p95 ${ms(pct(secureCpu, 95))}; wall p50 ${ms(median(secureWall))}, p95 ${ms(pct(secureWall, 95))}` +
        ` (n = ${cohort}: every device, each a distinct report)`,
      `         the two steps a plain update lacks, timed alone (CPU p50 of ${sealMs.length}): HPKE seal of the seed ${ms(median(sealMs))}; ` +
        `leader share (SHAKE128 to ${(d * (bits / 8)).toLocaleString('en')} B, subtract) ${ms(median(shareMs))}`,
      `         plain makeUpdate CPU p50 ${ms(median(plainCpu))}, p95 ${ms(pct(plainCpu, 95))} (n = ${cohort})`,
      `     per round (median of ${reps} runs over the same reports, min–max in brackets)`,
      `       leader     decode + sum ${cohort} reports: wall ${spread(wall(leaderDecode))}, CPU ${spread(cpuOf(leaderDecode))}; ` +
        `recombine with the helper's sum: wall ${spread(wall(combineTime))}`,
      `       helper     HelperAggregator.aggregate (open ${cohort} seeds, expand, sum; memory store): wall ${spread(wall(helperTime))}, ` +
        `CPU ${spread(cpuOf(helperTime))} = ${ms(median(cpuOf(helperTime)) / cohort)} CPU per report`,
      `       messages   leader → helper request ${kb(requestBytes)}; the helper's answer ${kb(answerBytes)}`,
      `       check      recombined sum = sum of the devices' codes, in every run: ${exact ? 'exact' : `NOT EXACT (${why})`} over ` +
        `${d.toLocaleString('en')} values; largest |sum| ${maxAbs.toLocaleString('en')}, the modulus holds ±${(2 ** (bits - 1) - 1).toLocaleString('en')}`,
    ];
    for (const line of lines) console.log(line);
  }
  console.log(`\n   secure aggregation section: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return ok;
}
