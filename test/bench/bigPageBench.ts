/**
 * The SDK on a big page (`npm run bench`, or alone: `npm run bench -- --only big-page`): the
 * generated fixture `big-page.html` with 500 and 2,000 slots of 12 items, a returning shopper
 * (history viewed, model in Cache Storage), 10 loads each (`--big-loads N`), with the default
 * 300 ms deadline and with the longest one allowed (1,000 ms). Printed per case, from the Long
 * Animation Frames API and the SDK's callbacks:
 * - frames with ≥ 50 ms of the SDK's own script (`sourceURL` contains `edge-personalize`), and
 *   the longest SDK script time in one frame;
 * - long frames (≥ 50 ms, the API's threshold) in which SDK script ran at all, and the longest:
 *   a frame's duration includes the page's own work and rendering (a busy machine inflates it);
 * - slots that missed their deadline (shown in the page's order where the shopper could see them,
 *   `kept: 'timeout'`) per load, and of them the slots in the first viewport;
 * - slots ranked after their deadline: off screen at the deadline, shown, and ranked while still
 *   off screen ("deferred", see SlotRanker); of them, any in the first viewport would be a broken
 *   promise (a slot reordered in view) and is printed as such;
 * - when the page reached DOMContentLoaded and when the Worker could rank (medians): a deadline
 *   that passes before the Worker can rank is missed whatever the DOM code does.
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
  viewport: number;
  viewportMissed: number;
  /** Reordered after the deadline (off screen), and of them in the first viewport (must be 0). */
  late: number;
  lateInView: number;
  dcl: number;
  rankable: number;
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
      /* no LoAF: nothing recorded */
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

async function load(page: Page, slots: number, deadline: number | null): Promise<LoadResult> {
  const query = deadline ? `&deadline=${deadline}&timeout=${deadline}` : '';
  await page.goto(`/big-page.html?slots=${slots}&autoTrack=false${query}`);
  await page.waitForFunction((n) => (window as unknown as { __ranked: unknown[] }).__ranked.length >= n, slots, {
    timeout: 60_000,
    polling: 100, // not every frame: the bench's own polling stays out of the frames it measures
  });
  await page.waitForTimeout(400); // the last frames' entries
  const rankableAt = (await status(page)).worker?.timings?.rankableAt ?? NaN;
  return page.evaluate(
    ({ rankableAt, deadlineMs }) => {
      const w = window as unknown as {
        __loafs: Array<{ duration: number; sdk: number }>;
        __ranked: Array<{ slot: string; kept: string | null; reordered: boolean; at: number }>;
        __snippetT0: number;
      };
      const due = w.__snippetT0 + deadlineMs;
      const late = w.__ranked.filter((r) => r.reordered && r.at > due);
      const inViewport = new Set(
        Array.from(document.querySelectorAll('[data-personalize-slot]'))
          .filter((s) => s.getBoundingClientRect().top < innerHeight)
          .map((s) => s.id),
      );
      const missed = w.__ranked.filter((r) => r.kept === 'timeout');
      return {
        sdkFrames: w.__loafs.map((l) => l.duration),
        sdkScript: w.__loafs.map((l) => l.sdk),
        missed: missed.length,
        viewport: inViewport.size,
        viewportMissed: missed.filter((r) => inViewport.has(r.slot)).length,
        late: late.length,
        lateInView: late.filter((r) => inViewport.has(r.slot)).length,
        dcl: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventStart,
        rankable: rankableAt - performance.timeOrigin,
      };
    },
    { rankableAt, deadlineMs: deadline ?? 300 },
  );
}

const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Prints the big-page figures (see the file comment). `baseURL` serves the e2e pages and `dist/`. */
export async function benchBigPage(browser: Browser, baseURL: string, loads = 10): Promise<void> {
  console.log(`\n4. Big pages (big-page.html, 12 items a slot, model cached, ${loads} loads each)`);
  for (const slots of [500, 2000]) {
    const ctx = await browser.newContext({ baseURL, viewport: { width: 1000, height: 700 } });
    const page = await ctx.newPage();
    await viewHistory(page);
    await observeFrames(page);
    for (const deadline of [null, 1000]) {
      const runs: LoadResult[] = [];
      for (let i = 0; i < loads; i++) runs.push(await load(page, slots, deadline));
      const frames = runs.flatMap((r) => r.sdkFrames);
      const script = runs.flatMap((r) => r.sdkScript);
      const missed = runs.map((r) => r.missed);
      console.log(`   ${slots} slots, ${deadline ? `${deadline} ms deadline` : '300 ms deadline (the default)'}`);
      console.log(
        `     frames with ≥ 50 ms of SDK script: ${script.filter((s) => s >= 50).length}; longest SDK script time in one frame ${max(script).toFixed(0)} ms`,
      );
      console.log(
        `     long frames (≥ 50 ms) the SDK ran in: ${frames.length}, longest ${max(frames).toFixed(0)} ms (the page's own work and rendering included)`,
      );
      console.log(
        `     slots that missed their deadline: ${missed.map((m) => `${m} of ${slots}`).join(', ')} (total ${sum(missed)}); ` +
          `in the first viewport: ${sum(runs.map((r) => r.viewportMissed))} of ${sum(runs.map((r) => r.viewport))}`,
      );
      console.log(
        `     slots ranked after their deadline, off screen (deferred): total ${sum(runs.map((r) => r.late))}; ` +
          `of them in the first viewport (reordered in view): ${sum(runs.map((r) => r.lateInView))}`,
      );
      console.log(
        `     the page's DOMContentLoaded p50 ${median(runs.map((r) => r.dcl)).toFixed(0)} ms, the Worker could rank p50 ` +
          `${median(runs.map((r) => r.rankable)).toFixed(0)} ms (after navigation start)`,
      );
    }
    await ctx.close();
  }
}
