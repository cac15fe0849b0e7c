import { expect, test, type BrowserContext, type Page, type Request } from '@playwright/test';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readModelDir } from '../../src/node/modelDir';
import { sdkStatus, watchErrors } from './demoShop';
import { expectNoHistoryInRequests, type SentRequest } from './helpers';

/**
 * A product added to the running demo shop after the model was trained (absent from the shipped
 * vocabulary) is ranked by pages after federated rounds, from devices that viewed it. Its own demo
 * server, with rounds of two devices (secure aggregation with the helper, as `npm run demo` runs
 * with more than one device a round), so the shared demo server's catalogue stays as shipped.
 */

const PORT = Number(process.env.E2E_PORT ?? 4873) + 2;
const SHOP = `http://127.0.0.1:${PORT}`;
/** "Bicycle Puncture Repair Kit" (category Other): in the data set's catalogue, not in the model's vocabulary. */
const NEW = '23552';

type StoredEvent = { itemId: string; type: string; at: number; sessionId: string };

let server: ChildProcess;
const dataDir = join(tmpdir(), `edge-personalize-demo-new-${process.pid}-${Date.now()}`);

test.beforeAll(async () => {
  server = spawn('npx', ['tsx', 'demo/serve.ts'], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      FL_DATA_DIR: dataDir,
      FL_ROUND_TARGET: '2',
    },
    // Its own process group: afterAll ends the group it started (npx → tsx → node, and the helper).
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await expect.poll(async () => (await fetch(`${SHOP}/`).catch(() => null))?.status ?? 0, { timeout: 30_000, intervals: [250] }).toBe(200);
});

test.afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((done) => server.once('exit', done));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  for (const dir of [dataDir, `${dataDir}-helper`, `${dataDir}-shop`]) rmSync(dir, { recursive: true, force: true });
});

/** Every request a context's pages and Workers send, but navigations. */
function record(context: BrowserContext, sent: SentRequest[]): void {
  context.on('request', (r: Request) => {
    if (!r.isNavigationRequest()) sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer(), headers: r.headers() });
  });
}

/** Calls `edgePersonalize[method](...args)` in the page. */
function call<T>(page: Page, method: 'contribute' | 'explain' | 'rankItems' | 'exportData', ...args: unknown[]): Promise<T> {
  return page.evaluate(([m, a]) => (window as any).edgePersonalize[m](...a), [method, args] as const) as Promise<T>;
}
const events = async (page: Page): Promise<StoredEvent[]> =>
  (await call<{ indexedDB: { events: StoredEvent[] } }>(page, 'exportData')).indexedDB.events;
const score = async (page: Page, id: string): Promise<number | null> =>
  (await call<{ score: number } | null>(page, 'explain', id))?.score ?? null;
const rank = (page: Page, ids: string[]): Promise<string[]> => call(page, 'rankItems', 'candidates', ids, { timeoutMs: 10_000 });

/**
 * Opens product pages as a patient shopper: waits until each view is stored (also for items the
 * model does not know yet) and the page's own contribution attempt has ended before leaving it.
 * (Leaving a page while its Worker trains spends the round's participation token for nothing, and
 * in the demo every device shares the address 127.0.0.1 and its allowance of one token per device.)
 */
async function view(page: Page, ids: string[]): Promise<void> {
  for (const id of ids) {
    await page.goto(`${SHOP}/product/${encodeURIComponent(id)}`);
    await expect
      .poll(
        async () => {
          const worker = (await sdkStatus(page))?.worker;
          if (!worker?.ready || !worker.federated?.lastResult) return false;
          return (await events(page)).at(-1)?.itemId === id;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
  }
}

/** Calls `contribute()` until the page's upload log holds `count` uploads (failing with the last reason). */
async function contributeUntil(page: Page, count: number): Promise<void> {
  let last: unknown = null;
  for (const end = Date.now() + 60_000; Date.now() < end; await page.waitForTimeout(1000)) {
    last = await call(page, 'contribute');
    if (((await sdkStatus(page))?.worker?.federated?.uploads.length ?? 0) >= count) return;
  }
  throw new Error(`no upload ${count} within 60 s; the last contribute() answered ${JSON.stringify(last)}`);
}

/** Waits until the page runs `version` (contribute() adopts the server's current version first). */
async function adopt(page: Page, version: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await call(page, 'contribute');
        return (await sdkStatus(page))?.worker?.modelVersion;
      },
      { timeout: 30_000, intervals: [1000] },
    )
    .toBe(version);
}

const published = async (): Promise<string> =>
  ((await (await fetch(`${SHOP}/fl/v1/model`)).json()) as { modelVersion: string }).modelVersion;

