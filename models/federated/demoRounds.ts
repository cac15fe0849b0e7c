/**
 * `npm run demo-rounds -- [--rounds 20] [--json] [overrides…]`: runs the demo shop's own federated
 * settings (`DEMO_FEDERATED_SETTINGS`, on top of the server's defaults) through the real
 * aggregation server and measures whether honest devices improve the demo model.
 *
 * 1. `models/online-retail/data/test_sessions.txt` (the last 30 days of the shop, in time order:
 *    `prepare-data` sorts baskets by time and splits at 30 days before the last; the model was
 *    trained on the sessions before them) is cut by time: the earliest `--device-share` (default
 *    50 %) is dealt, in order, to simulated devices of 3-6 sessions (a returning shopper's
 *    history); the next `--validation-share` (default 25 %) are validation sessions (settings
 *    are chosen on them, `--eval validation`); the newest rest are the test sessions (the
 *    default). No device trains on a session that is evaluated.
 * 2. `createAggregationServer({ ...DEMO_FEDERATED_SETTINGS, modelDir, dataDir: <fresh temp dir>,
 *    rateLimit: null })` listens on 127.0.0.1, port 0. Deviations from the demo, all printed:
 *    the rate limit, and the per-address participation-token allowance raised to the round's
 *    target (every simulated device posts from 127.0.0.1; in the demo each visitor has its own
 *    address); the privacy budget `maxEpsilon` lifted when `--rounds` full rounds would spend it
 *    (the line says after which round the demo's own budget would stop publishing); whatever the
 *    command line overrides.
 * 3. Every round, `target` devices are drawn (seeded, without replacement within the round; this
 *    stands for the devices whose own draw at the announced rate came out) and each does what the
 *    browser's round client does: `GET /v1/model` (round, privacy and training settings, read
 *    with `trainingSettings()`), downloads the version it names over HTTP (`fetchModelFiles`,
 *    cached per version as the browser caches the immutable files), obtains the round's
 *    participation token (`obtainToken`), trains with `LocalTrainer` (plain SGD, as the browser)
 *    on its own sessions, builds the bytes with `makeUpdate` (clip, its share of the noise, int8;
 *    noise from a seeded generator so runs repeat) and `POST`s them to `/v1/updates`. The server
 *    closes the round by its own rule. The new published version is downloaded and evaluated
 *    (Recall@20 / MRR@20 over every next-item position of the evaluation sessions,
 *    `models/eval/evaluate`).
 * 4. Start vs end, with a paired bootstrap over evaluation sessions; a central reference (the
 *    same trainable tensors fine-tuned on the pooled sessions of the devices that took part, full
 *    softmax, Adam, no clipping, no noise); the per-round noise norm against the weights' norm.
 *
 * Progress on stderr; the table on stdout (with `--json`, the last stdout line is one JSON
 * object). Exit codes: 0 the end is better than the start (Recall@20, the 95 % bootstrap
 * interval of the difference above 0), 1 it is not (or a
 * failure), 2 bad arguments or settings the server refuses to start with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEMO_FEDERATED_SETTINGS } from '../../demo/federatedSettings';
import { federatedDelta } from '../../src/federated/federatedDelta';
import { LocalTrainer } from '../../src/federated/localTrainer';
import { makeUpdate } from '../../src/federated/makeUpdate';
import { fromRowRanges } from '../../src/federated/announcedRows';
import { gatherRows } from '../../src/model/tfjs/sessionLoss';
import { FEDERATED_TENSORS, federatedSize, l2Norm, UPDATE_CONTENT_TYPE } from '../../src/federated/modelUpdate';
import { obtainToken } from '../../src/federated/participationToken';
import { fetchServerModel, trainingSettings, type ServerModelInfo } from '../../src/federated/contribution/serverModel';
import { fetchModelFiles, type ModelFiles } from '../../src/model/plain/modelFiles';
import { Random } from '../random';
import { formatDuration, numberArg, parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import { readModelDir, writeModelDir } from '../../src/node/modelDir';
import { createAggregationServer } from '../../src/server/aggregationServer';
import { trainableVector } from '../../src/server/fedAvg';
import { epsilonFor } from '../../src/server/privacyAccountant';
import type { NoiseCheck } from '../../src/server/noiseCheck';
import { roundNoiseMultiplier } from '../../src/server/privacyLedger';
import { resolveServerOptions, type AggregationServerOptions } from '../../src/server/serverOptions';
import { readSplit } from '../data/readSplit';
import { evalSet, pairedDifference, quality } from '../eval/pairedEvaluation';
import { useWasmBackend } from '../nodeBackend';

/**
 * What the browser's SDK trains with when a server announces no (or unusable) training settings
 * (`src/sdk/createEdgePersonalize.ts`); never used against this server, which announces them.
 */
