import { expect, type Page } from '@playwright/test';
import { SDK_ERROR_NAMES } from '../../src/errors';

/** What the fixture pages record (see pages/fixture.js). */
export interface FixtureRecord {
  errors: string[];
  ranked: Array<{ slot: string; reordered: boolean; kept: string | null; at: number }>;
  uncaught: string[];
}

/** The page's `edgePersonalize` once the SDK has replaced the snippet's queue. */
type Sdk = {
  status(): Promise<any>;
  track(t: string, p: unknown): void;
  topPicks(n: number): Promise<any[]>;
  rank(): Promise<void>;
  consent(s: string): void;
};

/** What the page saw so far; every error it got through `onError` has a name of the vocabulary (src/errors.ts). */
export async function record(page: Page): Promise<FixtureRecord> {
  const seen = await page.evaluate(() => {
    const w = window as unknown as { __errors: string[]; __ranked: FixtureRecord['ranked']; __uncaught: string[] };
    return { errors: [...w.__errors], ranked: [...w.__ranked], uncaught: [...w.__uncaught] };
  });
  for (const e of seen.errors) expect(SDK_ERROR_NAMES, `onError got "${e}"`).toContain(e.slice(0, e.indexOf(':')));
  return seen;
}

/** Waits until the slot `id` has been decided (ranked or kept). */
export async function waitSlotDecided(page: Page, id = 'recs'): Promise<void> {
  await page.waitForFunction(
    (slot) => (window as unknown as { __ranked: Array<{ slot: string }> }).__ranked.some((r) => r.slot === slot),
    id,
  );
}

export async function status(page: Page): Promise<any> {
  await page.waitForFunction(() => typeof (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status === 'function');
  return page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status());
}

/** Waits for the Worker to be ready (model loaded) and returns the status. */
export async function waitReady(page: Page): Promise<any> {
  await expect.poll(async () => (await status(page)).worker?.ready ?? false, { timeout: 30_000 }).toBe(true);
  return status(page);
}

/** Item ids of the slot's children, in DOM order (null for children without one). */
export async function slotOrder(page: Page, selector = '#recs'): Promise<Array<string | null>> {
  return page.$$eval(`${selector} > *`, (els) => els.map((e) => e.getAttribute('data-personalize-item')));
}

/** Category of each tile of the recs fixture, in DOM order. */
export async function slotCategories(page: Page, selector = '#recs'): Promise<string[]> {
  return page.$$eval(`${selector} > *`, (els) => els.map((e) => e.getAttribute('data-category') ?? 'pinned'));
}

/** Opens product pages one after another; each records a view. Waits until all are stored. */
export async function viewProducts(page: Page, ids: string[]): Promise<void> {
  for (const id of ids) {
    const before = (await status(page).catch(() => null))?.worker?.storedEvents ?? 0;
    await page.goto(`/product.html?id=${encodeURIComponent(id)}`);
    await waitReady(page);
    await expect
      .poll(async () => (await status(page)).worker?.storedEvents ?? 0)
      .toBeGreaterThan(before === 0 ? 0 : Math.min(before, 1) - 1);
    await expect.poll(async () => (await status(page)).worker?.session?.items.at(-1)).toBe(id);
  }
}

/** Mean position (0 = first) of the tiles of `category` among the slot's item tiles. */
export function meanPosition(categories: string[], category: string): number {
  const items = categories.filter((c) => c !== 'pinned');
  const pos = items.flatMap((c, i) => (c === category ? [i] : []));
  return pos.reduce((a, b) => a + b, 0) / pos.length;
}

/** The recs fixture's tiles by category (ids in page order), from the page itself. */
export async function fixtureItemsByCategory(page: Page): Promise<Record<string, string[]>> {
  return page.$$eval('#recs > [data-personalize-item]', (els) => {
    const out: Record<string, string[]> = {};
    for (const e of els) (out[e.getAttribute('data-category')!] ??= []).push(e.getAttribute('data-personalize-item')!);
    return out;
  });
}

