import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readModelDir } from '../../../src/node/modelDir';
import { deviceUpload } from './deviceUpdates';
import { startServer, type Harness } from './serverHarness';
import { CONFIG, MODEL_DIR } from './updateFixtures';

/** New products while the server runs: the admin route, append-only growth, start rows, scheduling. */

const TOKEN = 'admin-token-0123456789';
const base = readModelDir(join(MODEL_DIR, 'float'));
const vocab = base.vocab;
const d = CONFIG.embedDim;
// The first ten items are "candles" (the shop's catalogue says so).
const itemCategories = Object.fromEntries(vocab.slice(0, 10).map((id) => [id, 'candles']));

let servers: Harness[] = [];
afterEach(async () => {
  for (const h of servers) await h.server.close().catch(() => undefined);
  servers = [];
});

async function admin(h: Harness, body: unknown, token = TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.url}/v1/admin/catalogue`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const cosine = (a: Float32Array, b: Float32Array): number => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

describe('new items without a central retrain', () => {
  it('the admin route exists only with a token, refuses a wrong one, and refuses malformed or duplicate items whole', async () => {
    const off = await startServer({});
    servers.push(off);
    expect((await admin(off, { items: [{ id: 'NEW-1' }] })).status).toBe(404);
    const h = await startServer({ adminToken: TOKEN });
    servers.push(h);
    expect(await admin(h, { items: [{ id: 'NEW-1' }] }, 'wrong-token-0123456789')).toMatchObject({
      status: 401,
      body: { reason: 'unauthorized' },
    });
    expect((await admin(h, 'not json')).body).toMatchObject({ reason: 'bad_request' });
    const refusals: Array<[unknown, number, RegExp]> = [
      [{ items: [] }, 400, /1 to 1000 items/],
      [{ items: [{ id: 'has space' }] }, 400, /items\[0\]\.id must be 1-128 printable characters/],
      [{ items: [{ id: 'NEW-1', price: 3 }] }, 400, /unknown field price/],
      [{ items: [{ id: 'NEW-1' }, { id: 'NEW-1' }] }, 400, /listed twice/],
      [{ items: [{ id: 'NEW-1' }, { id: vocab[7] }] }, 409, new RegExp(`item "${vocab[7]}" is already in the catalogue`)],
    ];
    for (const [body, status, message] of refusals) {
      const r = await admin(h, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.message).toMatch(message);
    }
    // Nothing of a refused request was kept: NEW-1 can still be added, once.
    expect((await h.status()).catalogue.pending).toBe(0);
    expect(await admin(h, { items: [{ id: 'NEW-1' }] })).toMatchObject({
      status: 202,
      body: { added: [{ id: 'NEW-1', row: vocab.length }] },
    });
    expect((await admin(h, { items: [{ id: 'NEW-1' }] })).status).toBe(409);
  });

  it('publishes the items with the next version, appended, from their category’s rows or a neutral start, and trains them first', async () => {
    const h = await startServer({ adminToken: TOKEN, itemCategories, targetUpdates: 2, rowsPerRound: 8, noiseMultiplier: 0 });
    servers.push(h);
    const before = await h.status();
    const added = await admin(h, {
      items: [
        { id: 'NEW-CANDLE', name: 'Tall candle', category: 'candles' },
        { id: 'NEW-MYSTERY', category: 'unknown' },
      ],
    });
    expect(added.body.added).toEqual([
      { id: 'NEW-CANDLE', row: vocab.length },
      { id: 'NEW-MYSTERY', row: vocab.length + 1 },
    ]);
    // Not yet published: devices still see the current version.
    expect((await h.status()).modelVersion).toBe(before.modelVersion);
    // A restart keeps them waiting (state.json).
    const dataDir = h.dataDir;
    await h.server.close();
    servers = [];
    const h2 = await startServer({ dataDir, adminToken: TOKEN, itemCategories, targetUpdates: 2, rowsPerRound: 8, noiseMultiplier: 0 });
    servers.push(h2);
    expect((await h2.status()).catalogue).toMatchObject({ pending: 2, next: ['NEW-CANDLE', 'NEW-MYSTERY'] });
    for (const s of [[[1, 2, 3]], [[4, 5, 6]]]) expect((await h2.post((await deviceUpload(h2.url, s)).bytes)).status).toBe(202);
    const s1 = await h2.status();
    expect(s1.roundsClosed).toBe(1);
    const v1 = readModelDir(join(dataDir, 'versions', s1.modelVersion, 'float'));
    const served = readFileSync(join(dataDir, 'versions', s1.modelVersion, 'vocab.txt'), 'utf8')
      .trim()
      .split('\n');
    // Append-only: every existing item keeps its index.
    expect(served.slice(0, vocab.length)).toEqual(vocab);
    expect(served.slice(vocab.length)).toEqual(['NEW-CANDLE', 'NEW-MYSTERY']);
    expect(v1.weights.config.numItems).toBe(vocab.length + 2);
    const row = (items: Float32Array, i: number): Float32Array => items.slice(i * d, i * d + d);
    // The candle starts in the direction of the candles' mean (of their unit rows), the other elsewhere.
    const mean = new Float32Array(d);
    for (let i = 0; i < 10; i++) {
      const r = row(v1.weights.items, i);
      const n = Math.hypot(...r);
      for (let j = 0; j < d; j++) mean[j]! += r[j]! / n;
    }
    expect(cosine(row(v1.weights.items, vocab.length), mean)).toBeGreaterThan(0.9999);
    expect(Math.abs(cosine(row(v1.weights.items, vocab.length + 1), mean))).toBeLessThan(0.9);
    expect(JSON.parse(readFileSync(join(dataDir, 'versions', s1.modelVersion, 'model.json'), 'utf8')).metadata.catalogue.added).toEqual([
      { id: 'NEW-CANDLE', row: vocab.length, start: 'category' },
      { id: 'NEW-MYSTERY', row: vocab.length + 1, start: 'neutral' },
    ]);
    // The next round trains the new rows first; devices of that round train them on the new version.
    const rows = s1.round.rows as Array<[number, number]>;
    expect(rows.at(-1)).toEqual([vocab.length, vocab.length + 1]);
    const upload = await deviceUpload(h2.url, [[vocab.length, 1, vocab.length + 1, 2]]);
    expect(upload.files.manifest.config.numItems).toBe(vocab.length + 2);
    expect((await h2.post(upload.bytes)).status).toBe(202);
    expect((await h2.post((await deviceUpload(h2.url, [[vocab.length, 3, 4]])).bytes)).status).toBe(202);
    const s2 = await h2.status();
    expect(s2.roundsClosed).toBe(2);
    expect(s2.rows.untrained).toBe(0);
    const v2 = readModelDir(join(dataDir, 'versions', s2.modelVersion, 'float'));
    expect(cosine(row(v2.weights.items, vocab.length), row(v1.weights.items, vocab.length))).toBeLessThan(1 - 1e-6);
  }, 60_000);
});
