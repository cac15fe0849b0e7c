import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminRoutes, loadAddedProducts, type ModelAnswer } from '../../../demo/shop/adminRoutes';
import { loadCatalogue, slugify, type Catalogue } from '../../../demo/shop/catalogue';

const MODEL_DIR = join(__dirname, '../../../models/online-retail');
/** In the data set's catalogue, not in the shipped vocabulary (category Other). */
const UNLISTED = '23552';

let server: Server | null = null;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** The admin route on a real socket, with the aggregation server's answer given by `model`. */
async function start(model: (item: { id: string }) => ModelAnswer) {
  const cat = loadCatalogue(MODEL_DIR);
  const savedPath = join(mkdtempSync(join(tmpdir(), 'demo-admin-')), 'shop', 'added-products.json');
  const sentToModel: Array<{ id: string; name: string; category: string }> = [];
  const handle = adminRoutes(cat, {
    savedPath,
    addToModel: async (item) => (sentToModel.push(item), model(item)),
  });
  server = createServer((req, res) => void Promise.resolve(handle(req, res)).then((done) => done || res.writeHead(404).end()));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/products`;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { cat, savedPath, sentToModel, post, url };
}

const accepted = (): ModelAnswer => ({ status: 202, body: { added: 1 } });

describe('demo admin route POST /admin/products', () => {
  it('adds a product of the data set by id: listed first in its category, saved, and handed to the model', async () => {
    const { cat, savedPath, sentToModel, post } = await start(accepted);
    expect(cat.byId.has(UNLISTED)).toBe(false);
    const res = await post({ id: UNLISTED });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { page: string; product: { name: string } };
    expect(body.page).toBe(`/product/${UNLISTED}`);
    expect(body.product.name).toBe('Bicycle Puncture Repair Kit');
    expect(sentToModel).toEqual([{ id: UNLISTED, name: 'Bicycle Puncture Repair Kit', category: 'Other' }]);
    expect(cat.byId.get(UNLISTED)?.category).toBe('Other');
    expect(cat.bySlug.get(slugify('Other'))!.products[0]!.id).toBe(UNLISTED);
    expect(cat.revision).toBe(1);
    expect(loadAddedProducts(savedPath).map((p) => p.id)).toEqual([UNLISTED]);
    // A second time: the shop already has it.
    expect((await post({ id: UNLISTED })).status).toBe(409);
  });

  it('a product of its own definition needs a name, a category and a price; a new category is created', async () => {
    const { cat, post } = await start(accepted);
    const missing = await post({ id: 'DEMO-1', name: 'Paper Kite' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toMatch(/give its name, category and price/);
    expect((await post({ id: 'DEMO-1', name: 'Paper Kite', category: 'Kites', price: 3.5 })).status).toBe(201);
    expect(cat.bySlug.get('kites')!.products.map((p) => p.id)).toEqual(['DEMO-1']);
    expect((await post({ id: 'has space', name: 'x', category: 'y', price: 1 })).status).toBe(400);
    expect((await post({ id: 'DEMO-2', name: 'x', category: 'y', price: -1 })).status).toBe(400);
    expect((await post({ id: 'DEMO-2', colour: 'red' })).status).toBe(400);
  });

  it('when the aggregation server refuses, the shop adds nothing and passes its answer on', async () => {
    const { cat, savedPath, post } = await start(() => ({ status: 409, body: { reason: 'duplicate_item', message: 'already there' } }));
    const res = await post({ id: UNLISTED });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ reason: 'duplicate_item', message: 'already there' });
    expect(cat.byId.has(UNLISTED)).toBe(false);
    expect(existsSync(savedPath)).toBe(false);
  });

  it('refuses requests a browser sends, other methods and other content types', async () => {
    const { cat, sentToModel, post, url } = await start(accepted);
    expect((await post({ id: UNLISTED }, { Origin: 'http://127.0.0.1:8080' })).status).toBe(403);
    expect((await post({ id: UNLISTED }, { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(403);
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' })).status).toBe(400);
    expect((await post({ id: UNLISTED, name: 'x'.repeat(5000) })).status).toBe(413);
    expect(sentToModel).toEqual([]);
    expect(cat.revision).toBe(0);
  });
});

describe('demo catalogue', () => {
  it('lists only products the shipped model knows; the others wait in `unlisted`', () => {
    const cat: Catalogue = loadCatalogue(MODEL_DIR);
    const vocab = new Set(readFileSync(join(MODEL_DIR, 'vocab.txt'), 'utf8').split('\n'));
    expect([...cat.byId.keys()].every((id) => vocab.has(id))).toBe(true);
    expect(cat.unlisted.size).toBeGreaterThan(0);
    expect([...cat.unlisted.keys()].some((id) => vocab.has(id))).toBe(false);
  });
});
