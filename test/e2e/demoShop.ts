/** What the demo-shop e2e tests share: the shop's origin and reading the page's SDK and catalogue. */
import { expect, type Page } from '@playwright/test';

/** The demo server's origin (playwright.config.ts sets it when `E2E_PORT` moves the ports). */
export const SHOP = process.env.DEMO_ORIGIN ?? 'http://127.0.0.1:4874';

/** Page errors and console errors seen by a page: each test expects none. */
export function watchErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return problems;
}

/** `edgePersonalize.status()`, or null while the async SDK script has not run yet (the queue is still an array). */
export async function sdkStatus(page: Page): Promise<any> {
  return page.evaluate(async () => {
    const ep = (window as any).edgePersonalize;
    return typeof ep?.status === 'function' ? ep.status() : null;
  });
}

/** id → [name, category, price], as the shop's scripts read it. */
export async function catalogue(page: Page): Promise<Record<string, [string, string, number]>> {
  const res = await page.request.get(`${SHOP}/api/catalogue.json`);
  expect(res.ok()).toBe(true);
  return res.json();
}
