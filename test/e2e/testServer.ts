/**
 * The e2e tests' web server: fixture pages from `test/e2e/pages/`, the built SDK from `dist/`
 * (exactly the files a customer deploys) and the shipped demo model from `models/online-retail/`.
 * `PORT` (default 4873).
 */
import { createServer } from 'node:http';
import { serveStatic } from '../../demo/staticFiles';

const port = Number(process.env.PORT ?? 4873);
const mounts = { '/': 'test/e2e/pages', '/dist': 'dist', '/models': 'models' };

createServer((req, res) => {
  serveStatic(req, res, mounts)
    .then((served) => {
      if (!served) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    })
    .catch((err: Error) => res.writeHead(500).end(err.message));
}).listen(port, '127.0.0.1', () => console.log(`e2e server on http://127.0.0.1:${port}`));
