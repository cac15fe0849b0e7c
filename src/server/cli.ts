/**
 * The package's command, `edge-personalize serve [options]` (`npx edge-personalize serve` once the
 * package is installed; `npm run server -- [options]` in a clone, where `serve` may be left out):
 * the aggregation server on its own (the demo starts it beside the shop). The build turns this
 * file into `dist/server/cli.js`, plain Node with no TypeScript at run time. Progress lines go to
 * stdout; a bad option, command or model prints one line to stderr and exits with code 2. Stop it
 * with Ctrl-C (or `kill`): every acknowledged update is already on disk, so even `kill -9` loses
 * nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { numberArg, parseArgs, runCli, UsageError } from '../node/cliArgs';
import { copySdkAssets } from '../node/sdkAssets';
import { createAggregationServer } from './aggregationServer';
import { applyHttpLimits } from './httpLimits';
import { fetchHelperInfo, httpHelperClient, type HelperInfo } from './secureAggregation/helperClient';
import { createHelperServer } from './secureAggregation/helperServer';

const USAGE = `usage: edge-personalize <command>

  serve [options]          runs the aggregation server (serve --help lists its options;
                           in a clone: npm run server -- [options])
  add-items --server URL FILE
                           adds the products in FILE (JSON {"items": [{"id", "name", "category"}]})
                           to a running server's catalogue (its admin route; the token from
                           --admin-token-file FILE or EDGE_PERSONALIZE_ADMIN_TOKEN); they are
                           published with the next version and trained from the round after
  assets DIR               copies the files the SDK loads beside its Worker (the Worker, its tfjs
                           chunks, the wasm binaries, the web-vitals module) into DIR, for a site
                           that bundles the SDK: serve DIR and set workerUrl to DIR's
                           edge-personalize.worker.js
`;

const HELP = `usage: edge-personalize serve [options]     (in a clone: npm run server -- [options])

  --model DIR              base model directory (default models/online-retail)
  --data DIR               data directory: rounds, state, published versions (default .data/server)
  --port N                 port (default 8787; 0 = any free port)
  --host ADDR              address to listen on (default 127.0.0.1)
  --base-path PATH         URL prefix of the API, e.g. /fl (default none)
  --target N               updates that close a round (default 100)
  --min-updates N          updates a round needs to close at its deadline (default ⌈target/2⌉, ≥ 2)
  --deadline-minutes M     round deadline (default 10)
  --max-staleness N        accept updates trained up to N versions back (default 2)
  --staleness-decay F      weight factor per version of staleness (default 0.5)
  --example-cap N          example buckets above N count as N (default 16)
  --expected-weight F      expected weight per update, for the FedAvg denominator (default 1)
  --server-lr F            server learning rate (default 1)
  --row-server-lr F        server learning rate of the announced item rows (default: --server-lr)
  --row-gate Z             under DP, move an announced row only where its noised change stands Z
                           standard deviations above the noise, shrunk (James-Stein); the rest
                           keep their value that round (default 0 = every row moves; 4 in the
                           DIGINETICA simulation)
  --rows-per-round N       item-embedding rows each round trains (default: as many as fit one
                           upload of 256 KB as masked for secure aggregation, at most the
                           catalogue; 0 = none; more than fit is refused with the arithmetic)
  --sketch-buckets N       item sketch: devices append a count sketch of their items in N buckets
                           (0.3 of the clip norm; noised and, with --helper, secret-shared like
                           the rest) and later rounds train the rows the round's summed sketch
                           finds most popular; the rows per round shrink to fit beside it
                           (default 0 = no sketch; 8192 in the DIGINETICA simulation). Without
                           --helper this server reads each device's sketch (noised)
  --clip F                 L2 clip norm devices apply (default 0.1)
  --device-lr F            learning rate devices train with, in (0, 1] (default 0.02)
  --device-epochs N        local passes over a device's sessions, 1-5 (default 1)
  --noise-multiplier F     noise multiplier σ of a full round (default 1; devices add σ·clip/√target)
  --population N           estimated devices, for the sampling rate target/N (default 10000)
  --delta F                δ of the reported (ε, δ) (default 1e-6)
  --max-epsilon F          privacy budget: publish no round past this cumulative ε (default 10; inf = none)
  --max-noise-ratio F      refuse to start if a round's noise norm exceeds this fraction of the
                           model's trainable weights' norm (default 0.05; inf = no check)
  --keep-versions N        published versions kept and served (default 10, ≥ max-staleness + 1)
  --max-connections N      open connections in all (default 1024)
  --max-connections-per-address N  (default 32)
  --idle-timeout-seconds S close connections silent this long (default 15)
  --tokens N               participation tokens per client address and round (default 1; 0 = no
                           tokens: any client may post updates, bounded by the rate limit only)
  --issuer-name NAME       the issuer name in every token (default edge-personalize)
  --rate-limit N           updates per minute per client address, 0 = off (default 30)
  --rate-burst N           updates at once per client address (default 10)
  --origin LIST            comma-separated browser origins allowed by CORS (default none)
  --helper URL             secure aggregation with the helper at URL (see --role helper): devices
                           send additive shares, this server never reads one device's update;
                           --min-updates is then the minimum cohort (a round below it is
                           abandoned); needs the shared secret (--helper-token-file)
  --helper-token-file FILE the secret the leader presents to the helper (or the environment
                           variable EDGE_PERSONALIZE_HELPER_TOKEN), ≥ 16 characters
  --role leader|helper     leader (default): the aggregation server above; helper: the second
                           aggregator of secure aggregation, in its own process and data directory,
                           run by another party than the leader for the promise to hold. Its
                           options: --data (default .data/helper), --port (default 8788), --host,
                           --min-cohort N (default 2), --max-cohort N (default 1000),
                           --helper-token-file
  --admin-token-file FILE  enables POST /v1/admin/catalogue (new products, see add-items) with the
                           token in FILE (or EDGE_PERSONALIZE_ADMIN_TOKEN), ≥ 16 characters;
                           without one the route does not exist
  --catalogue FILE         the shop's catalogue, JSON [{"id", "category"}, …]: a new product of a
                           known category starts from its category's rows
  --help                   this text
`;

const OPTIONS = [
  'model',
  'data',
  'port',
  'host',
  'base-path',
  'target',
  'min-updates',
  'deadline-minutes',
  'max-staleness',
  'staleness-decay',
  'example-cap',
  'expected-weight',
  'server-lr',
  'row-server-lr',
  'row-gate',
  'rows-per-round',
  'sketch-buckets',
  'clip',
  'device-lr',
  'device-epochs',
  'noise-multiplier',
  'population',
  'delta',
  'max-epsilon',
  'max-noise-ratio',
  'keep-versions',
  'max-connections',
  'max-connections-per-address',
  'idle-timeout-seconds',
  'tokens',
  'issuer-name',
  'rate-limit',
  'rate-burst',
  'origin',
  'helper',
  'helper-token-file',
  'role',
  'admin-token-file',
  'catalogue',
];

const HELPER_OPTIONS = ['role', 'data', 'port', 'host', 'min-cohort', 'max-cohort', 'helper-token-file'];

/** The leader–helper secret: from --helper-token-file, else EDGE_PERSONALIZE_HELPER_TOKEN (never on the command line: `ps` shows it). */
function helperToken(args: Map<string, string>): string {
  const file = args.get('helper-token-file');
  const token = file ? readFileSync(file, 'utf8').trim() : process.env.EDGE_PERSONALIZE_HELPER_TOKEN;
  if (!token) throw new UsageError('secure aggregation needs the helper secret: --helper-token-file FILE or EDGE_PERSONALIZE_HELPER_TOKEN');
  if (token.length < 16) throw new UsageError('the helper secret must have at least 16 characters');
  return token;
}

