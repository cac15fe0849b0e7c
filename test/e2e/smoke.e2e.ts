import { expect, test } from '@playwright/test';

test('smoke: the slot is shown and the worker reports a backend', async ({ page }) => {
  page.on('console', (m) => console.log('console:', m.text()));
  page.on('pageerror', (e) => console.log('pageerror:', e.message));
  await page.goto('/recs.html');
  await page.waitForFunction(() => (window as any).__ranked.length > 0);
  const st = await page.evaluate(async () => (window as any).edgePersonalize.status());
  console.log(JSON.stringify(st, null, 1));
  console.log(await page.evaluate(() => JSON.stringify((window as any).__errors)));
  await page.evaluate(() => { (window as any).edgePersonalize.track('view', { itemId: '22086' }); (window as any).edgePersonalize.track('view', { itemId: '22910' }); });
  await page.waitForTimeout(1500);
  console.log(JSON.stringify(await page.evaluate(async () => (window as any).edgePersonalize.status()), null, 1));
  await page.reload();
  await page.waitForFunction(() => (window as any).__ranked.length > 0);
  console.log(await page.evaluate(() => JSON.stringify((window as any).__ranked)));
  console.log(await page.evaluate(() => Array.from(document.querySelectorAll('#recs > *')).map((e) => (e as HTMLElement).dataset.category ?? 'pin').join(',')));
  expect(1).toBe(1);
});
