/**
 * `npm run demo`: serves the demo shop (skeleton; the shop pages are being built).
 * PORT (default 8080), HOST (default 127.0.0.1).
 */
import { createServer } from 'node:http';
import { serveStatic } from './staticFiles';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const mounts = { '/sdk': 'dist', '/models/online-retail': 'models/online-retail' };

createServer((req, res) => {
  if (req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>demo</title><p>demo shop</p>');
    return;
  }
  serveStatic(req, res, mounts)
    .then((served) => {
      if (!served) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    })
    .catch((err: Error) => res.writeHead(500).end(err.message));
}).listen(port, host, () => console.log(`demo shop on http://${host}:${port}/`));