/**
 * The helper's key and bounds: asked of the helper, and kept in the leader's data directory
 * (`helper.json`) so that a leader restarted while its helper is down still starts and collects
 * reports (its rounds wait for the helper to sum them). A helper whose key changed since (a new
 * data directory) is used with its new key, and the leader says so.
 */
async function helperInfoOrCached(helperUrl: string, dataDir: string): Promise<HelperInfo> {
  const path = join(dataDir, 'helper.json');
  let cached: (HelperInfo & { url: string }) | null = null;
  try {
    cached = JSON.parse(readFileSync(path, 'utf8')) as HelperInfo & { url: string };
  } catch {
    /* none yet */
  }
  try {
    const info = await fetchHelperInfo(helperUrl, cached?.url === helperUrl ? 5_000 : 15_000);
    if (cached && cached.publicKey !== info.publicKey)
      log(`the helper's key changed since the last start: reports sealed to the old key cannot be summed`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, JSON.stringify({ url: helperUrl, ...info }, null, 2) + '\n');
    return info;
  } catch (err) {
    if (!cached || cached.url !== helperUrl) throw new UsageError((err as Error).message);
    log(`${(err as Error).message}; using its key from ${path}: rounds wait until it answers`);
    return cached;
  }
}

/** `--role helper`: the second aggregator, alone in its process and data directory. */
async function serveHelper(argv: string[]): Promise<void> {
  const args = parseArgs(argv, HELPER_OPTIONS);
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = numberArg(args, key, fallback, min, max);
    if (!Number.isInteger(v)) throw new UsageError(`--${key} must be a whole number, got "${args.get(key)}"`);
    return v;
  };
  const minCohort = int('min-cohort', 2, 2, 1e6);
  const maxCohort = int('max-cohort', 1000, minCohort, 16_909_320);
  const dataDir = args.get('data') ?? '.data/helper';
  const helper = await createHelperServer({
    dataDir,
    leaderToken: helperToken(args),
    minCohort,
    maxCohort,
    log: (line) => console.log(`helper: ${line}`),
  });
  const server = createServer((req, res) => {
    helper.handle(req, res).then(
      (done) => {
        if (!done) res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not_found"}');
      },
      (err: Error) => {
        console.log(`helper: error answering ${req.method}: ${err.message}`);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"internal_error"}');
      },
    );
  });
  applyHttpLimits(server, { idleTimeoutMs: 15_000, maxConnections: 256, maxConnectionsPerAddress: 256 });
  const port = int('port', 8788, 0, 65535);
  const host = args.get('host') ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UsageError(`cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  console.log(
    `helper: listening on http://${host}:${(server.address() as AddressInfo).port}/v1/helper: data ${dataDir}, cohorts of ${minCohort}-${maxCohort} reports`,
  );
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Started by another process (the demo): end with it, also when it is killed outright.
  if (process.env.EDGE_PERSONALIZE_EXIT_WITH_STDIN === '1') {
    process.stdin.on('end', stop);
    process.stdin.resume();
  }
}

