import { describe, expect, it } from 'vitest';
import { BASELINE_NAMES, createBaseline } from '../../../models/eval/baselines';
import { ItemKnnScorer } from '../../../models/eval/baselines/itemKnn';
import { PopScorer } from '../../../models/eval/baselines/pop';
import { SessionIndex } from '../../../models/eval/baselines/sessionIndex';
import { SknnScorer } from '../../../models/eval/baselines/sknn';
import { SpopScorer } from '../../../models/eval/baselines/spop';
import { TopNeighbours } from '../../../models/eval/baselines/topNeighbours';
import { VsknnScorer } from '../../../models/eval/baselines/vsknn';
import type { SessionScorer } from '../../../models/eval/scorer';

/*
 * Five training sessions over six items, in time order (S0 oldest):
 *   S0 = 0 1 2    S1 = 1 2    S2 = 2 3    S3 = 2 3 3    S4 = 4 5
 * Views per item: 0:1 1:2 2:4 3:3 4:1 5:1. Sessions per item: 0:1 1:2 2:4 3:2 4:1 5:1.
 */
const N = 6;
const TRAIN = [
  [0, 1, 2],
  [1, 2],
  [2, 3],
  [2, 3, 3],
  [4, 5],
].map((s) => Int32Array.from(s));

/** Scores one prefix; the output buffer starts full of garbage to prove every entry is written. */
function scoreOne(scorer: SessionScorer, prefix: number[]): number[] {
  const out = new Float32Array(2 * N).fill(99);
  void scorer.scoreBatch([Int32Array.from(prefix), Int32Array.of(4)], out);
  return Array.from(out.subarray(0, N));
}

function expectScores(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i], `item ${i}`).toBeCloseTo(e, 5));
}

describe('POP', () => {
  it('scores every session by training view counts', () => {
    expectScores(scoreOne(new PopScorer(TRAIN, N), [5]), [1, 2, 4, 3, 1, 1]);
  });
});

describe('S-POP', () => {
  it('ranks by views in the prefix, then by training popularity', () => {
    // maxPop = 4, so the tie-breaker is pop / 5.
    const s = scoreOne(new SpopScorer(TRAIN, N), [3, 1, 3]);
    expectScores(s, [1 / 5, 1 + 2 / 5, 4 / 5, 2 + 3 / 5, 1 / 5, 1 / 5]);
  });
});

describe('Item-KNN', () => {
  it('scores by cosine of event co-occurrence with the last item only (λ = 0)', () => {
    // cooc(2,0) = 1, cooc(2,1) = 2, cooc(2,3) = 1·1 (S2) + 1·2 (S3) = 3; supp(2) = 4.
    const s = scoreOne(new ItemKnnScorer(TRAIN, N, { lambda: 0 }), [0, 2]);
    expectScores(s, [1 / Math.sqrt(4 * 1), 2 / Math.sqrt(4 * 2), 0, 3 / Math.sqrt(4 * 3), 0, 0]);
  });

  it('damps rare items with λ and keeps only the best neighbours', () => {
    const s = scoreOne(new ItemKnnScorer(TRAIN, N, { lambda: 20, neighbours: 2 }), [2]);
    expectScores(s, [0, 2 / Math.sqrt(24 * 22), 0, 3 / Math.sqrt(24 * 23), 0, 0]);
  });
});

describe('SKNN', () => {
  it('sums the set-cosine of the neighbour sessions containing each item', () => {
    // P = {1}: neighbours S0 (1/√3) and S1 (1/√2).
    const a = 1 / Math.sqrt(3);
    const b = 1 / Math.sqrt(2);
    expectScores(scoreOne(new SknnScorer(TRAIN, N), [1]), [a, a + b, a + b, 0, 0, 0]);
  });

  it('keeps the k most similar neighbours', () => {
    const b = 1 / Math.sqrt(2);
    expectScores(scoreOne(new SknnScorer(TRAIN, N, { k: 1 }), [1]), [0, b, b, 0, 0, 0]);
  });

  it('compares only the most recent sessions sharing an item', () => {
    // Item 2 is in S0…S3; a sample of 2 keeps S3 and S2, each with cosine 1/√2.
    const b = 1 / Math.sqrt(2);
    expectScores(scoreOne(new SknnScorer(TRAIN, N, { sampleSize: 2 }), [2]), [0, 0, 2 * b, 2 * b, 0, 0]);
  });
});

describe('V-SKNN', () => {
  // Prefix 1 3: weights 1/2 (item 1) and 1 (item 3). S0 and S1 share item 1 (sim 1/2, seen
  // 2 views ago: discount 1/2); S2 and S3 share item 3 (sim 1, last view: discount 1).
  const plain = [0.25, 0.5, 0.25 + 0.25 + 1 + 1, 2, 0, 0];

  it('weights the prefix by position and discounts neighbours by recency', () => {
    expectScores(scoreOne(new VsknnScorer(TRAIN, N, { idfWeighting: 0 }), [1, 3]), plain);
  });

  it('boosts specific items by 1 + λ·idf', () => {
    const df = [1, 2, 4, 2, 1, 1];
    const boosted = plain.map((v, i) => v * (1 + Math.log(5 / df[i]!)));
    expectScores(scoreOne(new VsknnScorer(TRAIN, N, { idfWeighting: 1 }), [1, 3]), boosted);
  });

  it('uses the last position of a repeated item', () => {
    // Prefix 3 1 3: item 3 last at position 3 of 3 (weight 1), item 1 at 2 (weight 2/3, step 2).
    const s = scoreOne(new VsknnScorer(TRAIN, N, { idfWeighting: 0 }), [3, 1, 3]);
    const far = (2 / 3) * (1 / 2);
    expectScores(s, [far, 2 * far, 2 * far + 2, 2, 0, 0]);
  });
});

describe('shared pieces', () => {
  it('SessionIndex merges the newest sessions of several items without duplicates', () => {
    const index = new SessionIndex(TRAIN, N);
    const into = new Int32Array(10);
    const n = index.recentSessions([1, 3], 10, into);
    expect(Array.from(into.subarray(0, n))).toEqual([3, 2, 1, 0]);
    expect(index.recentSessions([1, 3], 3, into)).toBe(3);
    expect(index.sessionCount(3)).toBe(2);
  });

  it('TopNeighbours keeps the k best, preferring recent sessions on equal similarity', () => {
    const top = new TopNeighbours(2);
    [
      [0.5, 0],
      [0.9, 1],
      [0.5, 7],
      [0.1, 3],
      [0.5, 4],
    ].forEach(([sim, id]) => top.push(sim!, id!));
    const kept = Array.from(top.ids.subarray(0, top.size)).sort((a, b) => a - b);
    expect(kept).toEqual([1, 7]);
  });

  it('every baseline overwrites the whole row and builds from the factory', () => {
    for (const name of BASELINE_NAMES) {
      const scorer = createBaseline(name, TRAIN, N);
      expect(scorer.name).toBe(name);
      const out = new Float32Array(2 * N).fill(NaN);
      void scorer.scoreBatch([Int32Array.of(1, 2), Int32Array.of(4)], out);
      expect(
        out.every((v) => Number.isFinite(v)),
        name,
      ).toBe(true);
    }
  });
});
