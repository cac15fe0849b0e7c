/**
 * The event path under load, printed (not asserted), in real Chromium against `dist/` (called by
 * `npm run bench`; the server there serves the fixture pages and `dist/`):
 * - 10,000 `track` calls in one loop on a page: the page-side cost per call (timed in the page
 *   in blocks of 250 calls: `performance.now()` is coarsened to 100 µs without cross-origin
 *   isolation, so a block resolves 0.4 µs per call), the loop's total, the longest main-thread
 *   task around it;
 * - the time until all 10,000 are stored (polling `status()`) and the Worker's store throughput;
 * - a `rank()` issued right after the burst (it runs between two write chunks, not after them all);
 * - ten tabs of one profile tracking 300 events each in tight loops: how many are stored.
 */
import type { Browser, Page } from '@playwright/test';

type Sdk = { status(): Promise<any>; track(t: string, p: unknown): void; rank(): Promise<void> };

const ITEMS = ['22961', '22960', '22666', '22720', '22086', '22910', '23344', '22077', '84879', '22551'];
const CALLS = 10_000;
const BLOCK = 250;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

async function ready(page: Page): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await page.evaluate(async () => {
      const sdk = (window as unknown as { edgePersonalize: Sdk }).edgePersonalize;
      return typeof sdk.status === 'function' && !!(await sdk.status()).worker?.ready;
    });
    if (ok) return;
    await page.waitForTimeout(20);
  }
  throw new Error(`the SDK did not become ready on ${page.url()}`);
}

/** Prints the burst and ten-tab figures. */
export async function benchBurst(browser: Browser, baseURL: string): Promise<void> {
  console.log(`\nBursts: ${CALLS.toLocaleString('en')} track() calls in one loop (burst fixture, demo model, IndexedDB)`);
  {
    const ctx = await browser.newContext({ baseURL });
    const page = await ctx.newPage();
    await page.goto('/burst.html?autoTrack=false');
    await ready(page);
    const r = await page.evaluate(
      async ({ CALLS, BLOCK, ITEMS }) => {
        const sdk = (window as unknown as { edgePersonalize: Sdk }).edgePersonalize;
        let longest = 0;
        const obs = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
        });
        obs.observe({ type: 'longtask', buffered: false });
        await new Promise((r) => setTimeout(r, 50));
        const perCallUs: number[] = [];
        const t0 = performance.now();
        for (let b = 0; b < CALLS / BLOCK; b++) {
          const t = performance.now();
          for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) sdk.track('view', { itemId: ITEMS[i % ITEMS.length], n: i });
          perCallUs.push(((performance.now() - t) * 1000) / BLOCK);
        }
        const loopMs = performance.now() - t0;
        const rankStart = performance.now();
        const rankMs = sdk.rank().then(() => performance.now() - rankStart);
        let storedAt = NaN;
        let n = 0;
        while (performance.now() - t0 < 120_000) {
          n = (await sdk.status()).worker?.storedEvents ?? 0;
          if (n >= CALLS) {
            storedAt = performance.now() - t0;
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 100)); // let the long-task observer report
        obs.disconnect();
        const errors = (window as unknown as { __errors: string[] }).__errors;
        return { perCallUs, loopMs, storedAt, stored: n, rankMs: await rankMs, longest, errors: [...errors] };
      },
      { CALLS, BLOCK, ITEMS },
    );
    const storeS = (r.storedAt - r.loopMs) / 1000;
    console.log(
      `   page-side cost per track() call      median ${pct(r.perCallUs, 50).toFixed(2)} µs   p95 ${pct(r.perCallUs, 95).toFixed(2)} µs   (${r.perCallUs.length} blocks of ${BLOCK} calls)`,
    );
    console.log(`   the loop of ${CALLS.toLocaleString('en')} calls              ${r.loopMs.toFixed(1)} ms`);
    console.log(`   longest main-thread task (loop included) ${r.longest ? `${r.longest.toFixed(0)} ms` : 'none ≥ 50 ms'}`);
    if (Number.isFinite(r.storedAt)) {
      console.log(
        `   all ${CALLS.toLocaleString('en')} stored after             ${(r.storedAt / 1000).toFixed(2)} s from the loop's start`,
      );
      console.log(`   Worker store throughput              ${Math.round(CALLS / storeS).toLocaleString('en')} events/s (after the loop)`);
    } else {
      console.log(`   stored after 120 s                   ${r.stored.toLocaleString('en')} of ${CALLS.toLocaleString('en')}`);
    }
    console.log(`   rank() issued right after the burst  ${r.rankMs.toFixed(0)} ms`);
    if (r.errors.length) console.log(`   errors reported: ${r.errors.join('; ')}`);
    await ctx.close();
  }
  {
    const tabs = 10;
    const perTab = 300;
    const ctx = await browser.newContext({ baseURL });
    const pages = await Promise.all(Array.from({ length: tabs }, () => ctx.newPage()));
    for (const p of pages) await p.goto('/burst.html?autoTrack=false');
    for (const p of pages) await ready(p);
    const t = Date.now();
    await Promise.all(
      pages.map((p, k) =>
        p.evaluate(
          ({ k, perTab }) => {
            const sdk = (window as unknown as { edgePersonalize: Sdk }).edgePersonalize;
            for (let i = 0; i < perTab; i++) sdk.track('click', { itemId: '22961', tab: k, n: i });
          },
          { k, perTab },
        ),
      ),
    );
    let stored = 0;
    while (Date.now() - t < 120_000) {
      stored = await pages[0]!.evaluate(
        async () => (await (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status()).worker?.storedEvents ?? 0,
      );
      if (stored >= tabs * perTab) break;
      await pages[0]!.waitForTimeout(50);
    }
    console.log(
      `   ten tabs × ${perTab} events in tight loops (same item, one profile): ${stored.toLocaleString('en')} of ${(tabs * perTab).toLocaleString('en')} stored after ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    await ctx.close();
  }
}