const log = (line: string): void => console.log(`server: ${line}`);

/** The admin token: from --admin-token-file, else EDGE_PERSONALIZE_ADMIN_TOKEN; undefined when neither is set. */
function adminToken(args: Map<string, string>): string | undefined {
  const file = args.get('admin-token-file');
  const token = file ? readFileSync(file, 'utf8').trim() : process.env.EDGE_PERSONALIZE_ADMIN_TOKEN;
  if (token !== undefined && token.length < 16) throw new UsageError('the admin token must have at least 16 characters');
  return token || undefined;
}

/** `add-items --server URL FILE`: posts FILE to the server's admin route and prints the rows it gave. */
async function addItems(argv: string[]): Promise<void> {
  const file = argv.at(-1);
  if (!file || file.startsWith('--'))
    throw new UsageError('usage: edge-personalize add-items --server URL [--admin-token-file FILE] ITEMS.json');
  const args = parseArgs(argv.slice(0, -1), ['server', 'admin-token-file']);
  const server = args.get('server');
  const token = adminToken(args);
  if (!server || !token)
    throw new UsageError('add-items needs --server URL and the admin token (--admin-token-file FILE or EDGE_PERSONALIZE_ADMIN_TOKEN)');
  const res = await fetch(`${server.replace(/\/+$/, '')}/v1/admin/catalogue`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: readFileSync(file),
  }).catch((err: Error) => {
    throw new UsageError(`cannot reach ${server}: ${err.message}`);
  });
  const answer = (await res.json().catch(() => ({}))) as {
    added?: Array<{ id: string; row: number }>;
    publishedFrom?: string;
    message?: string;
  };
  if (res.status !== 202) throw new UsageError(`the server refused (HTTP ${res.status}): ${answer.message ?? ''}`);
  console.log(
    `add-items: ${answer.added!.length} items added (rows ${answer.added![0]!.row}-${answer.added!.at(-1)!.row}), published with ${answer.publishedFrom}`,
  );
}

