/**
 * Part of `npm run bench`: the demo shop's home page with and without the SDK, in one run —
 * LCP, INP (one click on the page's own panel button) and CLS from `web-vitals`, medians over
 * repeated loads — and the SDK's own figures from its `onVitals`-style accounting (layout shift
 * inside slots). "Without" is the same HTML with the snippet and the SDK's script tag removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from '@playwright/test';

const WEB_VITALS = readFileSync('node_modules/web-vitals/dist/web-vitals.iife.js', 'utf8');

/** Starts `demo/serve.ts` on a free-ish port; resolves with its origin. */
async function startDemo(): Promise<{ origin: string; child: ChildProcess }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/serve.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      FL_DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-fl-')),
      FL_ROUND_TARGET: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('demo shop on') && resolve());
    child.on('exit', (code) => reject(new Error(`demo server exited (${code})`)));
  });
  return { origin: `http://127.0.0.1:${port}`, child };
}

interface Vitals {
  lcp: number;
  inp: number;
  cls: number;
  slotShift: number;
}

async function measure(page: Page, url: string): Promise<Vitals> {
  await page.goto(url);
  await page.waitForLoadState('load');
  await page.waitForTimeout(700); // ranking, idle work
  await page.click('.panel-toggle');
  await page.waitForTimeout(300);
  await page.click('.panel-toggle');
  await page.waitForTimeout(300);
  // Finalise LCP/INP/CLS the way a real visit ends: the page is hidden.
  return page.evaluate(async () => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    dispatchEvent(new Event('visibilitychange'));
    document.dispatchEvent(new Event('visibilitychange'));
    await new Promise((r) => setTimeout(r, 50));
    return (window as unknown as { __vitals: Vitals }).__vitals;
  });
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

/** Prints the with/without table. */
export async function benchDemoVitals(browser: Browser, loads: number): Promise<void> {
  const { origin, child } = await startDemo();
  try {
    const results: Record<'with' | 'without', Vitals[]> = { with: [], without: [] };
    for (const variant of ['with', 'without'] as const) {
      const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      await ctx.addInitScript(`${WEB_VITALS}
        window.__vitals = { lcp: NaN, inp: NaN, cls: 0, slotShift: 0 };
        webVitals.onLCP((m) => (window.__vitals.lcp = m.value), { reportAllChanges: true });
        webVitals.onINP((m) => (window.__vitals.inp = m.value), { reportAllChanges: true });
        webVitals.onCLS((m) => (window.__vitals.cls = m.value), { reportAllChanges: true });
        new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput && (e.sources || []).some((s) => s.node && s.node.closest && s.node.closest('[data-personalize-slot]'))) window.__vitals.slotShift += e.value; }).observe({ type: 'layout-shift', buffered: true });
        try { localStorage.setItem('edge-personalize.consent', JSON.stringify({ state: 'granted', at: Date.now() })); } catch (e) {}`);
      if (variant === 'without') {
        await ctx.route(`${origin}/**`, async (route) => {
          if (route.request().resourceType() !== 'document') return route.continue();
          const res = await route.fetch();
          const body = (await res.text())
            .replace(/<script>\(function\(w,d,n,t\)[\s\S]*?<\/script>/, '')
            .replace(/<script async src="\/sdk\/edge-personalize\.js"><\/script>/, '');
          await route.fulfill({ response: res, body });
        });
      }
      const page = await ctx.newPage();
      // A shopper with a history, so the SDK personalizes the page it is measured on.
      if (variant === 'with')
        for (const id of ['22578', '22577', '22086']) {
          await page.goto(`${origin}/product/${id}`);
          await page.waitForTimeout(600);
        }
      for (let i = 0; i < loads + 1; i++) {
        const v = await measure(page, `${origin}/`);
        if (i > 0) results[variant].push(v); // the first load warms the HTTP cache and code caches
      }
      await ctx.close();
    }
    const w = results.with;
    const wo = results.without;
    const line = (label: string, a: number, b: number, unit: string) =>
      console.log(
        `   ${label.padEnd(34)} with SDK ${`${a.toFixed(unit === '' ? 4 : 0)}${unit}`.padStart(9)}   without ${`${b.toFixed(unit === '' ? 4 : 0)}${unit}`.padStart(9)}   ratio ${(a / b).toFixed(2)}`,
      );
    console.log(
      `\n4. Demo home page with and without the SDK (web-vitals, medians of ${loads} loads each, one click on the page's own button)`,
    );
    line('LCP', median(w.map((x) => x.lcp)), median(wo.map((x) => x.lcp)), ' ms');
    line('INP', median(w.map((x) => x.inp)), median(wo.map((x) => x.inp)), ' ms');
    console.log(
      `   CLS with SDK: median ${median(w.map((x) => x.cls)).toFixed(4)}, max ${Math.max(...w.map((x) => x.cls)).toFixed(4)}; layout shift inside slots (the SDK's): max ${Math.max(...w.map((x) => x.slotShift)).toFixed(4)}; CLS without SDK: max ${Math.max(...wo.map((x) => x.cls)).toFixed(4)}`,
    );
  } finally {
    child.kill();
  }
}
