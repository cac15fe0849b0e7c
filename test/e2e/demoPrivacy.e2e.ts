/**
 * The demo shop's privacy controls in real Chromium: the consent banner, `/privacy` (what is
 * stored, what was uploaded, download, erase, the choice) and "Why this item?" on the home page.
 * The shop's default consent is `pending`, so every test starts as a new visitor.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { catalogue, sdkStatus, SHOP, watchErrors } from './demoShop';
import { allIndexedDb } from './helpers';

const CATEGORY = 'christmas';

test.describe.configure({ timeout: 30_000 });

/** Paths the context's pages and their Workers request, in order. */
function watchRequests(context: BrowserContext): string[] {
  const paths: string[] = [];
  context.on('request', (r) => paths.push(new URL(r.url()).pathname));
  return paths;
}

/** What only a running personalization fetches: the Worker script and the model. */
const personalizationRequests = (paths: string[]): string[] =>
  paths.filter((p) => p === '/sdk/edge-personalize.worker.js' || p.startsWith('/models/'));

/** The first `count` products of a category page, in the server's order. */
async function categoryProducts(page: Page, slug: string, count: number): Promise<string[]> {
  const body = await (await page.request.get(`${SHOP}/category/${slug}`)).text();
  return [...body.matchAll(/data-personalize-item="([^"]+)"/g)].map((m) => m[1]!).slice(0, count);
}

/** Opens each product page and waits until its view is in the session (leaving earlier could lose it). */
async function viewProducts(page: Page, ids: string[]): Promise<void> {
  for (const id of ids) {
    await page.goto(`${SHOP}/product/${id}`);
    await expect.poll(async () => (await sdkStatus(page))?.worker?.session?.items ?? [], { timeout: 10_000 }).toContain(id);
  }
}

const banner = (page: Page) => page.locator('[data-consent-banner]');
const privacy = (page: Page, part: string) => page.locator(`[data-privacy="${part}"]`);
/** The privacy page's own Allow / Deny (the banner has an "Allow" too). */
const choice = (page: Page, name: 'Allow' | 'Deny') => page.locator('.privacy-section').getByRole('button', { name, exact: true });

test('a new visitor sees the banner; without a choice nothing is stored and nothing is fetched', async ({ page, context }) => {
  const problems = watchErrors(page);
  const requests = watchRequests(context);
  const [first] = await categoryProducts(page, CATEGORY, 1);

  await page.goto(`${SHOP}/`);
  await expect(banner(page)).toBeVisible();
  await expect(banner(page)).toContainText('Personalize this shop on your device? Nothing you do leaves your browser.');
  await expect(banner(page).getByRole('link', { name: /Learn more/ })).toHaveAttribute('href', '/privacy');
  // Fixed, so showing and hiding it never moves the page.
  expect(await banner(page).evaluate((el) => getComputedStyle(el).position)).toBe('fixed');

  // Browse as a shopper would, without answering: a product page (a view), a tile click, the cart.
  await page.goto(`${SHOP}/product/${first}`);
  await expect(banner(page)).toBeVisible();
  await page.locator('[data-personalize-slot="also-like"] > li').first().locator('a').click();
  await page.waitForURL((url) => url.pathname.startsWith('/product/') && !url.pathname.endsWith(`/${first}`));
  await page.goto(`${SHOP}/privacy`);
  await expect(privacy(page, 'verdict')).toContainText('You have not chosen yet: personalization is off');
  await expect(privacy(page, 'consent')).toContainText("the shop's default");
  await expect(privacy(page, 'event-count')).toHaveText('0');
  await expect(privacy(page, 'uploads')).toContainText('No model updates uploaded');

  const status = await sdkStatus(page);
  expect(status.consent).toMatchObject({ state: 'pending', source: 'site' });
  expect(status.worker).toBeNull();
  expect(await page.evaluate(() => indexedDB.databases())).toEqual([]);
  expect(personalizationRequests(requests)).toEqual([]);
  expect(problems).toEqual([]);
});