/** Every record of every object store of every IndexedDB database of the page's origin. */
export async function allIndexedDb(page: Page): Promise<Record<string, Record<string, unknown[]>>> {
  return page.evaluate(async () => {
    const out: Record<string, Record<string, unknown[]>> = {};
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open(info.name!);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      out[info.name!] = {};
      for (const name of Array.from(db.objectStoreNames)) {
        out[info.name!]![name] = await new Promise<unknown[]>((resolve) => {
          const req = db.transaction(name).objectStore(name).getAll();
          req.onsuccess = () => resolve(req.result);
        });
      }
      db.close();
    }
    return out;
  });
}

/** A request the page or its Worker made, as the network-intercept checks read it. */
export interface SentRequest {
  url: string;
  method: string;
  body: Buffer | null;
  headers: Record<string, string>;
}

/**
 * The proof behind "raw events never leave the device": no request URL or header carries any of
 * `secrets` (item ids, event types, timestamps, session ids of the stored history); the only
 * requests with a body are updates to `updatePath`, whose header has exactly the documented fields
 * and no secret in them, and participation-token requests beside it (a fixed-size blinded message). Page navigations are the shopper's own and are left out by the caller.
 */
export function expectNoHistoryInRequests(sent: SentRequest[], secrets: Set<string>, updatePath: string, secure = false): void {
  // Which secrets a text carries, checked in plain code (one expect per text, not per secret:
  // hundreds of requests × hundreds of secrets took minutes as separate expects).
  const carried = (text: string): string[] => [...secrets].filter((s) => text.includes(s));
  const expectNone = (text: string, what: string): void => expect(carried(text), `${what} carries a secret`).toEqual([]);
  const tokenPath = updatePath.replace(/\/updates$/, '/tokens');
  const all = sent.filter((r) => r.method !== 'GET');
  // Participation-token requests (Privacy Pass): a 259-byte blinded TokenRequest, random-looking
  // by construction (RFC 9578 §6.1: type, key id byte, blinded message), no cookie, no Referer.
  const tokenRequests = all.filter((r) => new URL(r.url).pathname === tokenPath);
  for (const r of tokenRequests) {
    expect(r.headers['content-type']).toBe('application/private-token-request');
    expect(r.headers['cookie'] ?? '').toBe('');
    expect(r.headers['referer'] ?? '').toBe('');
    expect(r.body!.length).toBe(259);
    expect(r.body!.readUInt16BE(0)).toBe(2); // token type 2: blind RSA
    for (const [name, value] of Object.entries(r.headers)) expectNone(value, `header ${name}`);
  }
  const posts = all.filter((r) => !tokenRequests.includes(r));
  expect(posts.length).toBeGreaterThan(0); // the checks below saw an update
  for (const r of sent) expectNone(decodeURIComponent(r.url), r.url);
  for (const r of posts) {
    expect(new URL(r.url).pathname).toBe(updatePath);
    expect(r.headers['content-type']).toBe(
      secure ? 'application/vnd.edge-personalize.secure-report' : 'application/vnd.edge-personalize.update',
    );
    for (const [name, value] of Object.entries(r.headers)) expectNone(value, `header ${name}`);
    expect(r.headers['referer'] ?? '').toBe(''); // sent with referrerPolicy 'no-referrer'
    const body = r.body!;
    expect(body.subarray(0, 4).toString('latin1')).toBe(secure ? 'EPS1' : 'EPU1');
    const header = JSON.parse(body.subarray(8, 8 + body.readUInt32LE(4)).toString('utf8')) as Record<string, unknown>;
    // A secure report: its header, then the sealed seed and the leader's share (random-looking).
    const fields = secure
      ? ['bits', 'clipNorm', 'formatVersion', 'length', 'modelVersion', 'noiseStd', 'reportId', 'roundId', 'step']
      : null;
    if (fields) expect(Object.keys(header).sort()).toEqual(fields);
    else
      expect(Object.keys(header).sort()).toEqual([
        'clipNorm',
        'exampleBucket',
        'formatVersion',
        'modelVersion',
        'noiseStd',
        'nonce',
        'roundId',
        'scales',
      ]);
    for (const value of Object.values(header).flat()) {
      if (typeof value === 'string') expectNone(value, 'a header field');
      else expect(secrets.has(String(value))).toBe(false);
    }
  }
}
