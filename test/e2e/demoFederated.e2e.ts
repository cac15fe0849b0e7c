import { expect, test, type Request } from '@playwright/test';
import { sdkStatus as statusOf, SHOP } from './demoShop';
import { expectNoHistoryInRequests, type SentRequest } from './helpers';

type Sdk = { status(): Promise<any>; exportData(): Promise<{ indexedDB: Record<string, unknown[]> }>; consent(s: string): void };

test('demo shop: with consent granted, the page trains, posts an update, the round closes and the page runs the new version; no request carries the history', async ({
  page,
}) => {
  const sent: SentRequest[] = [];
  page.on('request', (r: Request) => {
    if (!r.isNavigationRequest()) sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer(), headers: r.headers() });
  });
  const sdkStatus = () => statusOf(page);

  // A shopper accepts the banner, then browses five products of two categories.
  await page.goto(`${SHOP}/`);
  await page.getByRole('button', { name: /allow/i }).click();
  await expect.poll(async () => (await sdkStatus())?.worker?.ready ?? false, { timeout: 20_000 }).toBe(true);
  const base = (await sdkStatus()).worker.modelVersion;
  const products = await page.$$eval('[data-personalize-slot] [data-personalize-item]', (els) =>
    [...new Set(els.map((e) => e.getAttribute('data-personalize-item')!))].slice(0, 5),
  );
  for (const id of products) {
    await page.goto(`${SHOP}/product/${encodeURIComponent(id)}`);
    await expect.poll(async () => (await sdkStatus())?.worker?.session?.items.at(-1), { timeout: 20_000 }).toBe(id);
  }
  // Back home, the page contributes once idle; the round (target 1 in tests) closes at once.
  await page.goto(`${SHOP}/`);
  await expect.poll(async () => (await sdkStatus())?.worker?.federated?.uploads.length ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
  await expect
    .poll(
      async () => {
        const v = (await sdkStatus())?.worker?.modelVersion;
        return v != null && v !== base;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  const flStatus = await (await page.request.get(`${SHOP}/fl/v1/status`)).json();
  expect(JSON.stringify(flStatus)).toContain((await sdkStatus()).worker.modelVersion);

  // The privacy page lists the upload the server received.
  await page.goto(`${SHOP}/privacy`);
  await expect.poll(async () => (await sdkStatus())?.worker?.federated?.uploads?.length ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
  const upload = (await sdkStatus()).worker.federated.uploads[0];
  await expect(page.getByText(upload.roundId).first()).toBeVisible({ timeout: 10_000 });
  // …with the ε the server accounted for that round, and the shop's cumulative ε.
  const round = flStatus.privacy.rounds.find((r: { round: unknown }) => String(r.round) === String(upload.roundId));
  expect(round).toBeTruthy();
  // (With one update per round, as in this test, the accountant cannot bound ε: the page must say so.)
  await expect(page.locator('[data-privacy="uploads"]')).toContainText(
    typeof round.epsilon === 'number' ? round.epsilon.toPrecision(3) : 'unbounded',
  );
  const cumulative = flStatus.privacy.cumulative.epsilon;
  await expect(page.locator('[data-privacy="budget"]')).toContainText(
    typeof cumulative === 'number' ? cumulative.toPrecision(3) : 'unbounded',
  );
  // The server's log of accepted updates lists this upload (same round, same size).
  const accepted = (await (await page.request.get(`${SHOP}/fl/v1/status`)).json()).updates.recent as Array<{
    round: unknown;
    bytes: number;
  }>;
  expect(accepted.some((u) => String(u.round) === String(upload.roundId) && u.bytes === upload.bytes)).toBe(true);

  // Nothing from the history in any request: URLs (item ids, event types, times, session ids) and bodies.
  const data = await page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.exportData());
  const events = data.indexedDB['events'] as Array<{ itemId: string; type: string; at: number; sessionId: string }>;
  const secrets = new Set(events.flatMap((e) => [e.itemId, e.type, String(e.at), e.sessionId]));
  expectNoHistoryInRequests(sent, secrets, '/fl/v1/updates');
});
