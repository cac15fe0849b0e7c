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

const port = Number(process.env.PORT ?? 4873);
const mounts = { '/': 'test/e2e/pages', '/dist': 'dist', '/models': 'models' };
const fl = createAggregationServer({
  modelDir: 'models/online-retail',
  dataDir: mkdtempSync(join(tmpdir(), 'edge-personalize-e2e-fl-')),
  basePath: '/fl',
  targetUpdates: 1,
  minUpdates: 1,
  rateLimit: null,
  // Rounds of one update carry no privacy (ε = ∞) and all of one device's noise: this server
  // tests the loop's mechanics, so the budget and the noise check are off.
  maxEpsilon: Infinity,
  maxNoiseRatio: Infinity,
  // Every device takes part in every round (q = 1).
  populationEstimate: 1,
});

createServer((req, res) => {
  fl.handle(req, res)
    .then((handled) => (handled ? true : serveStatic(req, res, mounts)))
    .then((served) => {
      if (!served) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    })
    .catch((err: Error) => res.writeHead(500).end(err.message));
}).listen(port, '127.0.0.1', () => console.log(`e2e server on http://127.0.0.1:${port}`));