test('Allow, then three products of one category: /privacy lists them and "Why this item?" names them', async ({ page }) => {
  const problems = watchErrors(page);
  const names = await catalogue(page);
  const viewed = await categoryProducts(page, CATEGORY, 3);

  await page.goto(`${SHOP}/`);
  await banner(page).getByRole('button', { name: 'Allow' }).click();
  await expect(banner(page)).toBeHidden();
  await expect.poll(async () => (await sdkStatus(page))?.consent).toMatchObject({ state: 'granted', source: 'shopper' });
  await viewProducts(page, viewed);
  await expect(banner(page)).toBeHidden(); // remembered on the next pages

  await page.goto(`${SHOP}/privacy`);
  await expect(privacy(page, 'verdict')).toContainText('Personalization is on');
  await expect(privacy(page, 'event-count')).toHaveText('3');
  await expect(privacy(page, 'session-count')).toHaveText('1');
  await expect(privacy(page, 'by-type')).toHaveText('3 view');
  const rows = privacy(page, 'events').locator('tbody tr');
  await expect(rows).toHaveCount(3);
  // Newest first, by name, with the type and a shortened session id.
  for (const [i, id] of [...viewed].reverse().entries()) {
    await expect(rows.nth(i)).toContainText(names[id]![0]);
    await expect(rows.nth(i).locator('td').nth(1)).toHaveText('view');
    await expect(rows.nth(i).locator('td').nth(3)).toHaveText(/^.{1,8}…?$/);
  }
  await expect(privacy(page, 'uploads')).toContainText('No model updates uploaded yet');

  // "Why this item?" on the home page: ask the visible tiles until one was raised by the views.
  await page.goto(`${SHOP}/`);
  await expect.poll(async () => (await sdkStatus(page))?.worker?.ready, { timeout: 15_000 }).toBe(true);
  const slot = page.locator('[data-personalize-slot="recommended"]');
  await expect(slot).toHaveAttribute('data-personalize-shown', /.+/);
  const visible = await slot.evaluate((el) =>
    Array.from(el.children)
      .filter((c) => getComputedStyle(c).display !== 'none')
      .map((c) => c.getAttribute('data-personalize-item')!),
  );
  let because = '';
  for (const id of visible) {
    const tile = slot.locator(`:scope > [data-personalize-item="${id}"]`);
    const box = await tile.boundingBox();
    await tile.getByRole('button', { name: 'Why this item?' }).click();
    const note = tile.locator('.why-note');
    await expect(note).toHaveText(/^(Because you viewed|Popular in the shop)/);
    expect(await tile.boundingBox(), 'the note must not resize the tile').toEqual(box);
    const text = (await note.textContent())!;
    if (text.startsWith('Because you viewed: ')) {
      because = text;
      break;
    }
  }
  expect(viewed.filter((id) => because.includes(names[id]![0])).length, because).toBeGreaterThan(0);
  // Asking "why" is not interest in the product: no click was recorded, and no navigation happened.
  await page.waitForTimeout(300);
  expect((await sdkStatus(page)).worker.storedEvents).toBe(3);
  expect(new URL(page.url()).pathname).toBe('/');
  expect(problems).toEqual([]);
});

test('Download gives the events as JSON; Erase leaves 0 events and no record in IndexedDB', async ({ page }) => {
  const problems = watchErrors(page);
  const viewed = await categoryProducts(page, CATEGORY, 2);

  await page.goto(`${SHOP}/privacy`);
  await choice(page, 'Allow').click();
  await expect(privacy(page, 'verdict')).toContainText('Personalization is on');
  await expect(choice(page, 'Allow')).toHaveAttribute('aria-pressed', 'true');
  await viewProducts(page, viewed);
  await page.goto(`${SHOP}/privacy`);
  await expect(privacy(page, 'event-count')).toHaveText('2');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data (JSON)' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('edge-personalize-data.json');
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8'));
  expect(exported.format).toBe('edge-personalize.export');
  expect(exported.indexedDB.events.map((e: { type: string; itemId: string }) => [e.type, e.itemId])).toEqual(
    viewed.map((id) => ['view', id]),
  );
  expect(exported.indexedDB.sessions).toHaveLength(1);
  expect(exported.webStorage['edge-personalize.consent']).toMatchObject({ state: 'granted' });
  await expect(privacy(page, 'action-status')).toContainText('Downloaded 2 events');

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Erase everything' }).click();
  await expect(privacy(page, 'action-status')).toHaveText('Erased: nothing is stored on this device now.');
  await expect(privacy(page, 'event-count')).toHaveText('0');
  await expect(privacy(page, 'session-count')).toHaveText('0');
  await expect(privacy(page, 'events').locator('tbody')).toHaveText('No events stored on this device.');
  const left = await allIndexedDb(page);
  for (const [db, stores] of Object.entries(left))
    for (const [store, records] of Object.entries(stores)) expect(records, `${db}/${store}`).toEqual([]);
  // The choice was erased too: back to the shop's default, and the banner asks again.
  expect(await page.evaluate(() => localStorage.getItem('edge-personalize.consent'))).toBeNull();
  await expect(privacy(page, 'verdict')).toContainText('You have not chosen yet');
  await expect(banner(page)).toBeVisible();
  expect(problems).toEqual([]);
});

