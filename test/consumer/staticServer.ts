import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css',
};

/** Serves one app's build output, nothing else; paths without a file get `index.html` (a client-side route). */
export async function serveDir(
  root: string,
): Promise<{ origin: string; log: Array<{ path: string; status: number }>; close(): Promise<void> }> {
  const log: Array<{ path: string; status: number }> = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) file = root;
    if (!existsSync(file) || statSync(file).isDirectory()) {
      file = extname(path) === '' ? join(root, 'index.html') : '';
    }
    if (!file || !existsSync(file)) {
      log.push({ path, status: 404 });
      res.writeHead(404).end();
      return;
    }
    log.push({ path, status: 200 });
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
