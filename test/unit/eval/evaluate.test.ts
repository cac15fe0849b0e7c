import { describe, expect, it } from 'vitest';
import type { TestCase } from '../../../models/data/dataset';
import { evaluate } from '../../../models/eval/evaluate';
import type { SessionScorer } from '../../../models/eval/scorer';

const NUM_ITEMS = 4;

/** Scores item i as -(i - last)²: the last prefix item ranks first, its neighbours next. */
function nearLast(async: boolean, batches: number[]): SessionScorer {
  const score = (prefixes: Int32Array[], out: Float32Array) => {
    batches.push(prefixes.length);
    prefixes.forEach((p, b) => {
      const last = p[p.length - 1]!;
      for (let i = 0; i < NUM_ITEMS; i++) out[b * NUM_ITEMS + i] = -((i - last) ** 2);
    });
  };
  return {
    name: 'near-last',
    scoreBatch: async ? async (p, o) => score(p, o) : score,
  };
}

const cases: TestCase[] = [
  { prefix: Int32Array.of(0), target: 0 }, // rank 1
  { prefix: Int32Array.of(0), target: 1 }, // rank 2
  { prefix: Int32Array.of(3, 0), target: 3 }, // rank 4
  { prefix: Int32Array.of(2), target: -1 }, // unknown: miss
  { prefix: Int32Array.of(1), target: 1 }, // rank 1
];

describe('evaluate', () => {
  for (const async of [false, true]) {
    it(`batches the cases, ranks every row and averages (${async ? 'async' : 'sync'} scorer)`, async () => {
      const batches: number[] = [];
      const progress: [number, number][] = [];
      const r = await evaluate(nearLast(async, batches), cases, NUM_ITEMS, {
        batchSize: 2,
        onProgress: (done, total) => progress.push([done, total]),
      });
      expect(batches).toEqual([2, 2, 1]);
      expect(progress).toEqual([
        [2, 5],
        [4, 5],
        [5, 5],
      ]);
      expect(r.cases).toBe(5);
      expect(r.recall20).toBeCloseTo(4 / 5, 12);
      expect(r.mrr20).toBeCloseTo((1 + 1 / 2 + 1 / 4 + 0 + 1) / 5, 12);
      expect(r.seconds).toBeGreaterThanOrEqual(0);
    });
  }

  it('handles no cases', async () => {
    const r = await evaluate(nearLast(false, []), [], NUM_ITEMS);
    expect(r).toMatchObject({ recall20: 0, mrr20: 0, cases: 0 });
  });
});