test('with Global Privacy Control, Allow does not enable tracking and /privacy says why', async ({ page, context }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  const problems = watchErrors(page);
  const requests = watchRequests(context);
  const [id] = await categoryProducts(page, CATEGORY, 1);

  await page.goto(`${SHOP}/privacy`);
  await expect(privacy(page, 'verdict')).toContainText('Your browser sends Global Privacy Control: personalization is off');
  await expect(banner(page)).toBeHidden(); // the browser has answered already
  await choice(page, 'Allow').click();
  await expect(privacy(page, 'verdict')).toContainText('your "Allow" is remembered, but your browser\'s signal wins');
  await expect(privacy(page, 'consent')).toContainText('Global Privacy Control, sent by your browser');
  expect((await sdkStatus(page)).consent).toMatchObject({ state: 'denied', source: 'gpc' });

  await page.goto(`${SHOP}/product/${id}`);
  await expect.poll(async () => (await sdkStatus(page))?.consent.state).toBe('denied');
  await page.waitForTimeout(500);
  expect((await sdkStatus(page)).worker).toBeNull();
  expect(await page.evaluate(() => indexedDB.databases())).toEqual([]);
  expect(personalizationRequests(requests)).toEqual([]);
  expect(problems).toEqual([]);
});

test('the upload log, once the SDK reports one, is listed with sizes and ε (as text)', async ({ page }) => {
  // Stand in for `status().worker.federated` with two uploads (one with hostile text), on a shopper
  // who allowed personalization (the Worker runs); the real upload path is demoFederated.e2e.ts.
  await page.addInitScript(() => localStorage.setItem('edge-personalize.consent', JSON.stringify({ state: 'granted', at: Date.now() })));
  const problems = watchErrors(page);
  await page.goto(`${SHOP}/privacy`);
  await expect(privacy(page, 'uploads')).toContainText('No model updates uploaded');
  await page.evaluate(() => {
    const sdk = (window as any).edgePersonalize;
    const real = sdk.status.bind(sdk);
    const uploads = [
      {
        at: Date.UTC(2026, 0, 2, 10, 0),
        modelVersion: 'online-retail-3',
        roundId: 'r-41',
        bytes: 18432,
        clipNorm: 1,
        noiseStd: 0.8,
        epsilon: 1.25,
      },
      {
        at: Date.UTC(2026, 0, 3, 10, 0),
        modelVersion: '<img src=x onerror=alert(1)>',
        roundId: 'r-42',
        bytes: 18500,
        clipNorm: 1,
        noiseStd: 0.8,
        epsilon: null,
      },
    ];
    sdk.status = async () => {
      const st = await real();
      return { ...st, worker: st.worker && { ...st.worker, federated: { uploads } } };
    };
    window.dispatchEvent(new Event('edge-personalize:consent')); // the page re-reads on this event
  });
  const rows = privacy(page, 'uploads').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(privacy(page, 'uploads').locator('caption')).toHaveText('2 model updates sent from this browser, newest first');
  await expect(rows.nth(0).locator('td')).toHaveText([
    /2026/,
    '<img src=x onerror=alert(1)>',
    'r-42',
    '18,500 bytes',
    '1.00',
    '0.800',
    'round still open',
  ]);
  await expect(rows.nth(1).locator('td').nth(6)).toHaveText('1.25');
  await expect(privacy(page, 'uploads').locator('img')).toHaveCount(0);
  expect(problems).toEqual([]);
});