const SDK_FALLBACK_TRAINING = { lr: 0.02, epochs: 1 };

const USAGE = `usage: npm run demo-rounds -- [options]
  --rounds N              rounds to run (default 20)
  --json                  also print one JSON object as the last stdout line
  --target K              override targetUpdates of the demo settings
  --min-updates M         override minUpdates
  --noise-multiplier S    override noiseMultiplier (σ)
  --clip C                override clipNorm
  --device-lr L           override deviceLr (devices accept (0, 1])
  --device-epochs E       override deviceEpochs (1-5)
  --server-lr S           override serverLr
  --row-server-lr R       override rowServerLr (the item rows' server learning rate; default serverLr)
  --population N          override populationEstimate (with --target and no --population: the
                          server's default, since the demo's is its own target)
  --max-noise-ratio R     override maxNoiseRatio (the server's start-up check; for exploring settings it refuses)
  --device-share F        earlier share of test_sessions.txt dealt to devices (default 0.5)
  --validation-share F    the next share: the validation sessions settings are chosen on (default 0.25)
  --eval PART             test (the sessions after both, default), validation, or all (both)
  --min-sessions A        sessions per device, at least (default 3)
  --max-sessions B        sessions per device, at most (default 6)
  --device-optimizer O    sgd (default: what the browser's round client does) or adam (a what-if:
                          LocalTrainer's Adam, which the browser does NOT use today; printed as a deviation)
  --device-train LIST     comma-separated federated tensors devices change, or none (rows only) (a what-if; default all:
                          gru/Uz,gru/Ur,gru/Uh,gru/bz,gru/br,gru/bh,out/last,out/item)
  --central-epochs N      epochs of the central reference (default 2; 0 = skip it)
  --central-lr L          Adam learning rate of the central reference (default 0.001)
  --bootstrap N           paired bootstrap resamples (default 2000)
  --seed N                seed of the device deal, the draws and the devices' noise (default 1)
  --model DIR             base model (default models/online-retail)
  --data DIR              split directory (default models/online-retail/data)
  --keep-data             keep the server's temporary data directory`;

const log = (m: string): void => void process.stderr.write(m + '\n');

interface RoundRow {
  round: number;
  version: string;
  updates: number;
  rejected: number;
  /** Cumulative ε reported by `/v1/status`, with sampling amplification and without (null = unbounded). */
  epsilon: number | null;
  epsilonNoSampling: number | null;
  recall20: number;
  mrr20: number;
  /** Devices' mean delta norm before clipping and the share of them that was clipped. */
  deltaNorm: number;
  clipped: number;
  /** Mean local loss of the devices' first epoch. */
  loss: number;
  /** L2 norm of the change of the published trainable weights in this round. */
  step: number;
  seconds: number;
}

