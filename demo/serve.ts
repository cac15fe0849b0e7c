/**
 * `npm run demo`: the demo shop on http://127.0.0.1:8080/ (PORT, HOST to change it), with the
 * aggregation server beside it under `/fl` (embedded storage in `.data/demo-fl/`, or
 * `FL_DATA_DIR`; `FL_ROUND_TARGET` updates per round, default 3). The pages are rendered here; the
 * SDK (`dist/`), the model and the shop's CSS and scripts are static files.
 *
 * Rounds run under secure aggregation: the demo starts the helper as a second process
 * (`dist/server/cli.js serve --role helper`, its data in `<FL_DATA_DIR>-helper`, a random
 * secret shared by the two on start), so the shop's server never reads one device's update. A
 * real shop has another party run the helper (see src/server/README.md). `FL_ROUND_TARGET=1`
 * (the e2e tests' rounds of one) cannot be secure (one report alone would be its sum): plain.
 *
 * New products: `npm run demo:add-product -- --id …` (demo/addProduct.ts) posts to
 * `/admin/products`, open to this machine only (demo/shop/adminRoutes.ts). The shop lists the
 * product at once and keeps it in `<FL_DATA_DIR>-shop/added-products.json`; the aggregation server
 * (given a random admin token that never leaves this process) adds it to the model's vocabulary
 * at its next version.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { addProduct, loadCatalogue } from './shop/catalogue';
import { adminRoutes, loadAddedProducts } from './shop/adminRoutes';
import { notFoundPage } from './shop/pages';
import { sendHtml, shopRoutes, type Handler } from './shop/shopRoutes';
import { createAggregationServer } from '../src/server/aggregationServer';
import { fetchHelperInfo, httpHelperClient } from '../src/server/secureAggregation/helperClient';
import { applyHttpLimits } from '../src/server/httpLimits';
import { DEMO_FEDERATED_SETTINGS } from './federatedSettings';
import { serveStatic } from './staticFiles';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

if (!existsSync(`${root}dist/edge-personalize.js`)) {
  console.error('demo: dist/edge-personalize.js is missing: run `npm run build` first (`npm run demo` does both).');
  process.exit(1);
}

const catalogue = loadCatalogue(`${root}models/online-retail`);

/** Federated learning: devices post updates to `/fl/v1/updates`; new versions appear under `/fl/v1/models/`. */
// FL_ROUND_TARGET=1 is for the e2e tests only: a round of one update has no privacy (ε = ∞) and
// carries one device's whole noise, so the budget and the noise check cannot apply.
const roundsOfOne = DEMO_FEDERATED_SETTINGS.targetUpdates === 1 ? { minUpdates: 1, maxEpsilon: Infinity, maxNoiseRatio: Infinity } : {};
const flDataDir = process.env.FL_DATA_DIR ?? `${root}.data/demo-fl`;
const addedProductsPath = `${flDataDir}-shop/added-products.json`;
// Products added in earlier runs: the aggregation server keeps them in its own store.
for (const product of loadAddedProducts(addedProductsPath)) addProduct(catalogue, product);

/** Starts the helper (the second aggregator) as its own process; resolves to its URL once it listens. */
function startHelper(secret: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [`${root}dist/server/cli.js`, 'serve', '--role', 'helper', '--data', `${flDataDir}-helper`, '--port', '0', '--host', '127.0.0.1'],
    // It exits when its stdin closes: when this process ends, however it ends.
    {
      env: { ...process.env, EDGE_PERSONALIZE_HELPER_TOKEN: secret, EDGE_PERSONALIZE_EXIT_WITH_STDIN: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      child.kill();
      process.exit(0);
    });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      seen += chunk.toString();
      const url = /listening on (http:\/\/[^/\s]+)\/v1\/helper/.exec(seen)?.[1];
      if (url) resolve(url);
    });
    child.once('exit', (code) => reject(new Error(`the helper exited (code ${code}) before it listened`)));
  });
}

let secureAggregation: Parameters<typeof createAggregationServer>[0]['secureAggregation'] = null;
if (DEMO_FEDERATED_SETTINGS.targetUpdates >= 2) {
  const secret = randomBytes(24).toString('base64url');
  const helperUrl = await startHelper(secret);
  const info = await fetchHelperInfo(helperUrl);
  secureAggregation = { helper: httpHelperClient(helperUrl, secret), helperPublicKey: info.publicKey };
}

/** The aggregation server's admin token: only `/admin/products` (in this process) uses it. */
const adminToken = randomBytes(24).toString('base64url');

const fl = createAggregationServer({
  ...DEMO_FEDERATED_SETTINGS,
  ...roundsOfOne,
  adminToken,
  // A new product of a known category starts from its category's rows.
  itemCategories: Object.fromEntries([...catalogue.byId].map(([id, p]) => [id, p.category])),
  modelDir: `${root}models/online-retail`,
  dataDir: flDataDir,
  basePath: '/fl',
  secureAggregation,
  log: (line) => console.log(`fl: ${line}`),
});

/**
 * Every route of the server, tried in order: the first handler that answers wins. The
 * aggregation server (a later issue) mounts its API here, beside the shop.
 */
function routes(): Handler[] {
  const mounts = { '/sdk': `${root}dist`, '/models/online-retail': `${root}models/online-retail`, '/static': `${root}demo/static` };
  const admin = adminRoutes(catalogue, { addToModel, savedPath: addedProductsPath });
  return [(req, res) => fl.handle(req, res), admin, shopRoutes(catalogue), (req, res) => serveStatic(req, res, mounts)];
}

/** Posts a new product to the aggregation server's admin route, over this server's own socket. */
async function addToModel(item: { id: string; name: string; category: string }): Promise<{ status: number; body: unknown }> {
  const address = server.address();
  if (!address || typeof address === 'string')
    return { status: 503, body: { reason: 'not_listening', message: 'the demo is not listening yet' } };
  const ip = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  const res = await fetch(`http://${ip.includes(':') ? `[${ip}]` : ip}:${address.port}/fl/v1/admin/catalogue`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ items: [item] }),
  });
  return { status: res.status, body: await res.json() };
}

const handlers = routes();

const server = createServer((req, res) => {
  void (async () => {
    try {
      for (const handle of handlers) if (await handle(req, res)) return;
      sendHtml(req, res, 404, notFoundPage(catalogue, 'There is no page at this address.'));
    } catch (err) {
      // A bug in a page must cost one response, never the server.
      console.error('demo:', req.method, req.url, err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`500: ${err instanceof Error ? err.message : String(err)}`);
    }
  })();
});

// The same connection limits as the standalone aggregation server (the shop faces the same clients).
applyHttpLimits(server, { maxConnections: 1024, maxConnectionsPerAddress: 256, idleTimeoutMs: 15_000 });

server.on('error', (err) => {
  console.error(`demo: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, () =>
  console.log(`demo shop on http://${host}:${port}/ (aggregation server: http://${host}:${port}/fl/v1/status)`),
);
