/**
 * A device's secure contribution in real Chromium (`npm run bench`, or alone: `npm run bench --
 * --only secure-device`): does the protocol's work in the Worker (training, the report: shares,
 * SHAKE128, the HPKE seal) keep the Worker answering? Each of `devices` fresh browser profiles
 * views three products, then opens the recs fixture, which contributes once idle, to an
 * in-process aggregation server running secure aggregation (`/fl-secure`, the real helper code in
 * the same process). Meanwhile the page calls the Worker every 10 ms (`topPicks(5)`: it scores
 * the catalogue as a rank does) and times each answer. Printed: the answers that came during the
 * contribution (from the device's `GET /v1/model` to its report's POST), their p50 / p99 / max
 * and how many took ≥ 50 ms, with the same figures for the second before it as the reference;
 * each for the SDK as shipped (the training Worker does the work) and for the same SDK under a
 * CSP that forbids its Worker to start Workers (it then trains and builds the report itself).
 * `BENCH_DEBUG=1` prints each device's slow answers with their times after its `GET /v1/model`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Request } from '@playwright/test';
import { toBase64Url } from '../../src/federated/base64Url';
import { generateHelperKeys } from '../../src/federated/secureAggregation/helperEncryption';
import { createAggregationServer, type AggregationServer } from '../../src/server/aggregationServer';
import { HelperAggregator } from '../../src/server/secureAggregation/helperAggregator';
import { localHelperClient } from '../../src/server/secureAggregation/helperClient';
import { MemoryHelperStore } from '../../src/server/secureAggregation/helperStore';

type Sdk = { status(): Promise<any>; topPicks(n: number): Promise<unknown> };

/** An aggregation server at `/fl-secure` with an in-process helper (rounds of 100: they never close here). */
export async function secureAggregatorForBench(): Promise<AggregationServer> {
  const keys = await generateHelperKeys();
  const helper = new HelperAggregator({ privateKey: keys.privateKey, store: new MemoryHelperStore(), minCohort: 2, maxCohort: 1000 });
  return createAggregationServer({
    modelDir: 'models/online-retail',
    dataDir: mkdtempSync(join(tmpdir(), 'edge-personalize-bench-secure-')),
    basePath: '/fl-secure',
    rateLimit: null,
    maxEpsilon: Infinity,
    populationEstimate: 100, // every device takes part (q = target / population = 1)
    participationTokens: { tokensPerAddressPerRound: 1000 },
    secureAggregation: {
      helperPublicKey: toBase64Url(keys.publicKey),
      helper: localHelperClient(helper),
    },
  });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

async function status(page: Page): Promise<any> {
  await page.waitForFunction(() => typeof (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status === 'function');
  return page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status());
}

/** Prints the figures (see the file comment); `baseURL` must also route `/fl-secure` to {@link secureAggregatorForBench}. */
export async function benchSecureDevice(browser: Browser, baseURL: string, devices = 5): Promise<void> {
  console.log(`\n6. A secure contribution in the Worker (${devices} fresh profiles per row, demo model, Worker called every 10 ms)`);
  // Interleaved, so both rows see the same machine: the SDK as shipped (training and report in
  // the training Worker), and the same SDK whose Worker may not start Workers (a CSP
  // `worker-src 'none'` on its script), so it trains and builds the report itself.
  const rows = { 'training Worker': new Sample(), "SDK's Worker alone (CSP)": new Sample() };
  for (let d = 0; d < devices; d++)
    for (const [label, sample] of Object.entries(rows)) await secureDevice(browser, baseURL, d, sample, label !== 'training Worker');
  const line = (label: string, xs: number[]): string =>
    `   ${label.padEnd(52)} n=${String(xs.length).padStart(4)}  p50 ${pct(xs, 50).toFixed(1).padStart(5)} ms  p99 ${pct(xs, 99)
      .toFixed(1)
      .padStart(5)} ms  max ${Math.max(...xs)
      .toFixed(1)
      .padStart(5)} ms  ≥ 50 ms: ${xs.filter((x) => x >= 50).length}`;
  for (const [label, { during, before, windows }] of Object.entries(rows)) {
    console.log(
      `   ${label}: contribution window (GET /v1/model → report POST, incl. the token and training): p50 ${pct(windows, 50).toFixed(0)} ms`,
    );
    console.log(line(`${label}: answers during the contribution`, during));
    console.log(line(`${label}: answers in the second before it`, before));
  }
}

class Sample {
  during: number[] = [];
  before: number[] = [];
  windows: number[] = [];
}

/** One fresh profile's secure contribution, its Worker timed meanwhile (see the file comment). */
async function secureDevice(browser: Browser, baseURL: string, d: number, sample: Sample, noNestedWorkers: boolean): Promise<void> {
  const { during, before, windows } = sample;
  const ctx = await browser.newContext({ baseURL });
  if (noNestedWorkers)
    await ctx.route('**/dist/edge-personalize.worker.js', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': "worker-src 'none'" } });
    });
  const page = await ctx.newPage();
  for (const id of ['22578', '22577', '22086']) {
    await page.goto(`/product.html?id=${id}`);
    for (let t = 0; t < 600 && (await status(page)).worker?.session?.items.at(-1) !== id; t++) await page.waitForTimeout(20);
  }
  // Times (performance.timeOrigin-relative ms of the page) of the device's round requests.
  const marks: { model?: number; report?: number } = {};
  page.on('request', (r: Request) => {
    const path = new URL(r.url()).pathname;
    if (path === '/fl-secure/v1/model' && marks.model === undefined) marks.model = Date.now();
    if (path === '/fl-secure/v1/updates') marks.report = Date.now();
    if (path === '/fl-secure/v1/tokens') (marks as { token?: number }).token = Date.now();
  });
  await page.goto('/recs.html?fl=3&flPath=/fl-secure&autoTrack=false');
  // Worker calls every 10 ms from the page (one in flight at a time), with wall-clock times.
  await page.evaluate(() => {
    const w = window as unknown as { edgePersonalize: Sdk; __calls: Array<[number, number]>; __stop: boolean };
    w.__calls = [];
    w.__stop = false;
    void (async () => {
      while (!w.__stop) {
        const t = performance.now();
        await w.edgePersonalize.topPicks(5);
        w.__calls.push([performance.timeOrigin + t, performance.now() - t]);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
  });
  for (let t = 0; t < 600 && !((await status(page)).worker?.federated?.uploads?.length > 0); t++) await page.waitForTimeout(100);
  await page.waitForTimeout(300);
  const calls = await page.evaluate(() => {
    const w = window as unknown as { __calls: Array<[number, number]>; __stop: boolean };
    w.__stop = true;
    return w.__calls;
  });
  if (marks.model === undefined || marks.report === undefined)
    throw new Error(`device ${d}: no secure contribution seen (${JSON.stringify((await status(page)).worker?.federated ?? null)})`);
  windows.push(marks.report - marks.model);
  if (process.env.BENCH_DEBUG)
    console.log(
      `   device ${d}: token +${((marks as { token?: number }).token ?? NaN) - marks.model} ms, report +${marks.report - marks.model} ms; slow answers (start ms after GET /v1/model: ms): ` +
        calls
          .filter(([, ms]) => ms >= 30)
          .map(([at, ms]) => `${Math.round(at - marks.model!)}: ${Math.round(ms)}`)
          .join(', '),
    );
  for (const [at, ms] of calls) {
    if (at + ms >= marks.model && at <= marks.report) during.push(ms);
    else if (at < marks.model && at >= marks.model - 1000) before.push(ms);
  }
  await ctx.close();
}

/** Routes `/fl-secure` requests to `server`; false for any other path. */
export function routeSecure(server: AggregationServer, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return req.url?.startsWith('/fl-secure') ? server.handle(req, res) : Promise.resolve(false);
}
