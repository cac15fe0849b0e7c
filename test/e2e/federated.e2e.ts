import { expect, test, type Request } from '@playwright/test';
import { status, viewProducts, waitReady } from './helpers';

type Sdk = { contribute(): Promise<{ outcome: string; reason: string; bytes?: number } | null>; exportData(): Promise<{ indexedDB: Record<string, unknown[]> }>; status(): Promise<any> };

test.describe('federated learning', () => {
  test('the page trains, uploads one update, the server closes the round, the page runs the new version; nothing from the history leaves the device', async ({ page }) => {
    // Record every request and its body, from the page and its Worker.
    // (Page navigations are the shopper's own: a product page's URL names its product.)
    const sent: Array<{ url: string; method: string; body: Buffer | null; type: string }> = [];
    page.on('request', (r: Request) => {
      if (!r.isNavigationRequest()) sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer(), type: r.headers()['content-type'] ?? '' });
    });

    // A history: five product views over two categories (autoTrack records them), then a session.
    const viewed = ['22578', '22577', '22086', '22961', '22960'];
    await page.goto('/recs.html?fl=3');
    await viewProducts(page, viewed.map(String));
    await page.goto('/recs.html?fl=3&autoTrack=false');
    await waitReady(page);
    // The page contributes by itself once idle (possibly already on a product page above).
    await expect.poll(async () => (await status(page)).worker.federated?.uploads.length ?? 0, { timeout: 30_000, intervals: [500] }).toBeGreaterThan(0);
    const upload = (await status(page)).worker.federated.uploads[0];
    expect(upload.bytes).toBeLessThanOrEqual(64 * 1024);
    // The server accepted it and closed the round (target 1): a new version is published, and the
    // page runs a version newer than the one it trained on (swapped in the Worker, remembered).
    const serverStatus = await (await page.request.get('/fl/v1/status')).json();
    expect(JSON.stringify(serverStatus.privacy.rounds)).toContain(JSON.stringify(upload.roundId).replace(/^"|"$/g, ''));
    await expect.poll(async () => (await status(page)).worker.modelVersion, { timeout: 15_000 }).not.toBe(upload.modelVersion);
    const server = async () => (await (await page.request.get('/fl/v1/model')).json()).modelVersion as string;
    await expect.poll(async () => (await status(page)).worker.modelVersion, { timeout: 15_000 }).toBe(await server());
    const next = (await status(page)).worker.modelVersion;
    // The next page starts on the new version.
    await page.reload();
    expect((await waitReady(page)).worker.modelVersion).toBe(next);

    // The proof behind "raw events never leave the device": no request carries any item id, event
    // type, timestamp or session id of the history. The only request with a body is the update.
    const data = await page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.exportData());
    const events = data.indexedDB['events'] as Array<{ itemId: string; type: string; at: number; sessionId: string }>;
    expect(events.length).toBeGreaterThanOrEqual(viewed.length);
    const secrets = new Set<string>();
    for (const e of events) for (const v of [e.itemId, e.type, String(e.at), e.sessionId]) secrets.add(v);
    const posts = sent.filter((r) => r.method !== 'GET');
    expect(posts.length).toBeGreaterThan(0);
    for (const r of sent) {
      for (const secret of secrets) expect(decodeURIComponent(r.url), `${r.url} carries ${secret}`).not.toContain(secret);
    }
    for (const r of posts) {
      expect(new URL(r.url).pathname).toBe('/fl/v1/updates');
      expect(r.type).toBe('application/vnd.edge-personalize.update');
      // Parse the update: magic, header JSON, then int8 values only.
      const body = r.body!;
      expect(body.subarray(0, 4).toString('latin1')).toBe('EPU1');
      const headerLength = body.readUInt32LE(4);
      const header = JSON.parse(body.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(header).sort()).toEqual(['clipNorm', 'exampleBucket', 'formatVersion', 'modelVersion', 'noiseStd', 'nonce', 'roundId', 'scales']);
      for (const value of Object.values(header).flat()) {
        if (typeof value === 'string') for (const secret of secrets) expect(value).not.toContain(secret);
        else expect(secrets.has(String(value))).toBe(false);
      }
    }
  });
});
