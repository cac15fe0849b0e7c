/**
 * The demo shop's panel and pages as a visitor sees them, at a laptop's 1280×900 and a phone's
 * 390×844: the panel covers none of the page's controls, shows real timings, shows nothing of a
 * history that was erased, and the footer says truthfully what leaves the browser. Screenshots of
 * each page and size are attached to the test (test-results/).
 */
import { expect, test, type Page } from '@playwright/test';
import { sdkStatus, SHOP, watchErrors } from './demoShop';

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('edge-personalize.consent', JSON.stringify({ state: 'granted', at: Date.now() })));
});

/** Every visible link and button of the page (not the panel's own) that the panel hides after scrolling it into view. */
async function coveredControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const covered: string[] = [];
    const panel = document.getElementById('panel')!;
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('a[href], button, input, select'))) {
      if (panel.contains(el) || el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (hit && panel.contains(hit)) covered.push(`${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 40)}"`);
    }
    window.scrollTo(0, 0);
    return covered;
  });
}

for (const viewport of [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
]) {
  test(`at ${viewport.width}×${viewport.height} the panel covers none of the page's controls and shows real timings`, async ({
    page,
  }, testInfo) => {
    await page.setViewportSize(viewport);
    const problems = watchErrors(page);
    const body = await (await page.request.get(`${SHOP}/`)).text();
    const product = body.match(/href="(\/product\/[^"]+)"/)![1]!;
    for (const path of [product, '/', '/privacy', '/cart']) {
      await page.goto(`${SHOP}${path}`);
      await expect.poll(async () => (await sdkStatus(page))?.worker?.ready ?? false, { timeout: 20_000 }).toBe(true);
      await testInfo.attach(`${viewport.width}x${viewport.height}${path.replace(/\W/g, '_')}.png`, {
        body: await page.screenshot(),
        contentType: 'image/png',
      });
      expect(await coveredControls(page), path).toEqual([]);
    }
    // The panel's timings are the Worker's (the "Model load" row used to read "–" always).
    const timings = page.locator('[data-panel="timings"]');
    await expect(timings).toContainText(/Model fetch\s*\d+\.\d/);
    await expect(timings).toContainText(/Model build\s*\d+\.\d/);
    expect(problems).toEqual([]);
  });
}

test('after Erase the panel shows no picks and no session; the footer says what leaves the browser', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  const body = await (await page.request.get(`${SHOP}/`)).text();
  const product = body.match(/href="(\/product\/[^"]+)"/)![1]!;
  await page.goto(`${SHOP}${product}`);
  await page.goto(`${SHOP}/privacy`);
  await expect(page.locator('[data-panel="picks"] li')).not.toHaveCount(0, { timeout: 20_000 });
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Erase everything' }).click();
  await expect(page.locator('[data-panel="summary"]')).toContainText('Personalization off', { timeout: 10_000 });
  await expect(page.locator('[data-panel="picks"] li')).toHaveCount(0);
  await expect(page.locator('[data-panel="session"] li')).toHaveCount(0);
  const footer = page.locator('footer');
  await expect(footer).not.toContainText('sent anywhere');
  await expect(footer).toContainText('uploads clipped, noised model updates (never your events)');
});

test('at 1280 px every category link shows whole (the bar used to stop at "Ga")', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${SHOP}/`);
  const clipped = await page.locator('nav.categories').evaluate((nav) => {
    const box = nav.getBoundingClientRect();
    return Array.from(nav.querySelectorAll('a'))
      .filter((a) => {
        const r = a.getBoundingClientRect();
        return r.left < box.left || r.right > box.right + 0.5 || r.right > window.innerWidth;
      })
      .map((a) => a.textContent);
  });
  expect(clipped).toEqual([]);
  expect(await page.locator('nav.categories a').count()).toBeGreaterThan(10);
});

test('while the Worker starts the panel says so, not "no session, 0 stored"', async ({ page }) => {
  // Hold the model's manifest for two seconds: the Worker is not ready meanwhile.
  await page.route('**/model.json', async (route) => {
    await new Promise((r) => setTimeout(r, 2000));
    await route.continue();
  });
  await page.goto(`${SHOP}/`);
  await expect(page.locator('[data-panel="events"]')).toHaveText("Reading this browser's history…", { timeout: 1500 });
  await expect(page.locator('[data-panel="summary"]')).toContainText('Loading the model');
  await expect(page.locator('[data-panel="events"]')).toContainText('stored in this browser', { timeout: 20_000 });
});

test('the privacy page says "none yet" for ε before any round has closed (not 0.00)', async ({ page }) => {
  // The status of a server that has closed no round (as a fresh one answers: ε 0, no rounds).
  await page.route('**/fl/v1/status', async (route) => {
    const real = await (await route.fetch()).json();
    real.privacy = {
      ...real.privacy,
      rounds: [],
      lastRound: null,
      cumulative: { epsilon: 0, order: 2 },
      cumulativeWithoutSampling: { epsilon: 0, order: 2 },
    };
    await route.fulfill({ json: real });
  });
  await page.goto(`${SHOP}/privacy`);
  const budget = page.locator('[data-privacy="budget"]');
  await expect(budget).toContainText('none yet (no round has closed)');
  const epsilonRows = await budget.evaluate((dl) =>
    Array.from(dl.querySelectorAll('dt'))
      .filter((dt) => dt.textContent!.startsWith('ε'))
      .map((dt) => dt.nextElementSibling!.textContent),
  );
  expect(epsilonRows).toEqual(Array(3).fill('none yet (no round has closed)'));
});

test('the privacy page says how uploads are combined and, per round, which protocol ran and how many devices it summed', async ({
  page,
}) => {
  // A shop whose server runs secure aggregation (the demo's default; the e2e demo runs rounds of
  // one, which cannot be secure): its status as such a server answers it.
  await page.route('**/fl/v1/status', async (route) => {
    const real = await (await route.fetch()).json();
    real.aggregation = { protocol: 'secure', minCohort: 2, bits: 16, step: 0.00015, noiseCohort: 2, helperFailure: null };
    real.privacy = {
      ...real.privacy,
      rounds: [
        { round: 1, version: 'v-r1', protocol: 'secure', updates: 3, noiseMultiplier: 1, epsilon: 7.2 },
        { round: 3, version: 'v-r3', protocol: 'secure', updates: 2, noiseMultiplier: 0.7, epsilon: 9.1 },
      ],
      abandonedRounds: [{ id: 2, reports: 1, reason: 'deadline reached with 1 reports, fewer than the minimum cohort of 2', at: 0 }],
    };
    await route.fulfill({ json: real });
  });
  await page.goto(`${SHOP}/privacy`);
  const budget = page.locator('[data-privacy="budget"]');
  await expect(budget).toContainText('Secure aggregation: each upload is split into two random-looking shares');
  await expect(budget).toContainText('at least 2 uploads');
  await expect(budget).toContainText('secure aggregation, 3 devices summed, published v-r1');
  await expect(budget).toContainText('secure aggregation, 2 devices summed, published v-r3');
  await expect(budget).toContainText('Round 2 (abandoned)nothing published: deadline reached with 1 reports');
});
