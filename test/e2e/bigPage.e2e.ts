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
