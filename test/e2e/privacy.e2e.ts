import { expect, test, type Page } from '@playwright/test';
import { allIndexedDb, record, status, viewProducts, waitReady, waitSlotDecided } from './helpers';

type Sdk = {
  consent(s: string): void;
  track(t: string, p: unknown): void;
  exportData(): Promise<{ indexedDB: Record<string, unknown[]>; webStorage: Record<string, unknown> }>;
  eraseData(): Promise<void>;
  explain(id: string): Promise<{ influences: Array<{ itemId: string; influence: number }> } | null>;
  status(): Promise<any>;
};
const sdk = (page: Page) => page.evaluateHandle(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize);

/** Requests the page (and its Workers) make after `since`, except the page's own HTML, CSS and the fixture glue. */
function watchRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(new URL(r.url()).pathname));
  return urls;
}

test.describe('consent', () => {
  for (const [label, query, init] of [
    ['pending', 'consent=pending', null],
    ['denied', 'consent=denied', null],
    [
      'granted by the site but GPC on',
      'consent=granted',
      () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }),
    ],
    [
      'granted by the site but DNT on',
      'consent=granted',
      () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }),
    ],
  ] as const) {
    test(`${label}: nothing stored, no request beyond the page, no Worker`, async ({ page }) => {
      if (init) await page.addInitScript(init);
      const requests = watchRequests(page);
      await page.goto(`/recs.html?${query}`);
      await waitSlotDecided(page);
      await page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.track('view', { itemId: '22086' }));
      await page.click('#recs [data-personalize-item="22961"]', { modifiers: ['Alt'], trial: false }).catch(() => undefined);
      await page.waitForTimeout(500);
      expect(await allIndexedDb(page)).toEqual({});
      const sdkRequests = requests.filter(
        (p) => !/^\/(recs|product)\.html$|^\/fixture\.(js|css)$|^\/dist\/edge-personalize\.js$|^\/favicon\.ico$/.test(p),
      );
      expect(sdkRequests).toEqual([]);
      const s = await status(page);
      expect(s.worker).toBeNull();
      expect(s.consent.state).toBe(label.startsWith('pending') ? 'pending' : 'denied');
      expect((await record(page)).ranked[0]).toMatchObject({ reordered: false, kept: 'no_consent' });
    });
  }

  test('granting starts tracking; denying later stops it at once and is remembered', async ({ page }) => {
    await page.goto('/recs.html?consent=pending&autoTrack=false');
    await waitSlotDecided(page);
    const changes: string[] = [];
    await page.exposeFunction('__consentChanged', (state: string) => changes.push(state));
    await page.evaluate(() =>
      window.addEventListener('edge-personalize:consent', (e) =>
        (window as unknown as { __consentChanged(s: string): void }).__consentChanged((e as CustomEvent<{ state: string }>).detail.state),
      ),
    );
    await (await sdk(page)).evaluate((s) => s.consent('granted'));
    await waitReady(page);
    await (await sdk(page)).evaluate((s) => s.track('view', { itemId: '22086' }));
    await expect.poll(async () => (await status(page)).worker?.storedEvents).toBe(1);
    await (await sdk(page)).evaluate((s) => s.consent('denied'));
    expect((await status(page)).worker).toBeNull();
    await (await sdk(page)).evaluate((s) => s.track('view', { itemId: '22910' }));
    await page.waitForTimeout(300);
    const events = (await allIndexedDb(page))['edge-personalize']!['events']!;
    expect(events).toHaveLength(1);
    expect(changes).toEqual(['granted', 'denied']);
    // The choice is remembered: the next page starts denied although the site's default is pending.
    await page.goto('/recs.html?consent=pending');
    expect((await status(page)).consent).toMatchObject({ state: 'denied', source: 'shopper' });
  });
});

test.describe('shopper rights', () => {
  test('exportData returns every stored event; eraseData leaves nothing and resets the ranking', async ({ page }) => {
    const viewed = ['22578', '22577', '22086'];
    await viewProducts(page, viewed);
    await page.goto('/recs.html?autoTrack=false');
    await waitReady(page);
    await (await sdk(page)).evaluate((s) => s.track('add_to_cart', { itemId: '22086', quantity: 2 }));
    await expect.poll(async () => (await status(page)).worker.storedEvents).toBe(4);

    const exported = await (await sdk(page)).evaluate((s) => s.exportData());
    const events = exported.indexedDB['events'] as Array<{ type: string; itemId: string; props?: unknown }>;
    expect(events.map((e) => [e.type, e.itemId])).toEqual([...viewed.map((id) => ['view', id]), ['add_to_cart', '22086']]);
    expect(events[3]!.props).toEqual({ quantity: 2 });
    expect((exported.indexedDB['sessions'] as Array<{ state?: { items: number[] } }>)[0]!.state!.items).toHaveLength(3);
    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported); // plain JSON

    // explain() names items the shopper actually viewed.
    const why = await (await sdk(page)).evaluate((s) => s.explain('22910'));
    expect(why!.influences.map((i) => i.itemId).sort()).toEqual([...viewed].sort());

    await (await sdk(page)).evaluate((s) => s.eraseData());
    const left = await allIndexedDb(page);
    for (const stores of Object.values(left)) for (const records of Object.values(stores)) expect(records).toEqual([]);
    const s = await status(page);
    expect(s.worker.session).toBeNull();
    expect(s.worker.storedEvents).toBe(0);
    expect(
      await page.evaluate(() => [localStorage.getItem('edge-personalize.consent'), sessionStorage.getItem('edge-personalize.pending')]),
    ).toEqual([null, null]);
    await page.reload();
    await waitSlotDecided(page);
    expect((await record(page)).ranked[0]).toMatchObject({ reordered: false, kept: 'no_history' });
  });
});
