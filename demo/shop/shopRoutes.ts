import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Catalogue } from './catalogue';
import { cartPage, categoryPage, homePage, notFoundPage, productPage } from './pages';
import { privacyPage } from './privacyPage';

/** Answers a request, or returns false to let the next handler try (see `demo/serve.ts`). */
export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** Sends a page; HEAD gets the headers only. */
export function sendHtml(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-cache',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * `/api/catalogue.json`: id → [name, category, price] for every product, for the panel and the
 * cart, which turn item ids into names in the browser. Built and gzipped once per catalogue
 * revision (about 45 kB on the wire) and revalidated by ETag on every use, since products can be
 * added while the shop runs.
 */
function catalogueApi(cat: Catalogue): Handler {
  let built: { revision: number; body: Buffer; gzipped: Buffer; etag: string } | null = null;
  const build = (): NonNullable<typeof built> => {
    if (built?.revision === cat.revision) return built;
    const entries = Object.fromEntries([...cat.byId].map(([id, p]) => [id, [p.name, p.category, p.price]]));
    const body = Buffer.from(JSON.stringify(entries));
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    return (built = { revision: cat.revision, body, gzipped: gzipSync(body), etag });
  };
  return (req, res) => {
    const { body, gzipped, etag } = build();
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-cache',
      ETag: etag,
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const payload = gzip ? gzipped : body;
    res.writeHead(200, { ...headers, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}), 'Content-Length': payload.length });
    res.end(req.method === 'HEAD' ? undefined : payload);
    return true;
  };
}

/** The shop's pages (home, categories, products, cart, privacy) and its catalogue endpoint (GET/HEAD only). */
export function shopRoutes(cat: Catalogue): Handler {
  const api = catalogueApi(cat);
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://shop').pathname;
    const [, section = '', param, ...rest] = path.split('/');
    let key: string | null;
    try {
      decodeURIComponent(path); // `serveStatic` decodes too, and would throw
      key = param === undefined || rest.length > 0 ? null : decodeURIComponent(param);
    } catch {
      sendHtml(req, res, 404, notFoundPage(cat, 'There is no page at this address.'));
      return true;
    }
    if (path === '/') sendHtml(req, res, 200, homePage(cat));
    else if (path === '/cart') sendHtml(req, res, 200, cartPage(cat));
    else if (path === '/privacy') sendHtml(req, res, 200, privacyPage(cat));
    else if (path === '/api/catalogue.json') return api(req, res);
    else if (section === 'category' && key !== null) {
      const category = cat.bySlug.get(key);
      if (category) sendHtml(req, res, 200, categoryPage(cat, category));
      else sendHtml(req, res, 404, notFoundPage(cat, `There is no category "${key}".`));
    } else if (section === 'product' && key !== null) {
      const product = cat.byId.get(key);
      if (product) sendHtml(req, res, 200, productPage(cat, product));
      else sendHtml(req, res, 404, notFoundPage(cat, `There is no product "${key}" in this shop.`));
    } else return false;
    return true;
  };
}