async function main(argv: string[]): Promise<void> {
  // `serve` is the command; without one (npm run server) the options are the server's too.
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'serve') return serve(rest);
  if (command === 'add-items') return addItems(rest);
  if (command === 'assets') {
    if (rest.length !== 1 || rest[0]!.startsWith('-')) throw new UsageError('usage: edge-personalize assets DIR');
    const copied = copySdkAssets(rest[0]!);
    console.log(`assets: ${copied.length} files copied to ${rest[0]}`);
    return;
  }
  if (command.startsWith('--')) return serve(argv);
  throw new UsageError(`unknown command "${command}" (expected serve or assets; see edge-personalize help)`);
}

async function serve(argv: string[]): Promise<void> {
  const role = argv[argv.indexOf('--role') + 1];
  if (argv.includes('--role') && role !== 'leader') {
    if (role !== 'helper') throw new UsageError(`--role must be leader or helper, got "${role ?? ''}"`);
    if (!argv.includes('--help')) return serveHelper(argv);
  }
  const args = parseArgs(argv, OPTIONS, ['help']);
  if (args.has('help')) {
    process.stdout.write(HELP);
    return;
  }
  const helperUrl = args.get('helper');
  let secureAggregation: Parameters<typeof createAggregationServer>[0]['secureAggregation'] = null;
  if (helperUrl) {
    const token = helperToken(args);
    const info = await helperInfoOrCached(helperUrl, args.get('data') ?? '.data/server');
    log(`secure aggregation with the helper at ${helperUrl} (its cohorts: ${info.minCohort}-${info.maxCohort} reports)`);
    const min = args.has('min-updates') ? Number(args.get('min-updates')) : undefined;
    if (min !== undefined && min < info.minCohort)
      throw new UsageError(
        `--min-updates ${min} is below the helper's minimum cohort of ${info.minCohort}: those rounds would all be abandoned`,
      );
    secureAggregation = { helper: httpHelperClient(helperUrl, token), helperPublicKey: info.publicKey };
  }
  const num = (key: string, min: number, max: number): number | undefined =>
    args.has(key) ? numberArg(args, key, 0, min, max) : undefined;
  const int = (key: string, min: number, max: number): number | undefined => {
    const v = num(key, min, max);
    if (v !== undefined && !Number.isInteger(v)) throw new UsageError(`--${key} must be a whole number, got "${args.get(key)}"`);
    return v;
  };
  /** A number, or `inf` for no limit. */
  const limit = (key: string, min: number): number | undefined => (args.get(key)?.toLowerCase() === 'inf' ? Infinity : num(key, min, 1e12));
  const perMinute = num('rate-limit', 0, 1e9) ?? 30;
  const tokensPerRound = int('tokens', 0, 1e6) ?? 1;
  const idle = num('idle-timeout-seconds', 0.1, 3600);
  const deadline = num('deadline-minutes', 1 / 60, 7 * 24 * 60);
  const server = createAggregationServer({
    modelDir: args.get('model') ?? 'models/online-retail',
    dataDir: args.get('data') ?? '.data/server',
    basePath: args.get('base-path'),
    targetUpdates: int('target', 1, 1e6),
    minUpdates: int('min-updates', 1, 1e6),
    roundDeadlineMs: deadline === undefined ? undefined : deadline * 60_000,
    maxStaleness: int('max-staleness', 0, 1000),
    stalenessDecay: num('staleness-decay', 1e-6, 1),
    exampleCap: num('example-cap', 1, 1e6),
    expectedWeight: num('expected-weight', 1e-6, 1),
    serverLr: num('server-lr', 1e-9, 1e3),
    rowServerLr: num('row-server-lr', 1e-9, 1e6),
    rowGate: num('row-gate', 0, 1000),
    rowsPerRound: int('rows-per-round', 0, 1e9),
    sketchBuckets: int('sketch-buckets', 0, 1e7),
    clipNorm: num('clip', 1e-9, 1e6),
    deviceLr: num('device-lr', 1e-9, 1),
    deviceEpochs: int('device-epochs', 1, 5),
    noiseMultiplier: num('noise-multiplier', 0, 1e3),
    maxEpsilon: limit('max-epsilon', 1e-9),
    maxNoiseRatio: limit('max-noise-ratio', 1e-9),
    keepVersions: int('keep-versions', 1, 1e6),
    maxConnections: int('max-connections', 1, 1e6),
    maxConnectionsPerAddress: int('max-connections-per-address', 1, 1e6),
    idleTimeoutMs: idle === undefined ? undefined : idle * 1000,
    populationEstimate: num('population', 1, 1e12),
    delta: num('delta', 1e-30, 0.5),
    participationTokens: tokensPerRound === 0 ? null : { tokensPerAddressPerRound: tokensPerRound, issuerName: args.get('issuer-name') },
    rateLimit: perMinute === 0 ? null : { perMinute, burst: int('rate-burst', 1, 1e9) ?? 10 },
    allowedOrigins: (args.get('origin') ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    secureAggregation,
    adminToken: adminToken(args),
    itemCategories: args.has('catalogue') ? readCategories(args.get('catalogue')!) : undefined,
    log,
  });
  const port = int('port', 0, 65535) ?? 8787;
  const host = args.get('host') ?? '127.0.0.1';
  let bound: { port: number };
  try {
    bound = await server.listen(port, host);
  } catch (err) {
    throw new UsageError(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  const status = server.status() as {
    modelVersion: string;
    round: { id: string; received: number; target: number };
    privacy: {
      budget: { maxEpsilon: number | null; spent: boolean };
      noiseCheck: { roundNoiseNorm: number; weightsNorm: number; ratio: number; limit: number };
    };
  };
  const n = status.privacy.noiseCheck;
  log(
    `noise of a full round on the model: L2 norm ${n.roundNoiseNorm.toPrecision(3)}, ${(n.ratio * 100).toPrecision(3)} % of the trainable weights' norm ${n.weightsNorm.toPrecision(3)} (limit ${n.limit * 100} %)`,
  );
  log(
    status.privacy.budget.maxEpsilon === null
      ? 'privacy budget: none (--max-epsilon inf): rounds are published whatever ε they reach'
      : `privacy budget: cumulative ε ≤ ${status.privacy.budget.maxEpsilon}${status.privacy.budget.spent ? ' — spent: no more rounds are published' : ''}`,
  );
  log(
    `listening on http://${host}:${bound.port}${args.get('base-path') ?? ''}/v1/model: model ${status.modelVersion}, round ${status.round.id} (${status.round.received}/${status.round.target} updates)`,
  );
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

runCli('server', main, ['ServerConfigError', 'DataDirError']);

/** id → category from a catalogue file (JSON [{ id, category }, …], e.g. models/online-retail/data/catalogue.json). */
function readCategories(file: string): Record<string, string> {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--catalogue ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw new UsageError(`--catalogue ${file} must hold a JSON array of {"id", "category"}`);
  const out: Record<string, string> = {};
  for (const p of list as Array<{ id?: unknown; category?: unknown }>)
    if (typeof p?.id === 'string' && typeof p.category === 'string') out[p.id] = p.category;
  return out;
}
