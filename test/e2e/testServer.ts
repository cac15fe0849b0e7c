/**
 * The e2e tests' web server: fixture pages from `test/e2e/pages/`, the built SDK from `dist/`
 * (exactly the files a customer deploys), the shipped models from `models/`, and an aggregation
 * server under `/fl` (base model: the demo model; a fresh data directory per start; rounds close
 * after every single update so a test sees a new version at once). `PORT` (default 4873).
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveStatic } from '../../demo/staticFiles';
import { createAggregationServer } from '../../src/server/aggregationServer';
import { toBase64Url } from '../../src/federated/participationChallenge';
import { generateHelperKeys } from '../../src/federated/secureAggregation/helperEncryption';
import { HelperAggregator } from '../../src/server/secureAggregation/helperAggregator';
import { localHelperClient } from '../../src/server/secureAggregation/helperClient';
import { MemoryHelperStore } from '../../src/server/secureAggregation/helperStore';

const port = Number(process.env.PORT ?? 4873);
// `/dist-test`: the test build of the Worker (`npm run build:test`; see src/worker/testBuild.ts).
const mounts = { '/': 'test/e2e/pages', '/dist': 'dist', '/dist-test': 'dist-test', '/models': 'models' };
/**
 * An aggregation server for the loop's mechanics: rounds of `target` updates carry little or no
 * privacy (one update: ε = ∞, all of one device's noise), so the budget and the noise check are
 * off; every device takes part in every round (q = target / population = 1); a fresh data
 * directory per start.
 */
const testAggregator = (basePath: string, target: number) =>
  createAggregationServer({
    modelDir: 'models/online-retail',
    dataDir: mkdtempSync(join(tmpdir(), 'edge-personalize-e2e-fl-')),
    basePath,
    targetUpdates: target,
    minUpdates: target,
    rateLimit: null,
    maxEpsilon: Infinity,
    maxNoiseRatio: Infinity,
    populationEstimate: target,
  });
const fl = testAggregator('/fl', 1);

/**
 * Under `/csp-header/`, every file (page, SDK, Worker, wasm) is served with a strict CSP header
 * without 'wasm-unsafe-eval'. A Worker gets its CSP from its own script's response, never from
 * the page's meta tag, so this is how a site's header CSP reaches the SDK's Worker.
 */
const CSP_PREFIX = '/csp-header/';
const STRICT_CSP =
  "default-src 'self'; script-src 'self' 'nonce-e2e'; style-src 'self'; worker-src 'self'; connect-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'";

/**
 * Under `/slow-model/`, a model's `model.json` is answered 1.5 s late (the rest at once): the
 * Worker cannot rank until well after a slot's deadline, as on a slow network.
 */
const SLOW_MODEL_PREFIX = '/slow-model/';

/**
 * A second aggregation server under `/fl-round3`: rounds of three devices (the demo's target), one
 * participation token per address and round, every device sampled. A test sees whether one
 * browser can fill a round by itself.
 */
const flRound3 = testAggregator('/fl-round3', 3);

/**
 * Under `/fl-secure`, an aggregation server running secure aggregation with an in-process helper
 * (the real HelperAggregator): rounds of 6 reports (the minimum cohort 6), tokens enough for a
 * dozen devices behind 127.0.0.1. For the e2e test only, `/fl-secure-test/` hands the test what
 * it needs to check the round from outside, as the two aggregators together could: the bodies of
 * the reports the leader accepted, the helper's private key, the leader's data directory and log.
 */
const SECURE_TARGET = 6;
const secureDir = mkdtempSync(join(tmpdir(), 'edge-personalize-e2e-fl-secure-'));
const secureLog: string[] = [];
const secureReports: string[] = [];
const helperKeys = await generateHelperKeys();
const helperAggregator = new HelperAggregator({
  privateKey: helperKeys.privateKey,
  store: new MemoryHelperStore(),
  minCohort: SECURE_TARGET,
  maxCohort: 100,
});
const flSecure = createAggregationServer({
  modelDir: 'models/online-retail',
  dataDir: secureDir,
  basePath: '/fl-secure',
  targetUpdates: SECURE_TARGET,
  minUpdates: SECURE_TARGET,
  rateLimit: null,
  maxEpsilon: Infinity,
  maxNoiseRatio: Infinity,
  populationEstimate: SECURE_TARGET,
  participationTokens: { tokensPerAddressPerRound: 20 },
  log: (line) => secureLog.push(line),
  secureAggregation: {
    helperPublicKey: toBase64Url(helperKeys.publicKey),
    helper: localHelperClient(helperAggregator),
  },
});

/** Keeps the body of every report `/fl-secure` accepts (202), for `/fl-secure-test/reports`. */
function teeSecureReports(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  if (req.method !== 'POST' || !req.url?.startsWith('/fl-secure/v1/updates')) return;
  const chunks: Buffer[] = [];
  // Seen as the server reads them: a 'data' listener of our own would start the stream flowing
  // before the server listens, and it would miss the first chunks.
  const emit = req.emit.bind(req) as (event: string, ...args: unknown[]) => boolean;
  (req as { emit: typeof emit }).emit = (event, ...args) => {
    if (event === 'data') chunks.push(args[0] as Buffer);
    return emit(event, ...args);
  };
  res.on('finish', () => {
    if (res.statusCode === 202) secureReports.push(Buffer.concat(chunks).toString('base64'));
  });
}

function secureTestRoute(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): boolean {
  const path = req.url?.split('?')[0];
  const answer = (body: unknown): true => (res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body)), true);
  if (path === '/fl-secure-test/reports') return answer(secureReports);
  if (path === '/fl-secure-test/helper-key') return answer({ privateKey: toBase64Url(helperKeys.privateKey) });
  if (path === '/fl-secure-test/data-dir') return answer({ dataDir: secureDir });
  if (path === '/fl-secure-test/log') return answer(secureLog);
  return false;
}

createServer(async (req, res) => {
  teeSecureReports(req, res);
  if (secureTestRoute(req, res)) return;
  // A participation token for /fl-secure is answered 1.5 s late: a page closed meanwhile (a
  // device that joined the round and dropped out) has not sent its report, whatever its speed.
  if (req.url?.startsWith('/fl-secure/v1/tokens')) await new Promise((r) => setTimeout(r, 1500));
  if (req.url?.startsWith(SLOW_MODEL_PREFIX)) {
    req.url = `/models/${req.url.slice(SLOW_MODEL_PREFIX.length)}`;
    if (req.url.split('?')[0]!.endsWith('/model.json')) await new Promise((r) => setTimeout(r, 1500));
  }
  if (req.url?.startsWith(CSP_PREFIX)) {
    res.setHeader('Content-Security-Policy', STRICT_CSP);
    req.url = req.url.slice(CSP_PREFIX.length - 1);
  }
  fl.handle(req, res)
    .then((handled) => handled || flRound3.handle(req, res))
    .then((handled) => handled || flSecure.handle(req, res))
    .then((handled) => (handled ? true : serveStatic(req, res, mounts)))
    .then((served) => {
      if (!served) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    })
    .catch((err: Error) => res.writeHead(500).end(err.message));
}).listen(port, '127.0.0.1', () => console.log(`e2e server on http://127.0.0.1:${port}`));
