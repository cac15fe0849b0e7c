import { expect, type Page } from '@playwright/test';

/** What the fixture pages record (see pages/fixture.js). */
export interface FixtureRecord {
  errors: string[];
  ranked: Array<{ slot: string; reordered: boolean; kept: string | null; at: number }>;
  uncaught: string[];
}

/** The page's `edgePersonalize` once the SDK has replaced the snippet's queue. */
type Sdk = { status(): Promise<any>; track(t: string, p: unknown): void; topPicks(n: number): Promise<any[]>; rank(): Promise<void>; consent(s: string): void };

export async function record(page: Page): Promise<FixtureRecord> {
  return page.evaluate(() => {
    const w = window as unknown as { __errors: string[]; __ranked: FixtureRecord['ranked']; __uncaught: string[] };
    return { errors: [...w.__errors], ranked: [...w.__ranked], uncaught: [...w.__uncaught] };
  });
}

/** Waits until the slot `id` has been decided (ranked or kept). */
export async function waitSlotDecided(page: Page, id = 'recs'): Promise<void> {
  await page.waitForFunction((slot) => (window as unknown as { __ranked: Array<{ slot: string }> }).__ranked.some((r) => r.slot === slot), id);
}

export async function status(page: Page): Promise<any> {
  await page.waitForFunction(() => typeof (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status === 'function');
  return page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.status());
}

/** Waits for the Worker to be ready (model loaded) and returns the status. */
export async function waitReady(page: Page): Promise<any> {
  await expect.poll(async () => (await status(page)).worker?.ready ?? false, { timeout: 30_000 }).toBe(true);
  return status(page);
}

/** Item ids of the slot's children, in DOM order (null for children without one). */
export async function slotOrder(page: Page, selector = '#recs'): Promise<Array<string | null>> {
  return page.$$eval(`${selector} > *`, (els) => els.map((e) => e.getAttribute('data-personalize-item')));
}

/** Category of each tile of the recs fixture, in DOM order. */
export async function slotCategories(page: Page, selector = '#recs'): Promise<string[]> {
  return page.$$eval(`${selector} > *`, (els) => els.map((e) => e.getAttribute('data-category') ?? 'pinned'));
}

/** Opens product pages one after another; each records a view. Waits until all are stored. */
export async function viewProducts(page: Page, ids: string[]): Promise<void> {
  for (const id of ids) {
    const before = (await status(page).catch(() => null))?.worker?.storedEvents ?? 0;
    await page.goto(`/product.html?id=${encodeURIComponent(id)}`);
    await waitReady(page);
    await expect.poll(async () => (await status(page)).worker?.storedEvents ?? 0).toBeGreaterThan(before === 0 ? 0 : Math.min(before, 1) - 1);
    await expect.poll(async () => (await status(page)).worker?.session?.items.at(-1)).toBe(id);
  }
}

/** Mean position (0 = first) of the tiles of `category` among the slot's item tiles. */
export function meanPosition(categories: string[], category: string): number {
  const items = categories.filter((c) => c !== 'pinned');
  const pos = items.flatMap((c, i) => (c === category ? [i] : []));
  return pos.reduce((a, b) => a + b, 0) / pos.length;
}

/** The recs fixture's tiles by category (ids in page order), from the page itself. */
export async function fixtureItemsByCategory(page: Page): Promise<Record<string, string[]>> {
  return page.$$eval('#recs > [data-personalize-item]', (els) => {
    const out: Record<string, string[]> = {};
    for (const e of els) (out[e.getAttribute('data-category')!] ??= []).push(e.getAttribute('data-personalize-item')!);
    return out;
  });
}
