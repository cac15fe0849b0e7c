/**
 * The shipped DIGINETICA model, the one with the repeat path, in real Chromium: for a session in
 * which an item comes back, the Worker's scores equal those of the Node evaluator's SessionModel
 * on the same int8 weights. (The demo model has no repeat path, so the other e2e tests do not
 * exercise it in the browser.)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expect, test } from '@playwright/test';
import { readModelDir } from '../../src/node/modelDir';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import { status, waitReady } from './helpers';

type Sdk = { track(t: string, p: { itemId: string }): void; topPicks(n: number): Promise<Array<{ itemId: string; score: number }>> };

test('the DIGINETICA model (repeat path) ranks in Chromium as the Node evaluator does', async ({ page }) => {
  test.setTimeout(120_000);
  const { weights, vocab } = readModelDir('models/diginetica');
  expect(weights.config.repeat).toBe('mixture');
  // Item 10 comes back after two others; the session ends on a fourth item.
  const session = [10, 500, 3000, 10, 7000];
  const ids = session.map((i) => vocab[i]!);

  // Node: the evaluator's model on the cpu backend.
  await tf.setBackend('cpu');
  const model = new SessionModel(weights.config, weights.items, weights.dense);
  const nodeScores = (model.scorePrefixes([Int32Array.from(session)]).arraySync() as number[][])[0]!;
  model.dispose();
  const nodeTop = nodeScores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 20);
  // The repeat path is in play: every item of the session is among Node's top 20.
  for (const i of new Set(session)) expect(nodeTop.map(([, j]) => j)).toContain(i);

  // Chromium: the built SDK in a Worker, fed the same views.
  await page.goto('/recs.html?model=/models/diginetica/model.json&autoTrack=false');
  const ready = await waitReady(page);
  expect(ready.worker.modelItems).toBe(vocab.length);
  for (const id of ids)
    await page.evaluate((itemId) => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.track('view', { itemId }), id);
  await expect.poll(async () => (await status(page)).worker?.session?.items).toEqual(ids);
  const picks = await page.evaluate(() => (window as unknown as { edgePersonalize: Sdk }).edgePersonalize.topPicks(20));

  // Same scores, item by item, and nothing Node ranks clearly above the browser's 20th is missing.
  const index = new Map(vocab.map((id, i) => [id, i]));
  expect(picks).toHaveLength(20);
  for (const p of picks) expect(Math.abs(p.score - nodeScores[index.get(p.itemId)!]!)).toBeLessThan(1e-3);
  expect(picks[19]!.score).toBeGreaterThan(nodeTop[19]![0] - 1e-3);
  expect(picks.slice(0, 5).map((p) => p.itemId)).toEqual(nodeTop.slice(0, 5).map(([, i]) => vocab[i]));
});
