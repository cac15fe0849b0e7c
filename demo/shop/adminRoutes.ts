/**
 * `POST /admin/products`: the shop owner adds a product while the demo runs (`npm run
 * demo:add-product`, demo/addProduct.ts). The product is listed at once (product page, its
 * category, the home page); the aggregation server appends it to the model's vocabulary at its
 * next version and schedules its row first in the round after (src/server/catalogue.ts), so pages
 * rank it once they run that version and federated rounds train it.
 *
 * Only the machine the demo runs on may call it: requests from another address are refused, and so
 * is any request a browser sends (it carries `Origin` or `Sec-Fetch-Site`), so that no web page,
 * not even the shop's own, can add products through a shopper's browser (cross-site request
 * forgery against a localhost server). The admin token of the aggregation server stays inside the
 * demo process.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addProduct, type Catalogue, type Product } from './catalogue';
import type { Handler } from './shopRoutes';

/** What the aggregation server answered to `POST /v1/admin/catalogue`. */
export interface ModelAnswer {
  status: number;
  body: unknown;
}

/** What the admin route needs from the rest of the demo. */
export interface AdminOptions {
  /** Hands the item to the aggregation server (its admin route); 202 means accepted. */
  addToModel: (item: { id: string; name: string; category: string }) => Promise<ModelAnswer>;
  /** The JSON file that keeps the added products across restarts of the demo. */
  savedPath: string;
}

/** The largest request body: one product. */
const MAX_BODY = 4096;

/** IPv4 loopback (127.0.0.0/8, also IPv4-mapped) or IPv6 `::1`. */
function isLoopback(address: string | undefined): boolean {
  return address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address ?? '');
}

/** Sends a JSON answer; true, for the handler's return. */
function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  return true;
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Too large: answered at once; the rest is read and dropped (the answer closes the connection).
      if (size > MAX_BODY) resolve(null);
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}

/**
 * The product a request body describes (`{ id, name?, category?, price? }`), or the message that
 * says what is wrong. An id of the data set that the model does not know needs nothing else: its
 * name, category and price come from `data/catalogue.json`.
 */
export function productFromBody(cat: Catalogue, body: unknown): Product | string {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return 'the body must be JSON {"id": "…", "name": "…", "category": "…", "price": 1.5}';
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !['id', 'name', 'category', 'price'].includes(k));
  if (unknown) return `unknown field ${unknown}: a product has id, name, category and price`;
  if (typeof o.id !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(o.id))
    return `id must be 1-128 printable ASCII characters without spaces, got ${JSON.stringify(o.id)}`;
  if (cat.byId.has(o.id)) return `product ${o.id} is already in the shop`;
  const known = cat.unlisted.get(o.id);
  for (const k of ['name', 'category'] as const)
    if (o[k] !== undefined && (typeof o[k] !== 'string' || !(o[k] as string).trim() || (o[k] as string).length > 200))
      return `${k} must be a string of 1-200 characters`;
  if (o.price !== undefined && (typeof o.price !== 'number' || !Number.isFinite(o.price) || o.price < 0 || o.price > 1e6))
    return 'price must be a number from 0 to 1000000 (GBP)';
  const name = (o.name as string | undefined)?.trim() ?? known?.name;
  const category = (o.category as string | undefined)?.trim() ?? known?.category;
  const price = (o.price as number | undefined) ?? known?.price;
  if (name === undefined || category === undefined || price === undefined)
    return `product ${o.id} is not in the data set's catalogue: give its name, category and price`;
  return { id: o.id, name, category, price, popularity: 0 };
}

/** Products added in earlier runs of the demo (none when the file does not exist). */
export function loadAddedProducts(savedPath: string): Product[] {
  return existsSync(savedPath) ? (JSON.parse(readFileSync(savedPath, 'utf8')) as Product[]) : [];
}

/** The admin route (see the module comment); every other request goes to the next handler. */
export function adminRoutes(cat: Catalogue, o: AdminOptions): Handler {
  return async (req, res) => {
    if (new URL(req.url ?? '/', 'http://shop').pathname !== '/admin/products') return false;
    if (!isLoopback(req.socket.remoteAddress))
      return send(res, 403, { reason: 'forbidden', message: 'products can be added only from the machine the demo runs on' });
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined)
      return send(res, 403, {
        reason: 'forbidden',
        message: 'the admin route is for the command line (npm run demo:add-product), not for web pages',
      });
    if (req.method !== 'POST') return send(res, 405, { reason: 'method_not_allowed', message: 'use POST' }, { Allow: 'POST' });
    if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json')
      return send(res, 415, { reason: 'content_type', message: 'Content-Type must be application/json' });
    const raw = await readBody(req);
    if (!raw) return send(res, 413, { reason: 'too_large', message: `at most ${MAX_BODY} bytes` }, { Connection: 'close' });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, { reason: 'bad_request', message: 'the body is not JSON' });
    }
    const product = productFromBody(cat, body);
    if (typeof product === 'string') {
      const duplicate = cat.byId.has(String((body as { id?: unknown } | null)?.id));
      return send(res, duplicate ? 409 : 400, { reason: duplicate ? 'duplicate_product' : 'bad_product', message: product });
    }
    // The model first: if the aggregation server refuses (e.g. the id is already in its vocabulary), the shop adds nothing.
    const model = await o.addToModel({ id: product.id, name: product.name, category: product.category });
    if (model.status !== 202) return send(res, model.status, model.body);
    addProduct(cat, product);
    const added = [...loadAddedProducts(o.savedPath), product];
    mkdirSync(dirname(o.savedPath), { recursive: true });
    writeFileSync(`${o.savedPath}.tmp`, JSON.stringify(added, null, 1));
    renameSync(`${o.savedPath}.tmp`, o.savedPath);
    return send(res, 201, { product, page: `/product/${encodeURIComponent(product.id)}`, model: model.body });
  };
}
