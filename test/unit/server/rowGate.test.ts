import { describe, expect, it } from 'vitest';
import { rowGateFactor } from '../../../src/server/rowGate';
import { addGaussianNoise } from '../../../src/federated/clipAndNoise';
import { Random } from '../../../models/random';

describe('rowGateFactor (the noisy-row gate, post-processing of a noised row)', () => {
  it('passes every row unshrunk without noise or without a threshold', () => {
    expect(rowGateFactor(0, 64, 0, 4)).toBe(1);
    expect(rowGateFactor(1e-9, 64, 1, 0)).toBe(1);
  });

  it('drops a row up to the bar and shrinks one above it by the James-Stein factor', () => {
    // 64 values of variance 1: the bar is 64 + 4·√128 ≈ 109.25.
    const bar = 64 + 4 * Math.sqrt(128);
    expect(rowGateFactor(bar, 64, 1, 4)).toBe(0);
    expect(rowGateFactor(bar + 1e-6, 64, 1, 4)).toBeCloseTo(1 - 64 / (bar + 1e-6), 12);
    expect(rowGateFactor(6400, 64, 1, 4)).toBeCloseTo(0.99, 12);
    // Summed over 3 rounds the noise energy and its spread are 3 times as large.
    expect(rowGateFactor(3 * bar, 64, 1, 4, 3)).toBe(0);
    expect(rowGateFactor(3 * bar + 1e-6, 64, 1, 4, 3)).toBeCloseTo(1 - 192 / (3 * bar + 1e-6), 12);
  });

  it('lets a row of noise alone through at the χ² tail rate (~3.7e-4 at z 4, 64 values)', () => {
    const rng = new Random(3);
    const row = new Float32Array(64);
    let passed = 0;
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      row.fill(0);
      addGaussianNoise(row, 0.1, () => rng.next());
      let e = 0;
      for (const v of row) e += v * v;
      if (rowGateFactor(e, 64, 0.01, 4) > 0) passed++;
    }
    // Expected 14.8 of 40,000; a Poisson count that large stays well within 3-35.
    expect(passed).toBeGreaterThanOrEqual(3);
    expect(passed).toBeLessThanOrEqual(35);
  });

  it('refuses a negative threshold or variance', () => {
    expect(() => rowGateFactor(1, 64, 1, -1)).toThrow(/z must be ≥ 0/);
    expect(() => rowGateFactor(1, 64, -1, 4)).toThrow(/noiseVar must be ≥ 0/);
    expect(() => rowGateFactor(1, 64, 1, NaN)).toThrow(/z must be ≥ 0/);
  });
});