test('demo shop: a product added while it runs is listed at once and ranked by pages after federated rounds; uploads stay history-free and of one size per round', async ({
  browser,
}) => {
  test.setTimeout(300_000);
  const vocab = readFileSync('models/online-retail/vocab.txt', 'utf8').split('\n');
  expect(vocab).not.toContain(NEW);
  expect((await fetch(`${SHOP}/product/${NEW}`)).status).toBe(404);

  const sent: SentRequest[] = [];
  const contexts = [await browser.newContext(), await browser.newContext()];
  const pages: Page[] = [];
  const problems: string[] = [];
  for (const context of contexts) {
    record(context, sent);
    const page = await context.newPage();
    problems.push(...watchErrors(page));
    await page.goto(`${SHOP}/`);
    await page.getByRole('button', { name: /allow/i }).click();
    await expect.poll(async () => (await sdkStatus(page))?.worker?.ready ?? false, { timeout: 20_000 }).toBe(true);
    pages.push(page);
  }
  const base = await published();

  // Products of the new one's category, from the shop's "Other" page.
  await pages[0]!.goto(`${SHOP}/category/other`);
  const others = await pages[0]!.$$eval('[data-personalize-slot] [data-personalize-item]', (els) => [
    ...new Set(els.map((e) => e.getAttribute('data-personalize-item')!)),
  ]);
  expect(others).not.toContain(NEW);
  const candidates = [NEW, ...others.slice(0, 7)];

  // Before: the page cannot rank it (no row): explain() has nothing, and it keeps the place it was given.
  await view(pages[0]!, others.slice(0, 2));
  expect(await score(pages[0]!, NEW)).toBeNull();
  expect(await score(pages[0]!, others[0]!)).not.toBeNull();
  expect((await rank(pages[0]!, candidates))[0]).toBe(NEW);

  // A web page cannot add products (the route answers the command line only), not even the shop's own.
  const probe = await (await browser.newContext()).newPage();
  await probe.goto(`${SHOP}/privacy`);
  const fromPage = await probe.evaluate(
    async () =>
      (await fetch('/admin/products', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"id":"23498"}' })).status,
  );
  expect(fromPage).toBe(403);
  await probe.context().close();

  // The shop owner adds it with the documented command (`npm run demo:add-product -- --id 23552`).
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'demo/addProduct.ts', '--id', NEW, '--shop', SHOP]);
  expect(stdout).toContain('Bicycle Puncture Repair Kit');
  // Listed at once: its product page, and first on its category's page.
  expect((await fetch(`${SHOP}/product/${NEW}`)).status).toBe(200);
  await pages[0]!.goto(`${SHOP}/category/other`);
  await expect(pages[0]!.locator(`[data-personalize-item="${NEW}"]`).first()).toBeAttached();
  const again = await fetch(`${SHOP}/admin/products`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: NEW }),
  });
  expect(again.status).toBe(409);

  // Round 1 (on the shipped version): both devices view it among products of its category.
  await view(pages[0]!, [NEW, ...others.slice(2, 6)]);
  await view(pages[1]!, [others[3]!, NEW, others[6]!, others[7]!, NEW, others[8]!]);
  for (const page of pages) await contributeUntil(page, 1);
  // The round closes with the second report; its version appends the new product to the vocabulary.
  await expect.poll(published, { timeout: 60_000 }).not.toBe(base);
  const v1 = await published();
  const vocab1 = await (await fetch(`${SHOP}/fl/v1/models/${v1}/vocab.txt`)).text();
  const newRow = vocab1.split('\n').indexOf(NEW);
  expect(newRow).toBe(vocab.filter(Boolean).length); // appended: every shipped item keeps its index

  // Round 2 (on v1) trains the new row first: the round announces it to every device.
  const round2 = (await (await fetch(`${SHOP}/fl/v1/model`)).json()) as { round: { rows?: Array<[number, number]> } };
  expect(round2.round.rows?.some(([from, to]) => from <= newRow && newRow <= to)).toBe(true);
  for (const page of pages) await adopt(page, v1);
  await view(pages[0]!, [others[1]!, NEW, others[4]!, others[5]!, NEW]);
  await view(pages[1]!, [NEW, others[2]!, others[9]!, NEW, others[3]!]);
  for (const page of pages) await contributeUntil(page, 2);
  await expect.poll(published, { timeout: 60_000 }).not.toBe(v1);
  const v2 = await published();
  // Round 2 moved the new product's row (the sum of both devices' updates over it).
  const rowOf = (version: string): Float32Array => {
    const { weights } = readModelDir(join(dataDir, 'versions', version));
    const dim = weights.config.embedDim;
    return weights.items.slice(newRow * dim, (newRow + 1) * dim);
  };
  expect(Array.from(rowOf(v2))).not.toEqual(Array.from(rowOf(v1)));

  // After: both pages run the version of the rounds their devices trained it in, and rank it by its score.
  for (const page of pages) {
    await adopt(page, v2);
    const scores: Array<number | null> = [];
    for (const id of candidates) scores.push(await score(page, id));
    expect(scores.every((s) => typeof s === 'number')).toBe(true);
    const order = await rank(page, candidates);
    const byScore = candidates.map((id, i) => [id, scores[i]!] as const).sort((a, b) => b[1] - a[1]);
    expect(order).toEqual(byScore.map(([id]) => id));
  }

  // Every device's upload in a round has the same byte length (the round fixes the rows and the format).
  const uploads = sent.filter((r) => r.method === 'POST' && new URL(r.url).pathname === '/fl/v1/updates');
  const roundOf = (b: Buffer): string => JSON.parse(b.subarray(8, 8 + b.readUInt32LE(4)).toString('utf8')).roundId;
  const byRound = new Map<string, number[]>();
  for (const u of uploads) byRound.set(roundOf(u.body!), [...(byRound.get(roundOf(u.body!)) ?? []), u.body!.length]);
  expect(byRound.size).toBe(2);
  for (const lengths of byRound.values()) {
    expect(lengths).toHaveLength(2);
    expect(new Set(lengths).size).toBe(1);
  }

  // No request of any page or Worker carries an item id, event type, time or session id.
  const secrets = new Set<string>();
  for (const page of pages) {
    for (const e of await events(page)) for (const s of [e.itemId, e.type, String(e.at), e.sessionId]) secrets.add(s);
  }
  expect(secrets.has(NEW)).toBe(true);
  expectNoHistoryInRequests(sent, secrets, '/fl/v1/updates', true);
  expect(problems).toEqual([]);
  for (const context of contexts) await context.close();
});
