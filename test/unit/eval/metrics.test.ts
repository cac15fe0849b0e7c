import { describe, expect, it } from 'vitest';
import { RankMetrics, expectedHit } from '../../../models/eval/metrics';

/** A row of `n` scores: `target` gets `targetScore`, `higher` items 10, `tied` items the same, the rest 0. */
function row(n: number, target: number, targetScore: number, higher: number, tied: number): Float32Array {
  const r = new Float32Array(n);
  const others = [...Array(n).keys()].filter((i) => i !== target);
  others.slice(0, higher).forEach((i) => (r[i] = 10));
  others.slice(higher, higher + tied).forEach((i) => (r[i] = targetScore));
  r[target] = targetScore;
  return r;
}

function one(scores: Float32Array, target: number, k = 20) {
  const m = new RankMetrics(k);
  m.add(scores, target);
  return m.result();
}

describe('expectedHit', () => {
  it('is exact for a unique rank', () => {
    expect(expectedHit(0, 0, 20)).toEqual({ recall: 1, rr: 1 });
    expect(expectedHit(19, 0, 20)).toEqual({ recall: 1, rr: 1 / 20 });
    expect(expectedHit(20, 0, 20)).toEqual({ recall: 0, rr: 0 });
  });

  it('averages over the tie group', () => {
    const r = expectedHit(18, 3, 20);
    expect(r.recall).toBeCloseTo(2 / 4, 12);
    expect(r.rr).toBeCloseTo((1 / 19 + 1 / 20) / 4, 12);
  });
});

describe('RankMetrics', () => {
  it('scores a target alone at the top as a hit at rank 1', () => {
    const r = one(row(100, 7, 5, 0, 0), 7);
    expect(r).toEqual({ k: 20, recall: 1, mrr: 1, cases: 1 });
  });

  it('target tied with 3 others at the top: recall 1, MRR = (1 + 1/2 + 1/3 + 1/4) / 4', () => {
    const r = one(row(100, 50, 5, 0, 3), 50);
    expect(r.recall).toBe(1);
    expect(r.mrr).toBeCloseTo((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4, 7);
  });

  it('g = 18, e = 3: recall 2/4, MRR (1/19 + 1/20)/4', () => {
    const r = one(row(1000, 3, 5, 18, 3), 3);
    expect(r.recall).toBeCloseTo(0.5, 12);
    expect(r.mrr).toBeCloseTo((1 / 19 + 1 / 20) / 4, 7);
  });

  it('g = 19, a unique rank 20, is still a hit; g = 20 is a miss', () => {
    expect(one(row(100, 0, 5, 19, 0), 0).mrr).toBeCloseTo(1 / 20, 7);
    expect(one(row(100, 0, 5, 20, 0), 0)).toMatchObject({ recall: 0, mrr: 0 });
  });

  it('a huge tie at 0 gives a small, exact expected recall', () => {
    const r = one(new Float32Array(43_097), 123);
    expect(r.recall).toBeCloseTo(20 / 43_097, 12);
  });

  it('honours a configurable K', () => {
    const r = one(row(100, 9, 5, 1, 1), 9, 2);
    // Rank uniform on {2, 3}: P(rank ≤ 2) = 1/2, MRR = (1/2)/2.
    expect(r).toMatchObject({ k: 2, recall: 0.5, mrr: 0.25 });
  });

  it('counts NaN scores as lower than every number', () => {
    const scores = Float32Array.from([NaN, NaN, 0.5, -Infinity, NaN]);
    expect(one(scores, 2)).toMatchObject({ recall: 1, mrr: 1 });
    expect(one(scores, 3)).toMatchObject({ recall: 1, mrr: 1 / 2 });
  });

  it('ranks a NaN target below every real score, tied with the other NaNs', () => {
    const scores = Float32Array.from([NaN, 1, 2, NaN]);
    const r = one(scores, 0);
    // g = 2 real scores, e = 1 other NaN: rank uniform on {3, 4}.
    expect(r.recall).toBe(1);
    expect(r.mrr).toBeCloseTo((1 / 3 + 1 / 4) / 2, 12);
  });

  it('counts an unknown target (-1) as a miss, but as a case', () => {
    const m = new RankMetrics();
    m.add(Float32Array.from([3, 2, 1]), -1);
    m.add(Float32Array.from([3, 2, 1]), 0);
    expect(m.result()).toEqual({ k: 20, recall: 0.5, mrr: 0.5, cases: 2 });
  });

  it('averages over cases and reports zeros when empty', () => {
    expect(new RankMetrics().result()).toEqual({ k: 20, recall: 0, mrr: 0, cases: 0 });
    const m = new RankMetrics();
    m.add(Float32Array.from([1, 2, 3]), 2);
    m.add(Float32Array.from([1, 2, 3]), 0);
    expect(m.result().mrr).toBeCloseTo((1 + 1 / 3) / 2, 12);
  });

  it('rejects a non-positive K', () => {
    expect(() => new RankMetrics(0)).toThrow(RangeError);
  });
});
