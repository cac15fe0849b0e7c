import { expect, test, type Page } from '@playwright/test';
import { viewProducts } from './helpers';

const HISTORY = ['22578', '22577', '22086'];
const SLOTS = 500;
const LOADS = 5;

/** Records, per long animation frame, the script time of the SDK's own files. */
async function observeSdkFrames(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __sdkFrames: number[] };
    w.__sdkFrames = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as Array<PerformanceEntry & { scripts: Array<{ sourceURL: string; duration: number }> }>) {
        const sdk = e.scripts.filter((s) => s.sourceURL.includes('edge-personalize')).reduce((a, s) => a + s.duration, 0);
        if (sdk > 0) w.__sdkFrames.push(sdk);
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  });
}

test.describe('a big page (500 slots × 12 items)', () => {
  test("no frame holds 50 ms of the SDK's script, at the first rank or at a re-rank, and every slot is shown", async ({ page }) => {
    await viewProducts(page, HISTORY);
    await observeSdkFrames(page);
    const worst: number[] = [];
    for (let load = 0; load < LOADS; load++) {
      // The longest deadline (1 s): every slot's rank is applied (this test is about frames).
      await page.goto(`/big-page.html?slots=${SLOTS}&deadline=1000&timeout=1000&autoTrack=false`);
      await page.waitForFunction((n) => (window as unknown as { __ranked: unknown[] }).__ranked.length >= n, SLOTS, {
        timeout: 30_000,
        polling: 100, // not every frame: the test's own polling stays out of the frames it measures
      });
      // An interaction: every shown slot off screen (~490) is ranked again.
      const before = await page.$eval('#s499', (el) => el.textContent);
      await page.evaluate(async () => {
        const sdk = (window as unknown as { edgePersonalize: { track(t: string, p: unknown): void; rank(): Promise<void> } })
          .edgePersonalize;
        for (const itemId of ['22961', '22960', '22666']) sdk.track('view', { itemId });
        await sdk.rank();
      });
      await page.waitForTimeout(400); // the last frames' entries
      const after = await page.$eval('#s499', (el) => el.textContent);
      const r = await page.evaluate(() => {
        const w = window as unknown as { __sdkFrames: number[]; __ranked: Array<{ reordered: boolean }>; __uncaught: string[] };
        return {
          frames: w.__sdkFrames,
          shown: document.querySelectorAll('[data-personalize-slot][data-personalize-shown]').length,
          reordered: w.__ranked.filter((x) => x.reordered).length,
          uncaught: w.__uncaught,
        };
      });
      console.log(`load ${load}: ${r.reordered} of ${SLOTS} reordered; SDK script in each long frame (ms): ${r.frames.map(Math.round)}`);
      expect(r.shown).toBe(SLOTS);
      expect(r.reordered).toBeGreaterThan(0); // the history reorders these items: the ranks were applied
      expect(r.uncaught).toEqual([]);
      expect(after).not.toBe(before); // the off-screen re-rank was applied too
      worst.push(Math.max(0, ...r.frames));
    }
    // The old code applied every slot in the Worker's reply: 100-160 ms of SDK script in one frame,
    // every load. On this shared machine one load can be preempted, so the median load decides.
    const median = [...worst].sort((a, b) => a - b)[Math.floor(LOADS / 2)]!;
    expect(median, `the longest SDK script time in a frame, per load: ${worst.map(Math.round)}`).toBeLessThan(50);
  });
});

/**
 * Records every move of a slot's children made while the slot was shown and within the viewport
 * (`__visibleMoves`): the one thing the shopper must never see. The shown attribute a slot had
 * at each move is read back from the attribute records that follow it (the SDK moves children,
 * then marks the slot), so a slot ranked while hidden is not counted.
 */
async function watchVisibleMoves(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __visibleMoves: string[] };
    w.__visibleMoves = [];
    const shown = 'data-personalize-shown';
    new MutationObserver((records) => {
      const before = new Map<Element, string | null>();
      for (let i = records.length - 1; i >= 0; i--) {
        const r = records[i]!;
        const slot = r.target as Element;
        if (r.type === 'attributes') before.set(slot, r.oldValue);
        else if (slot.hasAttribute('data-personalize-slot')) {
          const value = before.has(slot) ? before.get(slot)! : slot.getAttribute(shown);
          const box = slot.getBoundingClientRect();
          if (value !== null && box.bottom > 0 && box.top < innerHeight) w.__visibleMoves.push(`${slot.id} (${value})`);
        }
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: [shown], attributeOldValue: true });
  });
}

