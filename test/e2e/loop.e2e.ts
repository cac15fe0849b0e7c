import { expect, test } from '@playwright/test';
import {
  allIndexedDb,
  fixtureItemsByCategory,
  meanPosition,
  record,
  slotCategories,
  slotOrder,
  status,
  viewProducts,
  waitReady,
  waitSlotDecided,
} from './helpers';

// Christmas products of the demo catalogue that are NOT in the recs fixture's slot.
const CHRISTMAS_VIEWS = ['22578', '22577', '22086'];

test.describe('the on-device loop', () => {
  test('viewing one category moves that category up on the next page; events survive a reload', async ({ page }) => {
    await page.goto('/recs.html');
    await waitSlotDecided(page);
    const original = await slotCategories(page);
    expect((await record(page)).ranked[0]!.reordered).toBe(false); // no history yet: page order
    const byCategory = await fixtureItemsByCategory(page);
    expect(byCategory['Christmas']).toHaveLength(3);

    await viewProducts(page, CHRISTMAS_VIEWS);
    await page.goto('/recs.html');
    await waitSlotDecided(page);
    const ranked = await slotCategories(page);
    const r = await record(page);
    expect(r.ranked[0]!.reordered).toBe(true);
    expect(meanPosition(ranked, 'Christmas')).toBeLessThan(meanPosition(original, 'Christmas'));
    expect(ranked.slice(1, 4).filter((c) => c === 'Christmas').length).toBeGreaterThanOrEqual(2);
    expect(ranked[0]).toBe('pinned'); // the pinned promo never moves
    expect(r.errors).toEqual([]);
    expect(r.uncaught).toEqual([]);

    await page.reload();
    const s = await waitReady(page);
    expect(s.worker.storedEvents).toBe(CHRISTMAS_VIEWS.length);
    expect(s.worker.session.items).toEqual(CHRISTMAS_VIEWS);
    expect(s.worker.timings.modelSource).toBe('cache');
  });

  test('auto picks wasm on software WebGL and says why; forced webgl, wasm and cpu rank identically', async ({ page }) => {
    // Nothing on the console from the SDK or tfjs on any backend (the favicon's 404 is the page's).
    const consoleLines: string[] = [];
    page.on('console', (m) => {
      if (!/favicon|Failed to load resource/.test(m.text() + (m.location().url ?? ''))) consoleLines.push(`${m.type()}: ${m.text()}`);
    });
    page.on('worker', (w) => w.on('console', (m) => consoleLines.push(`worker ${m.type()}: ${m.text()}`)));
    await viewProducts(page, CHRISTMAS_VIEWS);
    await page.goto('/recs.html');
    const auto = await waitReady(page);
    expect(auto.worker.backend.name).toBe('wasm');
    expect(auto.worker.backend.reason).toMatch(/software/i);
    expect(auto.worker.backend.webglRenderer).toMatch(/SwiftShader/i);

    // Each backend ranks a slot added after the model is ready (the MutationObserver path), so a
    // slow backend start (WebGL on SwiftShader) cannot hit the first slot's deadline.
    const ids = (await slotOrder(page)).filter((id): id is string => id !== null);
    const orders: Record<string, Array<string | null>> = {};
    const picks: Record<string, string[]> = {};
    for (const backend of ['webgl', 'wasm', 'cpu']) {
      await page.goto(`/recs.html?backend=${backend}`);
      const s = await waitReady(page);
      expect(s.worker.backend.name).toBe(backend);
      expect(s.worker.backend.reason).toContain('forced');
      // Warm the backend first (WebGL compiles its shaders on first use, seconds on SwiftShader).
      picks[backend] = await page.evaluate(async () =>
        (
          await (
            window as unknown as { edgePersonalize: { topPicks(n: number): Promise<Array<{ itemId: string }>> } }
          ).edgePersonalize.topPicks(10)
        ).map((p) => p.itemId),
      );
      await page.evaluate((ids) => {
        const slot = document.createElement('div');
        slot.id = 'late';
        slot.setAttribute('data-personalize-slot', 'late');
        for (const id of [...ids].sort()) {
          const tile = document.createElement('div');
          tile.setAttribute('data-personalize-item', id);
          slot.appendChild(tile);
        }
        document.body.appendChild(slot);
      }, ids);
      await waitSlotDecided(page, 'late');
      expect((await record(page)).ranked.find((r) => r.slot === 'late')).toMatchObject({ reordered: true });
      orders[backend] = await slotOrder(page, '#late');
    }
    expect(orders['webgl']!.slice(0, 8)).toEqual(orders['wasm']!.slice(0, 8));
    expect(orders['cpu']!.slice(0, 8)).toEqual(orders['wasm']!.slice(0, 8));
    expect(picks['webgl']).toEqual(picks['wasm']);
    expect(picks['cpu']).toEqual(picks['wasm']);
    expect(consoleLines).toEqual([]);
  });

  test('calls queued before the SDK arrives replay in order; a bad call is reported, never thrown', async ({ page }) => {
    await page.addInitScript(() => {
      // Runs before the page's scripts: calls queued even before the snippet (which keeps an
      // existing queue) and before the page's init.
      (window as unknown as { edgePersonalize: unknown[] }).edgePersonalize = [
        ['track', 'view', { itemId: '22086' }],
        ['track', 'bogus_type', { itemId: '22910' }],
        ['track', 'view', { itemId: '22910' }],
        ['track', 'view', { itemId: 42 }],
      ];
    });
    await page.goto('/recs.html?autoTrack=false');
    await waitReady(page);
    await expect.poll(async () => (await status(page)).worker.session?.items ?? []).toEqual(['22086', '22910']);
    const r = await record(page);
    expect(r.errors.some((e) => e.startsWith('InvalidEventError') && e.includes('bogus_type'))).toBe(true);
    expect(r.errors.some((e) => e.startsWith('InvalidEventError') && e.includes('must be a string'))).toBe(true);
    expect(r.uncaught).toEqual([]);
    // Direct calls with nonsense never throw into the page either.
    const threw = await page.evaluate(() => {
      const sdk = (window as unknown as { edgePersonalize: { track(...a: unknown[]): void; push(a: unknown): void } }).edgePersonalize;
      try {
        sdk.track(undefined as unknown as string);
        sdk.track('view', null);
        sdk.track('view', { itemId: 'x'.repeat(1000) });
        sdk.push('not an array');
        return false;
      } catch {
        return true;
      }
    });
    expect(threw).toBe(false);
    expect((await record(page)).errors.length).toBeGreaterThanOrEqual(6);
  });

  test('a click that leaves the page before the Worker has started is not lost', async ({ page }) => {
    // The first page's Worker script arrives late (slow network), so the click cannot reach it.
    let delayed = false;
    await page.route(
      (url) => url.pathname === '/dist/edge-personalize.worker.js',
      async (route) => {
        if (!delayed) {
          delayed = true;
          await new Promise((r) => setTimeout(r, 3000));
        }
        await route.continue().catch(() => undefined);
      },
    );
    await page.goto('/recs.html?timeout=0');
    await waitSlotDecided(page);
    await page.click('#recs [data-personalize-item="22961"]'); // navigates to the product page
    await page.waitForURL(/product\.html/);
    await waitReady(page);
    await expect.poll(async () => (await status(page)).worker.storedEvents).toBe(2);
    const events = (await allIndexedDb(page))['edge-personalize']!['events'] as Array<{ type: string; itemId: string }>;
    expect(events.map((e) => ({ type: e.type, itemId: e.itemId }))).toContainEqual({ type: 'click', itemId: '22961' });
  });

  test('several tabs writing at once lose no event and share one session', async ({ context }) => {
    const tabs = await Promise.all([context.newPage(), context.newPage(), context.newPage()]);
    for (const t of tabs) {
      await t.goto('/recs.html?autoTrack=false');
      await waitReady(t);
    }
    const perTab = 40;
    await Promise.all(
      tabs.map((t, k) =>
        t.evaluate(
          ({ k, perTab }) => {
            const sdk = (window as unknown as { edgePersonalize: { track(t: string, p: unknown): void } }).edgePersonalize;
            for (let i = 0; i < perTab; i++) sdk.track('click', { itemId: `tab${k}-item${i}` });
          },
          { k, perTab },
        ),
      ),
    );
    const total = tabs.length * perTab;
    // Read IndexedDB itself: which sessions the stored events belong to.
    const sessionsOfEvents = async () => {
      const count: Record<string, number> = {};
      for (const e of ((await allIndexedDb(tabs[0]!))['edge-personalize']?.['events'] ?? []) as Array<{ sessionId: string }>)
        count[e.sessionId] = (count[e.sessionId] ?? 0) + 1;
      return count;
    };
    await expect.poll(async () => Object.values(await sessionsOfEvents()).reduce((a, b) => a + b, 0), { timeout: 20_000 }).toBe(total);
    const sessions = await sessionsOfEvents();
    expect(Object.values(sessions)).toEqual([total]);
  });

  test('a model republished under the same URL is used from the next page (cache revalidated in the background)', async ({ page }) => {
    await page.goto('/recs.html');
    let s = await waitReady(page);
    const first = s.worker.modelVersion;
    expect(s.worker.timings.modelSource).toBe('network');
    await page.reload();
    s = await waitReady(page);
    expect(s.worker.timings.modelSource).toBe('cache');
    // The shop publishes another version at the same URL.
    await page.route(
      (url) => url.pathname === '/models/online-retail/model.json',
      async (route) => {
        const res = await route.fetch();
        await route.fulfill({ response: res, json: { ...(await res.json()), modelVersion: 'republished' } });
      },
    );
    await page.reload();
    expect((await waitReady(page)).worker.modelVersion).toBe(first); // this page still runs the cached one
    await expect
      .poll(
        async () => {
          await page.reload();
          return (await waitReady(page)).worker.modelVersion;
        },
        { timeout: 20_000 },
      )
      .toBe('republished');
    expect((await status(page)).worker.timings.modelSource).toBe('network');
  });

  test('retention caps are enforced on write', async ({ page }) => {
    await page.goto('/recs.html?autoTrack=false&maxEvents=5');
    await waitReady(page);
    await page.evaluate(() => {
      const sdk = (window as unknown as { edgePersonalize: { track(t: string, p: unknown): void } }).edgePersonalize;
      for (let i = 0; i < 12; i++) sdk.track('view', { itemId: `item-${i}` });
    });
    await expect.poll(async () => (await status(page)).worker.session?.eventCount).toBe(12);
    expect((await status(page)).worker.storedEvents).toBe(5);
  });
});
