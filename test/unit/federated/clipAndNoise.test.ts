import { describe, expect, it } from 'vitest';
import { addGaussianNoise, clipToNorm } from '../../../src/federated/clipAndNoise';
import { l2Norm } from '../../../src/federated/modelUpdate';
import { secureUniform } from '../../../src/federated/randomSource';
import { Random } from '../../../models/random';

const seeded = (seed: number): (() => number) => {
  const r = new Random(seed);
  return () => r.next();
};

describe('clipToNorm', () => {
  it('scales a long delta down to exactly the clip norm, keeping its direction', () => {
    const v = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const before = Float32Array.from(v);
    const norm = clipToNorm(v, 0.5);
    expect(norm).toBeCloseTo(l2Norm(before), 4);
    expect(l2Norm(v)).toBeCloseTo(0.5, 5);
    expect(v[7]! / before[7]!).toBeCloseTo(0.5 / norm, 5);
  });

  it('leaves a delta inside the ball unchanged', () => {
    const v = Float32Array.of(0.1, -0.2, 0.05);
    clipToNorm(v, 1);
    expect(Array.from(v)).toEqual(Array.from(Float32Array.of(0.1, -0.2, 0.05)));
  });

  it('rejects a clip norm ≤ 0', () => {
    expect(() => clipToNorm(new Float32Array(3), 0)).toThrow(RangeError);
  });
});

describe('addGaussianNoise', () => {
  it('adds zero-mean noise with the requested standard deviation (seeded, 200k draws)', () => {
    const n = 200_001; // odd: the last coordinate uses one output of a Box–Muller pair
    const v = new Float32Array(n).fill(3);
    addGaussianNoise(v, 0.25, seeded(7));
    let mean = 0;
    for (const x of v) mean += x - 3;
    mean /= n;
    let varSum = 0;
    let kurt = 0;
    for (const x of v) {
      varSum += (x - 3 - mean) ** 2;
      kurt += (x - 3 - mean) ** 4;
    }
    const std = Math.sqrt(varSum / (n - 1));
    // Standard errors: mean 0.25/√n ≈ 5.6e-4, std ≈ 0.25/√(2n) ≈ 4e-4. Bounds are ~5 SE.
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(Math.abs(std - 0.25)).toBeLessThan(0.002);
    // A Gaussian's kurtosis is 3 (a uniform's is 1.8): the shape is right, not only the spread.
    expect(kurt / n / std ** 4).toBeGreaterThan(2.9);
    expect(kurt / n / std ** 4).toBeLessThan(3.1);
  });

  it('does nothing at std 0 and draws from Web Crypto by default', () => {
    const v = Float32Array.of(1, 2);
    addGaussianNoise(v, 0, seeded(1));
    expect(Array.from(v)).toEqual([1, 2]);
    const u = secureUniform();
    const draws = Array.from({ length: 5000 }, u);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(0.5, 1);
  });
});
