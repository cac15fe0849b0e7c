import { expect, test, type Page } from '@playwright/test';
import { record, slotOrder, status, viewProducts, waitReady, waitSlotDecided } from './helpers';

// Every case first builds a history that WOULD reorder the slot (three Christmas views), then
// breaks one thing: the page must keep its own order, no uncaught error may reach it, and onError
// must receive a named error.
const HISTORY = ['22578', '22577', '22086'];

/** The slot's item order as the server wrote it. */
async function pageOrder(page: Page, path = '/recs.html'): Promise<string[]> {
  const html = await (await page.request.get(path)).text();
  const slot = html.slice(html.indexOf('id="recs"'), html.indexOf('</div>\n', html.indexOf('id="recs"') + 200));
  return [...slot.matchAll(/data-personalize-item="([^"]+)"/g)].map((m) => m[1]!);
}

/** Prepends `code` to the Worker script, so it runs in the Worker before the SDK does. */
async function injectIntoWorker(page: Page, code: string): Promise<void> {
  await page.route(
    (url) => url.pathname === '/dist/edge-personalize.worker.js',
    async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, body: `${code}\n${await res.text()}` });
    },
  );
}

async function expectPageOrderKept(page: Page, errorName: string, path = '/recs.html'): Promise<void> {
  await waitSlotDecided(page);
  await expect.poll(async () => (await record(page)).errors.some((e) => e.startsWith(`${errorName}:`)), { timeout: 15_000 }).toBe(true);
  const r = await record(page);
  expect(r.ranked[0]!.reordered).toBe(false);
  expect((await slotOrder(page)).filter((id) => id !== null)).toEqual(await pageOrder(page, path));
  expect(r.uncaught).toEqual([]);
  // The slot is visible (not stuck hidden).
  expect(await page.$eval('#recs', (el) => getComputedStyle(el).visibility)).toBe('visible');
}

test.describe('hostile environments', () => {
  test.beforeEach(async ({ page }) => {
    await viewProducts(page, HISTORY);
    // Sanity: this history is the session the model reads (the loop tests show it reorders the slot).
    expect((await status(page)).worker.session.items).toEqual(HISTORY);
  });

  test('IndexedDB unavailable', async ({ page }) => {
    await injectIntoWorker(
      page,
      `Object.defineProperty(self, 'indexedDB', { get() { throw new DOMException('The user denied permission to access the database.', 'SecurityError'); } });`,
    );
    await page.goto('/recs.html');
    await expectPageOrderKept(page, 'StorageUnavailableError');
    // Tracking still works for this page, in memory.
    await page.evaluate(() =>
      (window as unknown as { edgePersonalize: { track(t: string, p: unknown): void } }).edgePersonalize.track('view', { itemId: '22086' }),
    );
    await expect.poll(async () => (await status(page)).worker.session?.items).toEqual(['22086']);
  });

  test('Workers blocked', async ({ page }) => {
    await page.addInitScript(() => {
      (window as unknown as { Worker: unknown }).Worker = class {
        constructor() {
          throw new DOMException('Workers are disabled by policy', 'SecurityError');
        }
      };
    });
    await page.goto('/recs.html');
    await expectPageOrderKept(page, 'WorkerUnavailableError');
  });

  test('Worker script missing (404)', async ({ page }) => {
    await page.route(
      (url) => url.pathname === '/dist/edge-personalize.worker.js',
      (route) => route.fulfill({ status: 404, body: 'not found' }),
    );
    await page.goto('/recs.html');
    await expectPageOrderKept(page, 'WorkerUnavailableError');
  });

  test('WebGL unavailable: auto runs on wasm; a forced webgl falls back with a named error', async ({ page }) => {
    await injectIntoWorker(page, `OffscreenCanvas.prototype.getContext = function () { return null; };`);
    await page.goto('/recs.html');
    await waitSlotDecided(page);
    let s = await waitReady(page);
    expect(s.worker.backend.name).toBe('wasm');
    expect(s.worker.backend.reason).toMatch(/WebGL is unavailable/);
    expect((await record(page)).ranked[0]!.reordered).toBe(true);

    await page.goto('/recs.html?backend=webgl');
    await waitSlotDecided(page);
    await expect.poll(async () => (await record(page)).errors.some((e) => e.startsWith('BackendUnavailableError:'))).toBe(true);
    s = await waitReady(page);
    expect(s.worker.backend.name).toBe('wasm');
    expect((await record(page)).uncaught).toEqual([]);
  });

  test('model URL returns 404', async ({ page }) => {
    await page.goto('/recs.html?model=/models/missing/model.json');
    await expectPageOrderKept(page, 'ModelFetchError');
  });

  test('model URL returns garbage', async ({ page }) => {
    await page.route(
      (url) => url.pathname === '/garbage/model.json',
      (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '<html>this is not a model</html>' }),
    );
    await page.goto('/recs.html?model=/garbage/model.json');
    await expectPageOrderKept(page, 'ModelFormatError');
  });

  test('model weights truncated', async ({ page }) => {
    await page.route(
      (url) => url.pathname === '/truncated/model.json',
      async (route) =>
        route.fulfill({
          response: await route.fetch({ url: new URL('/models/online-retail/model.json', route.request().url()).toString() }),
        }),
    );
    await page.route(
      (url) => url.pathname === '/truncated/vocab.txt',
      async (route) =>
        route.fulfill({
          response: await route.fetch({ url: new URL('/models/online-retail/vocab.txt', route.request().url()).toString() }),
        }),
    );
    await page.route(
      (url) => url.pathname === '/truncated/weights.bin',
      (route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.alloc(1000) }),
    );
    await page.goto('/recs.html?model=/truncated/model.json');
    await expectPageOrderKept(page, 'ModelFormatError');
  });

  test('strict CSP forbidding Workers', async ({ page }) => {
    await page.goto('/csp-no-worker.html');
    await expectPageOrderKept(page, 'WorkerUnavailableError', '/csp-no-worker.html');
  });

  test('strict CSP that allows the SDK (nonce, no inline styles, no eval): it personalizes', async ({ page }) => {
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto('/csp-strict.html');
    await waitSlotDecided(page);
    const r = await record(page);
    expect(r.ranked[0]!.reordered).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.uncaught).toEqual([]);
    expect(violations).toEqual([]);
  });

  test('a strict CSP header, the snippet in a file of the site (no nonce): it personalizes, no violation', async ({ page }) => {
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto('/csp-header/csp-external-snippet.html');
    await waitSlotDecided(page);
    const r = await record(page);
    expect(r.ranked[0]!.reordered).toBe(true);
    expect(r.uncaught).toEqual([]);
    expect(violations).toEqual([]);
  });

  test("a strict CSP header without 'wasm-unsafe-eval': the Worker falls back to cpu, ranks, and says so", async ({ page }) => {
    // The page's own meta CSP allows wasm; the header's (which alone reaches the Worker) does not.
    await page.goto('/csp-header/csp-strict.html');
    await waitSlotDecided(page);
    const r = await record(page);
    expect(r.ranked[0]!.reordered).toBe(true);
    expect(r.uncaught).toEqual([]);
    const s = await waitReady(page);
    expect(s.worker.backend.name).toBe('cpu');
    // What failed, then what runs (it used to read "…: using wasm; wasm failed…" while cpu ran).
    expect(s.worker.backend.reason).toMatch(/wasm failed to initialise.*: using cpu$/);
    expect(s.worker.backend.reason).not.toMatch(/using wasm/);
    await expect.poll(async () => (await record(page)).errors.some((e) => e.startsWith('BackendUnavailableError'))).toBe(true);
  });
});