test.describe('a big page whose Worker can rank only after the deadline (model.json 1.5 s late)', () => {
  type Ranked = { slot: string; reordered: boolean; kept: string | null };
  const load = async (page: Page, scrollY: number | null) => {
    // A new URL each load: the model is not in Cache Storage under it, so it comes late every time.
    await page.goto(`/big-page.html?slots=${SLOTS}&deadline=600&timeout=600&autoTrack=false&model=/slow-model/online-retail/model.json`);
    // Below the first viewport and its 200 px margin when the deadline passed.
    const below = await page.$$eval('[data-personalize-slot]', (slots) =>
      slots.filter((s) => s.getBoundingClientRect().top > innerHeight + 250).map((s) => s.id),
    );
    await page.waitForFunction(() => (window as unknown as { __ranked: unknown[] }).__ranked.length > 0, null, { timeout: 30_000 });
    const deferred = await page.$$eval('[data-personalize-shown="deferred"]', (s) => s.length);
    if (scrollY !== null) await page.evaluate((y) => window.scrollTo(0, y), scrollY);
    await page.waitForFunction((n) => (window as unknown as { __ranked: unknown[] }).__ranked.length >= n, SLOTS, { timeout: 30_000 });
    const r = await page.evaluate(() => {
      const w = window as unknown as { __ranked: Ranked[]; __visibleMoves: string[]; __uncaught: string[] };
      const inView = Array.from(document.querySelectorAll('[data-personalize-slot]'))
        .filter((s) => s.getBoundingClientRect().bottom > 0 && s.getBoundingClientRect().top < innerHeight)
        .map((s) => s.id);
      return { ranked: w.__ranked, moves: w.__visibleMoves, uncaught: w.__uncaught, inView };
    });
    const of = (ids: string[]) => r.ranked.filter((x) => ids.includes(x.slot));
    return { ...r, below, deferred, of };
  };

  test('the first viewport keeps the page order at its deadline; the slots below are ranked before they are seen', async ({ page }) => {
    await viewProducts(page, HISTORY);
    await watchVisibleMoves(page);
    const r = await load(page, null);
    console.log(
      `deferred at the deadline: ${r.deferred}; below the viewport: ${r.below.length}, of them reordered ` +
        `${r.of(r.below).filter((x) => x.reordered).length}; kept 'timeout': ${r.ranked.filter((x) => x.kept === 'timeout').length}`,
    );
    expect(r.uncaught).toEqual([]);
    expect(r.deferred).toBeGreaterThan(300); // most of the 500 were off screen, shown at the deadline
    // In view at the deadline: shown in the page's order, never moved afterwards.
    expect(r.of(r.inView).map((x) => x.kept)).toEqual(r.inView.map(() => 'timeout'));
    expect(r.moves).toEqual([]);
    // Off screen: none lost to the deadline, and the ranks were applied (the history reorders these items).
    expect(r.of(r.below).filter((x) => x.kept === 'timeout')).toEqual([]);
    expect(r.of(r.below).filter((x) => x.reordered).length).toBeGreaterThan(r.below.length / 2);
  });

  test('a slot scrolled into view before its rank keeps the page order and never moves in view', async ({ page }) => {
    await viewProducts(page, HISTORY);
    await watchVisibleMoves(page);
    // Right after the deadline, long before the model comes: the shopper jumps down the page.
    const r = await load(page, 6000);
    console.log(`in view after the scroll: ${r.inView.join(' ')}; kept: ${[...new Set(r.of(r.inView).map((x) => x.kept))]}`);
    expect(r.uncaught).toEqual([]);
    expect(r.inView.length).toBeGreaterThan(5);
    expect(r.of(r.inView).map((x) => x.kept)).toEqual(r.inView.map(() => 'timeout'));
    expect(r.moves).toEqual([]);
  });
});
