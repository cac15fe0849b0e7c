import { describe, expect, it } from 'vitest';
import { pairedDifference, type Quality } from '../../../models/eval/pairedEvaluation';

/** A Quality with the given per-session recall sums (one case per session). */
const q = (recall: number[]): Quality => ({
  recall20: recall.reduce((a, b) => a + b, 0) / recall.length,
  mrr20: 0,
  cases: recall.length,
  seconds: 0,
  perSession: { cases: Float64Array.from(recall, () => 1), recall: Float64Array.from(recall), rr: new Float64Array(recall.length) },
});

describe('pairedDifference: end − start with a paired bootstrap over sessions', () => {
  it('finds no difference between a model and itself', () => {
    const a = q(Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    const d = pairedDifference(a, a, 'recall', 500, 1);
    expect(d).toMatchObject({ diff: 0, low: 0, high: 0, pNotBetter: 1 });
  });

  it('puts the interval above 0 when the end gains in many sessions and loses in none', () => {
    const start = q(Array.from({ length: 200 }, () => 0));
    const end = q(Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 1 : 0)));
    const d = pairedDifference(start, end, 'recall', 1000, 2);
    expect(d.diff).toBeCloseTo(0.25, 9);
    expect(d.low).toBeGreaterThan(0);
    expect(d.pNotBetter).toBe(0);
  });

  it('straddles 0 when gains and losses balance', () => {
    const start = q(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : 0)));
    const end = q(Array.from({ length: 200 }, (_, i) => (i % 2 === 1 ? 1 : 0)));
    const d = pairedDifference(start, end, 'recall', 1000, 3);
    expect(d.low).toBeLessThan(0);
    expect(d.high).toBeGreaterThan(0);
  });
});