/** Deals sessions, in order, to devices of `min`-`max` sessions (sizes drawn from `rng`). */
function dealDevices(sessions: Int32Array[], min: number, max: number, rng: Random): Int32Array[][] {
  const devices: Int32Array[][] = [];
  let i = 0;
  while (i < sessions.length) {
    const size = min + rng.int(max - min + 1);
    if (sessions.length - i < min) break;
    devices.push(sessions.slice(i, i + size));
    i += size;
  }
  return devices;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

interface StatusDoc {
  modelVersion: string;
  roundsClosed: number;
  rows: { perRound: number };
  privacy: {
    /** The server's start-up noise check, over the dense tensors and a round's announced rows. */
    noiseCheck: NoiseCheck;
    cumulative: { epsilon: number | null } | null;
    cumulativeWithoutSampling: { epsilon: number | null } | null;
    rounds: Array<{ round: number; updates: number; noiseMultiplier: number; epsilon: number | null }>;
  };
}

const fmtEps = (e: number | null): string => (e === null || !Number.isFinite(e) ? '∞' : e < 100 ? e.toFixed(2) : e.toExponential(2));
const pct = (x: number, digits = 2): string => (100 * x).toFixed(digits);
const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${pct(x)}`;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const args = parseArgs(
    argv,
    [
      'rounds',
      'target',
      'min-updates',
      'noise-multiplier',
      'clip',
      'device-lr',
      'device-epochs',
      'server-lr',
      'population',
      'max-noise-ratio',
      'device-share',
      'validation-share',
      'eval',
      'device-optimizer',
      'device-train',
      'min-sessions',
      'max-sessions',
      'central-epochs',
      'central-lr',
      'bootstrap',
      'seed',
      'row-server-lr',
      'model',
      'data',
    ],
    ['json', 'keep-data'],
  );
  const rounds = numberArg(args, 'rounds', 20, 1, 10_000);
  const deviceShare = numberArg(args, 'device-share', 0.5, 0.05, 0.95);
  const validationShare = numberArg(args, 'validation-share', 0.25, 0, 0.9);
  if (deviceShare + validationShare >= 1) throw new UsageError('--device-share + --validation-share must leave sessions to test on');
  const evalPart = args.get('eval') ?? 'test';
  if (!['test', 'validation', 'all'].includes(evalPart)) throw new UsageError(`--eval must be test, validation or all, got "${evalPart}"`);
  const minSessions = numberArg(args, 'min-sessions', 3, 1, 1000);
  const maxSessions = numberArg(args, 'max-sessions', 6, minSessions, 1000);
  const centralEpochs = numberArg(args, 'central-epochs', 2, 0, 50);
  const centralLr = numberArg(args, 'central-lr', 0.001, 1e-6, 1);
  const resamples = numberArg(args, 'bootstrap', 2000, 100, 1e6);
  const seed = numberArg(args, 'seed', 1, 0, 2 ** 31);
  const modelDir = resolve(args.get('model') ?? 'models/online-retail');
  const dataDir = resolve(args.get('data') ?? join(modelDir, 'data'));
  if (!Number.isInteger(rounds) || !Number.isInteger(minSessions) || !Number.isInteger(maxSessions))
    throw new UsageError('--rounds, --min-sessions and --max-sessions must be integers');

  // The demo's settings, the command line's overrides, and the one forced deviation.
  const overrides: Partial<AggregationServerOptions> = {};
  const override = (flag: string, key: keyof AggregationServerOptions, min: number, max: number): void => {
    if (args.has(flag)) (overrides as Record<string, number>)[key] = numberArg(args, flag, 0, min, max);
  };
  override('target', 'targetUpdates', 1, 1e6);
  override('min-updates', 'minUpdates', 1, 1e6);
  override('noise-multiplier', 'noiseMultiplier', 0, 1000);
  override('clip', 'clipNorm', 1e-9, 1e6);
  override('device-lr', 'deviceLr', 1e-9, 1);
  override('device-epochs', 'deviceEpochs', 1, 5);
  override('server-lr', 'serverLr', 1e-9, 1000);
  override('row-server-lr', 'rowServerLr', 1e-9, 1e6);
  override('max-noise-ratio', 'maxNoiseRatio', 1e-9, Infinity);
  override('population', 'populationEstimate', 1, 1e12);
  // With a larger target and no explicit minimum, keep the demo's rule relation (the server's default ⌈K/2⌉).
  if (overrides.targetUpdates !== undefined && overrides.minUpdates === undefined) {
    overrides.minUpdates = Math.min(overrides.targetUpdates, Math.max(2, Math.ceil(overrides.targetUpdates / 2)));
  }
  if (
    overrides.targetUpdates !== undefined &&
    overrides.populationEstimate === undefined &&
    'populationEstimate' in DEMO_FEDERATED_SETTINGS
  ) {
    const { populationEstimate: _demo, ...rest } = DEMO_FEDERATED_SETTINGS as Partial<AggregationServerOptions>;
    overrides.populationEstimate = resolveServerOptions({ ...rest, modelDir, targetUpdates: overrides.targetUpdates }).populationEstimate;
  }
  const settings: AggregationServerOptions = { ...DEMO_FEDERATED_SETTINGS, ...overrides, modelDir };
  const deviceOptimizer = args.get('device-optimizer') ?? 'sgd';
  if (deviceOptimizer !== 'sgd' && deviceOptimizer !== 'adam')
    throw new UsageError(`--device-optimizer must be sgd or adam, got "${deviceOptimizer}"`);
  const deviations = ['rateLimit: null (every simulated device posts from 127.0.0.1; the demo limits per visitor address)'];
  for (const [k, v] of Object.entries(overrides))
    deviations.push(
      `${k}: ${v} (command line; demo: ${String((DEMO_FEDERATED_SETTINGS as Record<string, unknown>)[k] ?? 'server default')})`,
    );
  if (deviceOptimizer !== 'sgd')
    deviations.push(`devices train with ${deviceOptimizer} (WHAT-IF: the browser's round client trains with plain SGD)`);
  const deviceTrain = args
    .get('device-train')
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t && t !== 'none');
  const unknownTensor = deviceTrain?.find((t) => !(FEDERATED_TENSORS as readonly string[]).includes(t));
  if (unknownTensor) throw new UsageError(`--device-train: ${unknownTensor} is not one of ${FEDERATED_TENSORS.join(', ')}`);
  if (deviceTrain)
    deviations.push(
      `devices change only ${deviceTrain.join(', ') || 'the announced rows'} (WHAT-IF: the browser trains every federated tensor)`,
    );
  // The privacy budget: if `rounds` full rounds would spend it, the server would stop publishing
  // before the end, so the run lifts it and says after which round the demo would have stopped.
  const asked = resolveServerOptions(settings);
  const fullRound = roundNoiseMultiplier(
    Array.from({ length: asked.targetUpdates }, () => 1),
    asked.noiseMultiplier,
    asked.targetUpdates,
  );
  const epsilonAfter = (t: number): number =>
    epsilonFor({ noiseMultiplier: fullRound, samplingRate: asked.targetUpdates / asked.populationEstimate, rounds: t, delta: asked.delta })
      .epsilon;
  if (Number.isFinite(asked.maxEpsilon) && epsilonAfter(rounds) > asked.maxEpsilon) {
    let last = 0;
    while (last < rounds && epsilonAfter(last + 1) <= asked.maxEpsilon) last++;
    settings.maxEpsilon = Infinity;
    deviations.push(
      `maxEpsilon: Infinity (demo: ${asked.maxEpsilon}; its budget would stop publishing after ${last} full round${last === 1 ? '' : 's'}, ε ${fmtEps(epsilonAfter(rounds))} after ${rounds})`,
    );
  }
  // Participation tokens are issued per client address and round; every simulated device has
  // the address 127.0.0.1, so that one address may take a round's whole target.
  if (asked.participationTokens && asked.participationTokens.tokensPerAddressPerRound < asked.targetUpdates) {
    settings.participationTokens = { ...asked.participationTokens, tokensPerAddressPerRound: asked.targetUpdates };
    deviations.push(
      `participationTokens.tokensPerAddressPerRound: ${asked.targetUpdates} (demo: ${asked.participationTokens.tokensPerAddressPerRound}; every simulated device has the address 127.0.0.1, each still obtains and redeems its own token)`,
    );
  }
  const resolved = resolveServerOptions(settings);

  const backend = await useWasmBackend();
  const t0 = performance.now();

  // Data: the model's vocabulary; the test period in time order, split by time.
  const base = readModelDir(modelDir);
  const d = federatedSize(base.manifest.config);
  const split = readSplit(dataDir);
  const modelIndex = new Map(base.vocab.map((v, i) => [v, i]));
  const toModel = Int32Array.from(split.vocab, (v) => modelIndex.get(v) ?? -1);
  const test = split.test.map((s) => Int32Array.from(s, (i) => toModel[i]!).filter((i) => i >= 0)).filter((s) => s.length >= 2);
  const cut = Math.round(test.length * deviceShare);
  const cut2 = cut + Math.round(test.length * validationShare);
  const rng = new Random(seed);
  const devices = dealDevices(test.slice(0, cut), minSessions, maxSessions, rng);
  const evalRange = evalPart === 'validation' ? [cut, cut2] : evalPart === 'test' ? [cut2, test.length] : [cut, test.length];
  const evaluation = evalSet(test.slice(evalRange[0], evalRange[1]));
  if (evaluation.sessions.length === 0) throw new UsageError(`no ${evalPart} sessions with these shares`);
  const evalLabel = `${evalPart} sessions ${evalRange[0]! + 1}-${evalRange[1]} of ${test.length}`;
  const target = resolved.targetUpdates;
  if (target > devices.length) throw new UsageError(`--target ${target} exceeds the ${devices.length} simulated devices`);

  log(
    `demo-rounds: backend ${backend}; ${test.length} test sessions in time order: sessions 1-${cut} dealt to ${devices.length} devices of ${minSessions}-${maxSessions} sessions; evaluated: ${evalLabel} (${evaluation.cases.length} cases)`,
  );
  log(
    `settings: target ${resolved.targetUpdates}, min ${resolved.minUpdates}, clip ${resolved.clipNorm}, σ ${resolved.noiseMultiplier} (device noise std ${resolved.noiseStd.toPrecision(3)}), deviceLr ${resolved.deviceLr}, deviceEpochs ${resolved.deviceEpochs}, serverLr ${resolved.serverLr}, population estimate ${resolved.populationEstimate}`,
  );
  log(`deviations from DEMO_FEDERATED_SETTINGS: ${deviations.join('; ')}`);

  const serverDir = mkdtempSync(join(tmpdir(), 'demo-rounds-'));
  let server: ReturnType<typeof createAggregationServer>;
  try {
    server = createAggregationServer({ ...settings, dataDir: serverDir, rateLimit: null, log: (line) => log(`server: ${line}`) });
  } catch (err) {
    rmSync(serverDir, { recursive: true, force: true });
    // Settings the server refuses (e.g. its noise check) are a bad command line here: exit code 2.
    if (err instanceof Error && err.name === 'ServerConfigError') throw new UsageError(`the server refuses these settings: ${err.message}`);
    throw err;
  }
  let exitCode = 0;
  try {
    const { port } = await server.listen(0, '127.0.0.1');
    const endpoint = `http://127.0.0.1:${port}`;
    // The noise a full round puts on the model, as the server's own start-up check computes it:
    // over the dense tensors and the rows a round announces, each part at its learning rate.
    const startStatus = await getJson<StatusDoc>(`${endpoint}/v1/status`);
    const { roundNoiseNorm: noiseNorm, weightsNorm: trainableNorm } = startStatus.privacy.noiseCheck;
    const rowsPerRound = startStatus.rows.perRound;
    const trainedValues = d + rowsPerRound * base.manifest.config.embedDim;
    log(
      `noise per round on the model (the server's start-up check): ${noiseNorm.toPrecision(3)} over ${trainedValues} values (${d} dense + ${rowsPerRound} rows × ${base.manifest.config.embedDim}); their norm ${trainableNorm.toFixed(2)}; largest possible signal per round serverLr·C = ${(resolved.serverLr * resolved.clipNorm).toPrecision(3)}`,
    );

    // Published versions are immutable: a device downloads each once (the browser's HTTP cache).
    const downloaded = new Map<string, ModelFiles>();
    const load = async (info: ServerModelInfo): Promise<ModelFiles> => {
      let f = downloaded.get(info.modelVersion);
      if (!f) {
        f = await fetchModelFiles(info.modelUrl);
        if (f.manifest.modelVersion !== info.modelVersion)
          throw new Error(`${info.modelUrl} holds ${f.manifest.modelVersion}, not ${info.modelVersion}`);
        downloaded.set(info.modelVersion, f);
      }
      return f;
    };

    // The server runs in this process, whose event loop the evaluations block for seconds: its
    // keep-alive timer then closes a pooled socket just as the next request goes out on it
    // (ECONNRESET). A GET is idempotent: asked again once, as a browser does on a reused socket.
    const serverModel = async (): Promise<ServerModelInfo> => {
      try {
        return await fetchServerModel(endpoint);
      } catch {
        return fetchServerModel(endpoint);
      }
    };
    const first = await serverModel();
    const startFiles = await load(first);
    log(
      `start: ${first.modelVersion} (round ${first.round.id}; announced privacy ${JSON.stringify(first.privacy)}, training ${JSON.stringify(first.training ?? null)})`,
    );
    const start = await quality(startFiles, evaluation);
    log(`start: Recall@20 ${pct(start.recall20)} MRR@20 ${pct(start.mrr20)} on ${start.cases} cases (${start.seconds.toFixed(1)} s)`);

    const rows: RoundRow[] = [];
    const participated = new Set<number>();
    const noiseRng = new Random(seed * 7919 + 17);
    const uniform = (): number => noiseRng.next();
    let prevVector = trainableVector(startFiles.dense, startFiles.manifest.config);
    let latest = start;
    let latestFiles = startFiles;
    const runStarted = performance.now();
    for (let r = 1; r <= rounds; r++) {
      const rt = performance.now();
      const open = await serverModel();
      const roundId = open.round.id;
      const order = rng.shuffle(Array.from({ length: devices.length }, (_, i) => i));
      let next = 0;
      let updates = 0;
      let rejected = 0;
      let norms = 0;
      let clipped = 0;
      let losses = 0;
      let trained = 0;
      // Devices keep coming until the server closes the round (a refused update does not count).
      for (;;) {
        if (next >= order.length)
          throw new Error(
            `round ${roundId}: every device took part and the round is still open (${updates} accepted, ${rejected} refused)`,
          );
        const device = order[next++]!;
        const info = await serverModel();
        if (info.round.id !== roundId) break;
        const files = await load(info);
        // As the round client does: the round's participation token first, then training.
        let authorization: string | null = null;
        if (info.participation) {
          const p = info.participation;
          authorization = await obtainToken(endpoint, {
            issuerName: p.issuerName,
            publicKey: p.publicKey,
            tokenKeyId: p.tokenKeyId,
            roundId: info.round.id,
          });
        }
        const training = trainingSettings(info, SDK_FALLBACK_TRAINING);
        // The item rows the round announces, trained and uploaded by every device (as the browser does).
        const config = files.manifest.config;
        const rows = fromRowRanges(info.round.rows ?? [], config.numItems, config.numItems);
        if (typeof rows === 'string') throw new Error(`the server announced rows a device cannot train: ${rows}`);
        const trainer = new LocalTrainer(config, files.items, { rows });
        let result;
        try {
          result = await trainer.train(files.dense, devices[device]!, {
            epochs: training.epochs,
            lr: training.lr,
            optimizer: deviceOptimizer,
            ...(deviceTrain ? { trainTensors: deviceTrain } : {}),
          });
        } finally {
          trainer.dispose();
        }
        const norm = l2Norm(federatedDelta(files.dense, result.weights, files.manifest.config));
        const body = makeUpdate({
          before: files.dense,
          after: result.weights,
          config: files.manifest.config,
          ...(rows.length > 0 ? { rows: { start: gatherRows(rows, files.items, config.embedDim), trained: result.rows! } } : {}),
          modelVersion: info.modelVersion,
          roundId: info.round.id,
          exampleCount: result.examples,
          clipNorm: info.privacy.clipNorm,
          noiseStd: info.privacy.noiseStd,
          rng: uniform,
        });
        const res = await fetch(`${endpoint}/v1/updates`, {
          method: 'POST',
          headers: { 'Content-Type': UPDATE_CONTENT_TYPE, ...(authorization ? { Authorization: authorization } : {}) },
          body: body as Uint8Array<ArrayBuffer>,
        });
        const answer = (await res.json()) as {
          accepted: boolean;
          reason?: string;
          message?: string;
          roundId?: string;
          received?: number;
          target?: number;
        };
        trained++;
        norms += norm;
        if (norm > info.privacy.clipNorm) clipped++;
        losses += result.firstEpochLoss;
        if (res.status === 202 && answer.accepted) {
          updates++;
          participated.add(device);
          if (answer.received !== undefined && answer.target !== undefined && answer.received >= answer.target) break;
        } else {
          rejected++;
          log(`round ${roundId}: update refused (${res.status} ${answer.reason}: ${answer.message})`);
        }
      }
      // The round closed by the server's own rule; wait until the new version is current.
      let info = await serverModel();
      for (let tries = 0; info.round.id === roundId && tries < 100; tries++) {
        await new Promise((ok) => setTimeout(ok, 50));
        info = await serverModel();
      }
      if (info.round.id === roundId) throw new Error(`round ${roundId} did not close`);
      const status = await getJson<StatusDoc>(`${endpoint}/v1/status`);
      const files = await load(info);
      const q = await quality(files, evaluation);
      const vector = trainableVector(files.dense, files.manifest.config);
      const diff = new Float32Array(vector.length);
      for (let i = 0; i < vector.length; i++) diff[i] = vector[i]! - prevVector[i]!;
      prevVector = vector;
      const closedRound = status.privacy.rounds.find((x) => String(x.round) === roundId);
      const row: RoundRow = {
        round: r,
        version: info.modelVersion,
        updates: closedRound?.updates ?? updates,
        rejected,
        epsilon: status.privacy.cumulative?.epsilon ?? null,
        epsilonNoSampling: status.privacy.cumulativeWithoutSampling?.epsilon ?? null,
        recall20: q.recall20,
        mrr20: q.mrr20,
        deltaNorm: norms / Math.max(trained, 1),
        clipped: clipped / Math.max(trained, 1),
        loss: losses / Math.max(trained, 1),
        step: l2Norm(diff),
        seconds: (performance.now() - rt) / 1000,
      };
      rows.push(row);
      latest = q;
      latestFiles = files;
      const elapsed = (performance.now() - runStarted) / 1000;
      log(
        `round ${r}/${rounds} (server round ${roundId} → ${info.modelVersion}): ${row.updates} updates${rejected ? `, ${rejected} refused` : ''}, ‖Δ‖ ${row.deltaNorm.toPrecision(3)} (clipped ${pct(row.clipped, 0)}%), loss ${row.loss.toFixed(3)}, model moved ${row.step.toPrecision(3)}; ` +
          `ε ${fmtEps(row.epsilon)} (${fmtEps(row.epsilonNoSampling)} without sampling); Recall@20 ${pct(q.recall20)} MRR@20 ${pct(q.mrr20)}; ${row.seconds.toFixed(1)} s, ETA ${formatDuration((elapsed / r) * (rounds - r))}`,
      );
    }

    const endVector = trainableVector(latestFiles.dense, latestFiles.manifest.config);
    const startVector = trainableVector(startFiles.dense, startFiles.manifest.config);
    const moved = new Float32Array(endVector.length);
    for (let i = 0; i < moved.length; i++) moved[i] = endVector[i]! - startVector[i]!;
    const totalMove = l2Norm(moved);
    const recallDiff = pairedDifference(start, latest, 'recall', resamples, seed + 101);
    const mrrDiff = pairedDifference(start, latest, 'rr', resamples, seed + 202);

    // Central reference: the same tensors, the pooled sessions of the devices that took part.
    const central: Array<{ epoch: number; recall20: number; mrr20: number; loss: number }> = [];
    let centralSessions = 0;
    if (centralEpochs > 0) {
      const pooled = new Random(seed + 303).shuffle([...participated].flatMap((i) => devices[i]!));
      centralSessions = pooled.length;
      log(
        `central reference: ${pooled.length} sessions of the ${participated.size} devices that took part, Adam lr ${centralLr}, batches of 32 windows, full softmax, no clipping, no noise; int8 like a published version`,
      );
      const trainer = new LocalTrainer(startFiles.manifest.config, startFiles.items);
      const quantDir = mkdtempSync(join(tmpdir(), 'demo-rounds-central-'));
      try {
        // Each evaluated model is a plain e-epoch fine-tune from the start (one train() call, one
        // Adam state), so the e-th model is trained afresh rather than continued.
        for (let e = 1; e <= centralEpochs; e++) {
          const out = await trainer.train(startFiles.dense, pooled, { epochs: e, lr: centralLr, optimizer: 'adam' });
          const dense = new Map(startFiles.dense);
          for (const [name, w] of out.weights) dense.set(name, w);
          const dir = join(quantDir, `e${e}`);
          writeModelDir(dir, { config: startFiles.manifest.config, items: startFiles.items, dense }, startFiles.vocab, {
            int8: true,
            modelVersion: `central-e${e}`,
          });
          const q8 = readModelDir(dir);
          const q = await quality({ manifest: q8.manifest, items: q8.weights.items, dense: q8.weights.dense, vocab: q8.vocab }, evaluation);
          central.push({ epoch: e, recall20: q.recall20, mrr20: q.mrr20, loss: out.lastEpochLoss });
          log(
            `central reference, ${e} epoch(s): loss ${out.firstEpochLoss.toFixed(3)} → ${out.lastEpochLoss.toFixed(3)}; Recall@20 ${pct(q.recall20)} MRR@20 ${pct(q.mrr20)}`,
          );
        }
      } finally {
        trainer.dispose();
        rmSync(quantDir, { recursive: true, force: true });
      }
    }

    // The report.
    const head = ['round', 'updates', 'ε', 'ε (no sampling)', 'Recall@20', 'MRR@20', '‖Δ‖ device', 'clipped', 'model moved'];
    const body = [
      ['start', '', '', '', pct(start.recall20), pct(start.mrr20), '', '', ''],
      ...rows.map((x) => [
        String(x.round),
        String(x.updates),
        fmtEps(x.epsilon),
        fmtEps(x.epsilonNoSampling),
        pct(x.recall20),
        pct(x.mrr20),
        x.deltaNorm.toPrecision(3),
        `${pct(x.clipped, 0)}%`,
        x.step.toPrecision(3),
      ]),
    ];
    const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
    const line = (cells: string[]): string => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
    const end = rows[rows.length - 1]!;
    // Better means better beyond the metric's noise: the 95 % interval of the paired bootstrap
    // lies above 0 (a +0.02-point end within [−0.14, +0.18] is not an improvement).
    const better = recallDiff.low > 0;
    const lastK = Math.min(5, rows.length);
    const lastRecall = rows.slice(-lastK).reduce((x, r) => x + r.recall20, 0) / lastK;
    const lastMrr = rows.slice(-lastK).reduce((x, r) => x + r.mrr20, 0) / lastK;
    const out: string[] = [
      `demo-rounds: ${rounds} rounds through the aggregation server with DEMO_FEDERATED_SETTINGS (demo/federatedSettings.ts)`,
      `settings: targetUpdates ${resolved.targetUpdates}, minUpdates ${resolved.minUpdates}, clipNorm ${resolved.clipNorm}, noiseMultiplier ${resolved.noiseMultiplier}, deviceLr ${resolved.deviceLr}, deviceEpochs ${resolved.deviceEpochs}, serverLr ${resolved.serverLr}, populationEstimate ${resolved.populationEstimate}, delta ${resolved.delta}`,
      `deviations from the demo: ${deviations.join('; ')}`,
      `data: ${test.length} sessions of test_sessions.txt (time order): 1-${cut} → ${devices.length} devices (${participated.size} took part); evaluated: ${evalLabel}, ${start.cases} cases`,
      '',
      line(head),
      ...body.map(line),
      '',
      `start ${first.modelVersion}: Recall@20 ${pct(start.recall20)} MRR@20 ${pct(start.mrr20)}`,
      `end   ${end.version}: Recall@20 ${pct(latest.recall20)} MRR@20 ${pct(latest.mrr20)}`,
      `end − start: Recall@20 ${signedPct(recallDiff.diff)} points (95% paired bootstrap over ${evaluation.sessions.length} sessions [${signedPct(recallDiff.low)}, ${signedPct(recallDiff.high)}], SE ${pct(recallDiff.se)}; not better in ${pct(recallDiff.pNotBetter, 1)}% of ${resamples} resamples)`,
      `             MRR@20 ${signedPct(mrrDiff.diff)} points ([${signedPct(mrrDiff.low)}, ${signedPct(mrrDiff.high)}], SE ${pct(mrrDiff.se)})`,
      `mean of the last ${lastK} rounds (robust to round-to-round swings): Recall@20 ${pct(lastRecall)} MRR@20 ${pct(lastMrr)}; lowest round Recall@20 ${pct(Math.min(...rows.map((x) => x.recall20)))}`,
      `ε after ${rounds} rounds (δ ${resolved.delta}): ${fmtEps(end.epsilon)} with sampling amplification at q = ${resolved.targetUpdates}/${resolved.populationEstimate}, ${fmtEps(end.epsilonNoSampling)} without (what holds for a device that ignores its sampling draw)`,
      `noise per round on the model (the server's start-up check, ${trainedValues} values: dense + ${rowsPerRound} rows) ${noiseNorm.toPrecision(3)} vs their norm ${trainableNorm.toFixed(2)} (${pct(noiseNorm / trainableNorm, 1)}%); the published dense trainable weights moved ${totalMove.toPrecision(3)} in total`,
      central.length > 0
        ? `central reference (${centralSessions} pooled device sessions, Adam lr ${centralLr}, no clip, no noise): ${central.map((c) => `${c.epoch} epoch(s) Recall@20 ${pct(c.recall20)} MRR@20 ${pct(c.mrr20)}`).join('; ')}`
        : 'central reference: skipped (--central-epochs 0)',
      better
        ? 'result: the end is better than the start (Recall@20, 95 % interval above 0)'
        : `result: the end is NOT better than the start (Recall@20 ${signedPct(recallDiff.diff)}, 95 % interval [${signedPct(recallDiff.low)}, ${signedPct(recallDiff.high)}] not above 0): exit code 1`,
      `total ${formatDuration((performance.now() - t0) / 1000)}`,
    ];
    process.stdout.write(out.join('\n') + '\n');
    if (args.has('json')) {
      const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;
      process.stdout.write(
        JSON.stringify({
          settings: {
            targetUpdates: resolved.targetUpdates,
            minUpdates: resolved.minUpdates,
            clipNorm: resolved.clipNorm,
            noiseMultiplier: resolved.noiseMultiplier,
            noiseStd: resolved.noiseStd,
            deviceLr: resolved.deviceLr,
            deviceEpochs: resolved.deviceEpochs,
            serverLr: resolved.serverLr,
            populationEstimate: resolved.populationEstimate,
            delta: resolved.delta,
          },
          deviations,
          rounds,
          seed,
          eval: evalPart,
          evalRange,
          devices: devices.length,
          participated: participated.size,
          evalSessions: evaluation.sessions.length,
          evalCases: start.cases,
          noisePerRound: r6(noiseNorm),
          trainableNorm: r6(trainableNorm),
          totalMove: r6(totalMove),
          start: { version: first.modelVersion, recall20: r6(start.recall20), mrr20: r6(start.mrr20) },
          end: {
            version: end.version,
            recall20: r6(latest.recall20),
            mrr20: r6(latest.mrr20),
            epsilon: end.epsilon,
            epsilonWithoutSampling: end.epsilonNoSampling,
          },
          difference: { recall20: { ...recallDiff }, mrr20: { ...mrrDiff } },
          lastRounds: { rounds: lastK, recall20: r6(lastRecall), mrr20: r6(lastMrr) },
          central: { sessions: centralSessions, lr: centralLr, epochs: central },
          perRound: rows.map((x) => ({ ...x, recall20: r6(x.recall20), mrr20: r6(x.mrr20) })),
          better,
        }) + '\n',
      );
    }
    if (!better) exitCode = 1;
  } finally {
    await server.close();
    if (!args.has('keep-data')) rmSync(serverDir, { recursive: true, force: true });
    else log(`server data kept in ${serverDir}`);
  }
  process.exitCode = exitCode;
}

runCli('demo-rounds', main);
