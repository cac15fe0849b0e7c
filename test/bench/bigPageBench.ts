/**
 * The SDK on a big page (`npm run bench`, or alone: `npm run bench -- --only big-page`): the
 * generated fixture `big-page.html` with 500 and 2,000 slots of 12 items, a returning shopper
 * (history viewed, model in Cache Storage), the default 300 ms deadline, 10 loads each
 * (`--big-loads N`). Printed per size, from the Long Animation Frames API:
 * - SDK frames: long animation frames (≥ 50 ms, the API's threshold) with a script from the SDK's
 *   files (`sourceURL` contains `edge-personalize`); how many reach 50 ms of the SDK's own script
 *   time, and the longest frame and the longest SDK script time in one frame;
 * - slots that missed their deadline (shown in the page's order, `kept: 'timeout'`), per load.
 * A frame's duration includes the page's own work and rendering in it (a busy machine inflates
 * it); the SDK's script time is what the SDK controls.
 */
import type { Browser, Page } from '@playwright/test';

const HISTORY = ['22578', '22577', '22086'];

type Sdk = { status(): Promise<any> };

interface LoadResult {
  /** Durations (ms) of long animation frames that ran SDK script. */
  sdkFrames: number[];
  /** SDK script time (ms) in each of those frames. */
  sdkScript: number[];
  missed: number;
  decidedMs: number;
}

/** Records long animation frames with their script attribution, from the first script on. */
async function observeFrames(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __loafs: Array<{ duration: number; sdk: number }> };
    w.__loafs = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as Array<PerformanceEntry & { scripts: Array<{ sourceURL: string; duration: number }> }>) {
          const sdk = e.scripts.filter((s) => s.sourceURL.includes('edge-personalize'));
          if (sdk.length > 0) w.__loafs.push({ duration: e.duration, sdk: sdk.reduce((a, s) => a + s.duration, 0) });
        }
      }).observe({ type: 'long-animation-frame', buffered: true });
    } catch {
      /* no LoAF: nothing recorded, reported as such */
    }
  });
}

async function status(page: Page): Promise<any> {
  await page.waitForFunction(() => typeof (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status === 'function');
  return page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status());
}

async function viewHistory(page: Page): Promise<void> {
  for (const id of HISTORY) {
    await page.goto(`/product.html?id=${id}`);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await status(page)).worker?.session?.items.at(-1) !== id) await page.waitForTimeout(20);
  }
}

async function load(page: Page, slots: number): Promise<LoadResult> {
  await page.goto(`/big-page.html?slots=${slots}&timeout=300&autoTrack=false`);
  await page.waitForFunction((n) => (window as unknown as { __ranked: unknown[] }).__ranked.length >= n, slots, {
    timeout: 60_000,
    polling: 100,
  });
  await page.waitForTimeout(400); // the last frames' entries
  return page.evaluate(() => {
    const w = window as unknown as {
      __loafs: Array<{ duration: number; sdk: number }>;
      __ranked: Array<{ kept: string | null; at: number }>;
    };
    const dcl = (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventStart;
    return {
      sdkFrames: w.__loafs.map((l) => l.duration),
      sdkScript: w.__loafs.map((l) => l.sdk),
      missed: w.__ranked.filter((r) => r.kept === 'timeout').length,
      decidedMs: Math.max(...w.__ranked.map((r) => r.at)) - dcl,
    };
  });
}

const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);

/** Prints the big-page figures (see the file comment). `baseURL` serves the e2e pages and `dist/`. */
export async function benchBigPage(browser: Browser, baseURL: string, loads = 10): Promise<void> {
  console.log(`\n4. Big pages (big-page.html, 12 items a slot, model cached, 300 ms deadline, ${loads} loads each)`);
  for (const slots of [500, 2000]) {
    const ctx = await browser.newContext({ baseURL, viewport: { width: 1000, height: 700 } });
    const page = await ctx.newPage();
    await viewHistory(page);
    await observeFrames(page);
    const runs: LoadResult[] = [];
    for (let i = 0; i < loads; i++) runs.push(await load(page, slots));
    await ctx.close();
    const frames = runs.flatMap((r) => r.sdkFrames);
    const script = runs.flatMap((r) => r.sdkScript);
    const missed = runs.map((r) => r.missed);
    console.log(`   ${slots} slots`);
    console.log(
      `     SDK frames ≥ 50 ms: ${frames.length} (of them with ≥ 50 ms of SDK script: ${script.filter((s) => s >= 50).length}); ` +
        `longest SDK frame ${max(frames).toFixed(0)} ms, longest SDK script time in one frame ${max(script).toFixed(0)} ms`,
    );
    console.log(
      `     slots that missed their deadline: ${missed.map((m) => `${m} of ${slots}`).join(', ')} (total ${missed.reduce((a, b) => a + b, 0)})`,
    );
    console.log(`     all slots decided (ms after DOMContentLoaded): ${runs.map((r) => r.decidedMs.toFixed(0)).join(', ')}`);
  }
}
