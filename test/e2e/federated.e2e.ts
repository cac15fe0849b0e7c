import { expect, test, type Request } from '@playwright/test';
import { expectNoHistoryInRequests, status, viewProducts, waitReady, type SentRequest } from './helpers';

type Sdk = {
  contribute(): Promise<{ outcome: string; reason: string; bytes?: number } | null>;
  exportData(): Promise<{ indexedDB: Record<string, unknown[]> }>;
  status(): Promise<any>;
};

test.describe('federated learning', () => {
  test('the page trains, uploads one update, the server closes the round, the page runs the new version; nothing from the history leaves the device', async ({
    page,
  }) => {
    // Record every request and its body, from the page and its Worker.
    // (Page navigations are the shopper's own: a product page's URL names its product.)
    const sent: SentRequest[] = [];
    page.on('request', (r: Request) => {
      if (!r.isNavigationRequest()) sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer(), headers: r.headers() });
    });

    // A history: five product views over two categories (autoTrack records them), then a session.
    const viewed = ['22578', '22577', '22086', '22961', '22960'];
    await page.goto('/recs.html?fl=3');
    await viewProducts(page, viewed.map(String));
    await page.goto('/recs.html?fl=3&autoTrack=false');
    await waitReady(page);
    // The page contributes by itself once idle (possibly already on a product page above).
    await expect
      .poll(async () => (await status(page)).worker.federated?.uploads.length ?? 0, { timeout: 30_000, intervals: [500] })
      .toBeGreaterThan(0);
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
    expectNoHistoryInRequests(sent, secrets, '/fl/v1/updates');
  });
});
