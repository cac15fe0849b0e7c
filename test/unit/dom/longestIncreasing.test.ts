import { describe, expect, it } from 'vitest';
import { longestIncreasing } from '../../../src/dom/longestIncreasing';

const run = (xs: number[]): number[] => [...longestIncreasing(xs)].sort((a, b) => a - b).map((i) => xs[i]!);

describe('longestIncreasing', () => {
  it('finds one longest strictly increasing run, as positions', () => {
    expect(run([0, 1, 2, 3])).toEqual([0, 1, 2, 3]);
    expect(run([3, 2, 1, 0])).toHaveLength(1);
    expect(run([2, 0, 1, 3])).toEqual([0, 1, 3]);
    expect(run([4, 0, 5, 1, 2, 6, 3])).toEqual([0, 1, 2, 3]);
    expect(run([])).toEqual([]);
  });

  it('is as long as the brute-force answer on every permutation of 6', () => {
    const perms = (xs: number[]): number[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    const brute = (xs: number[]): number => {
      let best = 0;
      for (let mask = 0; mask < 1 << xs.length; mask++) {
        const sub = xs.filter((_, i) => mask & (1 << i));
        if (sub.every((v, i) => i === 0 || v > sub[i - 1]!)) best = Math.max(best, sub.length);
      }
      return best;
    };
    for (const p of perms([0, 1, 2, 3, 4, 5])) {
      const r = run(p);
      expect(r.every((v, i) => i === 0 || v > r[i - 1]!)).toBe(true);
      expect(r.length).toBe(brute(p));
    }
  });
});
