import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Request } from '@playwright/test';
import { encodeShare, expandSeed, recombine } from '../../src/federated/secureAggregation/additiveShares';
import { openSeed, reportContext } from '../../src/federated/secureAggregation/helperEncryption';
import { decodeSecureReport } from '../../src/federated/secureAggregation/secureReport';
import { readModelDir } from '../../src/node/modelDir';
import { trainableVector } from '../../src/server/fedAvg';
import { expectNoHistoryInRequests, status, viewProducts, type SentRequest } from './helpers';

/** Items the demo model knows, dealt three per device so that every device's history differs. */
const ITEMS = (
  '22086 22961 22077 85099B 84879 22551 22699 22423 22910 22960 21429 23203 23301 21915 22697 22720 23344 22666 23118 22386 ' +
  '23284 21914 22139 21212'
).split(' ');
const DEVICES = Number(process.env.SECURE_E2E_DEVICES ?? 8);
const DROPOUTS = 2; // 25 % of the cohort: they join the round (read it, ask for a token) and close

/** Every file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

test('secure aggregation: 8 pages join a round, 2 close before sending; the version published is the average of the 6 reports, and no server holds one in the clear', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(300_000);
  const sent: SentRequest[] = [];
  const secrets = new Set<string>();
  let joined = 0;
  /** Each surviving device's report values before masking, as the device itself reports them. */
  const deviceValues: number[][] = [];
  const t0 = Date.now();
  const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  for (let i = 0; i < DEVICES; i++) {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    page.on('request', (r: Request) => {
      if (r.isNavigationRequest()) return;
      sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer(), headers: r.headers() });
      if (new URL(r.url()).pathname === '/fl-secure/v1/tokens') {
        joined++;
        // A device that drops out: its tab is closed while it waits for its token (answered 1.5 s late).
        if (i < DROPOUTS) void context.close();
      }
    });
    await viewProducts(page, ITEMS.slice(i * 3, i * 3 + 3));
    console.log(`device ${i}: history stored at ${at()}`);
    const stored = await page.evaluate(() =>
      (
        window as unknown as { edgePersonalize: { exportData(): Promise<{ indexedDB: Record<string, unknown[]> }> } }
      ).edgePersonalize.exportData(),
    );
    for (const e of stored.indexedDB['events'] as Array<{ itemId: string; type: string; at: number; sessionId: string }>)
      for (const s of [e.itemId, e.type, String(e.at), e.sessionId]) secrets.add(s);
    // The test build of the Worker (`npm run build:test`): it keeps its report's values before
    // masking in status(), the one way they leave the device, and only in that build.
    await page.goto('/recs.html?fl=3&flPath=/fl-secure&autoTrack=false&worker=/dist-test/edge-personalize.worker.js');
    if (i < DROPOUTS) {
      await expect.poll(() => page.isClosed(), { timeout: 60_000 }).toBe(true);
      console.log(`device ${i}: joined and closed before sending, ${at()}`);
      continue;
    }
    await expect
      .poll(async () => (await status(page)).worker?.federated?.uploads?.length ?? 0, { timeout: 60_000, intervals: [500] })
      .toBeGreaterThan(0)
      .catch(async (err: Error) => {
        const w = (await status(page)).worker;
        throw new Error(`device ${i}: no upload; ${JSON.stringify(w?.federated ?? null).slice(0, 800)} (${err.message.slice(0, 200)})`);
      });
    const own = (await status(page)).worker.federated.testSecureReports as number[][] | undefined;
    expect(own, 'the test build of the Worker is missing: run npm run build:test').toBeDefined();
    expect(own).toHaveLength(1);
    deviceValues.push(own![0]!);
    console.log(`device ${i}: sent its report (${(await status(page)).worker.federated.uploads[0].bytes} bytes), ${at()}`);
    await context.close();
  }

  // The round closed with the six reports that arrived.
  const api = (path: string) => fetch(new URL(path, baseURL).toString()).then((r) => r.json() as Promise<any>);
  await expect.poll(async () => (await api('/fl-secure/v1/status')).roundsClosed, { timeout: 30_000 }).toBe(1);
  const st = await api('/fl-secure/v1/status');
  const reports = ((await api('/fl-secure-test/reports')) as string[]).map((b) => new Uint8Array(Buffer.from(b, 'base64')));
  console.log(`joined ${joined}, reports ${reports.length}, round: ${JSON.stringify(st.privacy.rounds[0])}`);
  expect(joined).toBe(DEVICES);
  expect(reports).toHaveLength(DEVICES - DROPOUTS);
  expect((joined - reports.length) / joined).toBeGreaterThanOrEqual(0.25);
  expect(st.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: DEVICES - DROPOUTS });
  expect(st.aggregation.protocol).toBe('secure');

  // Each device's values before masking, as the two aggregators together (and only together) could
  // read them: the leader's share plus the share the helper's key opens.
  const { privateKey } = await api('/fl-secure-test/helper-key');
  const { dataDir } = await api('/fl-secure-test/data-dir');
  const base = readModelDir('models/online-retail');
  const d = trainableVector(base.weights.dense, base.weights.config).length;
  // Every report of the round has the same length and byte size: the dense tensors, then the
  // announced item rows (the server's choice, the same for every device).
  const headerOf = (bytes: Uint8Array): { length: number } => {
    const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
    return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + h))) as { length: number };
  };
  const length = headerOf(reports[0]!).length;
  expect(reports.map((b) => headerOf(b).length)).toEqual(reports.map(() => length));
  expect(new Set(reports.map((b) => b.length)).size).toBe(1);
  expect(length).toBeGreaterThan(d);
  expect((length - d) % base.weights.config.embedDim).toBe(0);
  const codes: Int32Array[] = [];
  for (const bytes of reports) {
    const r = decodeSecureReport(bytes, length);
    const context = reportContext(r.header.roundId, r.header.reportId);
    const seed = await openSeed(Buffer.from(privateKey, 'base64url'), { enc: r.enc, ciphertext: r.sealedSeed }, context);
    codes.push(recombine(r.leaderShare, expandSeed(seed, context, length, r.header.bits), r.header.bits));
  }
  const step = decodeSecureReport(reports[0]!, length).header.step;
  // What the two aggregators could rebuild together is exactly what the devices computed.
  const key = (v: ArrayLike<number>): string => Array.from(v).join(',');
  expect(codes.map(key).sort()).toEqual(deviceValues.map(key).sort());

  // The published version: the base plus the plain average of the survivors' own values (FedAvg over
  // the round's target of 6, server learning rate 1), within the int8 rounding of the published file.
  const published = readModelDir(join(dataDir, 'versions', st.modelVersion));
  const got = trainableVector(published.weights.dense, published.weights.config);
  const before = trainableVector(base.weights.dense, base.weights.config);
  let worst = 0;
  let moved = 0;
  for (let i = 0; i < d; i++) {
    let sum = 0;
    for (const c of deviceValues) sum += c[i]!;
    const expected = before[i]! + (sum * step) / (DEVICES - DROPOUTS);
    worst = Math.max(worst, Math.abs(got[i]! - expected));
    if (Math.abs(got[i]! - before[i]!) > step) moved++;
  }
  const maxAbs = got.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  console.log(
    `published ${st.modelVersion}: ${moved} of ${d} values moved; largest difference from the survivors' average ${worst.toExponential(2)} (int8 step of the file ≤ ${(maxAbs / 127).toExponential(2)})`,
  );
  expect(moved).toBeGreaterThan(d / 2);
  expect(worst).toBeLessThanOrEqual(maxAbs / 127);

  // No individual update in the clear: not in any file of the leader's data directory (its round
  // log is gone once summed), not in its log lines, not in its status.
  const files = filesUnder(dataDir).map((f) => ({ f, bytes: readFileSync(f) }));
  expect(files.some((x) => x.f.endsWith('1.log'))).toBe(false);
  const log = ((await api('/fl-secure-test/log')) as string[]).join('\n');
  const statusText = JSON.stringify(await api('/fl-secure/v1/status'));
  for (const c of codes) {
    const int8 = Buffer.from(Int8Array.from(c.subarray(0, 48)).buffer); // the values as a device would write int8
    const asShare = Buffer.from(
      encodeShare(
        Uint32Array.from(c.subarray(0, 48), (x) => x & 0xffff),
        16,
      ),
    ); // or mod 2^16
    for (const { f, bytes } of files) {
      expect(bytes.includes(int8), `${f} holds a device's values`).toBe(false);
      expect(bytes.includes(asShare), `${f} holds a device's values mod 2^16`).toBe(false);
    }
    const text = Array.from(c.subarray(0, 12)).join(',');
    expect(log).not.toContain(text);
    expect(statusText).not.toContain(text);
  }
  expect(statusText.length).toBeLessThan(20_000);

  // The network-intercept proof: no request carries the history; the only bodies are the reports
  // (EPS1: their documented header, then a sealed seed and a random-looking share) and token requests.
  expectNoHistoryInRequests(sent, secrets, '/fl-secure/v1/updates', true);
});
