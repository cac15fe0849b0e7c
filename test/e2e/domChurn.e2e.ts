import { expect, test, type Page } from '@playwright/test';
import { record, viewProducts, waitReady } from './helpers';

// A history that reorders the fixture's tiles, so every rank result would move nodes.
const HISTORY = ['22578', '22577', '22086'];
const KITCHEN = ['22961', '22960', '22666', '22720'];
/** The page's changes (see pages/hostile-churn.html); 9 = none. */
const OPS = [
  'all tiles replaced',
  'three tiles replaced',
  "the page's own reorder",
  'slot element replaced',
  'slot detached for 20 ms',
  'an item id rewritten',
  'three tiles appended',
  'a tile removed',
];

interface ChurnState {
  /** The page's changes made, as `slot:op`. */
  churned: string[];
  violations: string[];
  counts: Record<string, number>;
  /** The children the page itself put in each slot. */
  own: Record<string, number>;
  shown: Record<string, string | null>;
  tiles: number;
}

async function churnState(page: Page): Promise<ChurnState> {
  return page.evaluate(() => {
    const w = window as unknown as {
      __check(where: string): void;
      __own(): Record<string, number>;
      __violations: string[];
      __churned: string[];
    };
    w.__check('at the end');
    const out: ChurnState = {
      churned: [...w.__churned],
      violations: [...w.__violations],
      counts: {},
      own: w.__own(),
      shown: {},
      tiles: document.querySelectorAll('a.tile').length,
    };
    for (const id of ['top', 'below']) {
      const slot = document.getElementById(id);
      out.counts[id] = slot?.children.length ?? -1;
      out.shown[id] = slot?.getAttribute('data-personalize-shown') ?? null;
    }
    return out;
  });
}

/** Waits until both slots on the page now (the page may have replaced them) are shown. */
async function waitBothShown(page: Page): Promise<void> {
  await page.waitForFunction(
    () => ['top', 'below'].every((id) => document.getElementById(id)?.hasAttribute('data-personalize-shown')),
    null,
    {
      timeout: 15_000,
    },
  );
}

test.describe('a page that changes its slots while the SDK ranks them', () => {
  test.beforeEach(async ({ page }) => {
    await viewProducts(page, HISTORY);
  });

  test("first rank: the slots keep exactly the page's children, removed nodes stay out, a changed slot is ranked again", async ({
    page,
  }) => {
    for (let op = 0; op < OPS.length; op++) {
      // The longest deadline (1 s): a busy machine must not turn a re-rank into a timeout.
      await page.goto(`/hostile-churn.html?churn=${op}&deadline=1000`);
      await waitBothShown(page);
      await waitReady(page);
      await page.waitForTimeout(200); // any late answer has landed
      const s = await churnState(page);
      expect.soft(s.churned.sort(), OPS[op]).toEqual([`below:${op}`, `top:${op}`]);
      expect.soft(s.violations, OPS[op]).toEqual([]);
      expect.soft(s.counts, OPS[op]).toEqual(s.own);
      expect.soft(s.tiles, OPS[op]).toBe(s.own.top! + s.own.below!);
      // Changed before its deadline, the slot was ranked again on its new children.
      expect.soft(s.shown, OPS[op]).toEqual({ top: 'ranked', below: 'ranked' });
      expect((await record(page)).uncaught, OPS[op]).toEqual([]);
    }
  });

  test('off-screen re-rank after an interaction: a slot the page changed meanwhile is left alone', async ({ page }) => {
    for (let op = 0; op < OPS.length; op++) {
      // The first rank goes undisturbed; the page changes the slots when the next request leaves.
      await page.goto(`/hostile-churn.html?churn=9,${op}&autoTrack=false`);
      await waitBothShown(page);
      await waitReady(page);
      const before = await page.$$eval('#below > *', (els) => els.map((e) => e.getAttribute('data-personalize-item')));
      await page.evaluate(async (ids) => {
        const sdk = (window as unknown as { edgePersonalize: { track(t: string, p: unknown): void; rank(): Promise<void> } })
          .edgePersonalize;
        for (const itemId of ids) sdk.track('view', { itemId });
        await sdk.rank();
      }, KITCHEN);
      await page.waitForTimeout(500);
      const s = await churnState(page);
      expect.soft(s.churned, OPS[op]).toEqual([`below:${op}`]); // the re-rank's request met the change
      expect.soft(s.violations, OPS[op]).toEqual([]);
      expect.soft(s.counts, OPS[op]).toEqual(s.own);
      expect.soft(s.tiles, OPS[op]).toBe(s.own.top! + s.own.below!);
      expect(before.length).toBe(12);
      expect((await record(page)).uncaught, OPS[op]).toEqual([]);
    }
  });
});
