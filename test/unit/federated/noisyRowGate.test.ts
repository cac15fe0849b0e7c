import { describe, expect, it } from 'vitest';
import { NoisyRowGate } from '../../../models/federated/noisyRowGate';
import { ServerOptimizer } from '../../../src/server/serverOptimizer';
import { Random } from '../../../models/random';

const N = 2000;
const D = 16;
const STD = 0.01;

/** Rows 0 … held-1 hold `signal` in every value, every other row nothing. */
const meanOf =
  (signal: number, held: number) =>
  (r: number, out: Float32Array): boolean => {
    out.fill(r < held ? signal : 0);
    return r < held && signal !== 0;
  };

const run = (gate: NoisyRowGate, signal: number, rounds: number, std = STD, held = 1) => {
  const items = new Float32Array(N * D);
  const rng = new Random(1);
  const sgd = new ServerOptimizer(N * D, { kind: 'sgd', lr: 1 });
  const applied: number[] = [];
  for (let t = 0; t < rounds; t++) applied.push(gate.step(meanOf(signal, held), std, 1, () => rng.next(), items, sgd));
  const moved = new Set<number>();
  for (let i = 0; i < items.length; i++) if (items[i] !== 0) moved.add(Math.floor(i / D));
  return { items, applied, moved };
};

describe('NoisyRowGate (own rows under DP, post-processing of the noised sum)', () => {
  it('without a threshold every row takes the noise; without noise only nonzero rows move', () => {
    expect(run(new NoisyRowGate({ numItems: N, rowSize: D, threshold: 0, accumulate: false }), 0.1, 1).moved.size).toBe(N);
    const clean = run(new NoisyRowGate({ numItems: N, rowSize: D, threshold: 0, accumulate: false }), 0.1, 1, 0);
    expect([...clean.moved]).toEqual([0]);
    expect(clean.items[0]).toBeCloseTo(0.1, 6);
  });

  it('a threshold leaves the rows of noise alone and applies a strong row, shrunk towards zero', () => {
    // Row energy 16 × 0.1² = 0.16 against the noise's 16 × 0.01² = 0.0016: far above the bar.
    const r = run(new NoisyRowGate({ numItems: N, rowSize: D, threshold: 4, accumulate: false }), 0.1, 5);
    // P(χ²₁₆ > 16 + 4·√32 ≈ 38.6) ≈ 1e-3, so a few of the 10,000 noise rows may pass, no more.
    expect(r.moved.has(0)).toBe(true);
    expect(r.moved.size).toBeLessThan(1 + 40);
    let sum = 0;
    for (let c = 0; c < D; c++) sum += r.items[c]!;
    // Five rounds of 0.1, each shrunk by ~1 − 0.0016/0.16 = 0.99.
    expect(sum / D).toBeGreaterThan(0.47);
    expect(sum / D).toBeLessThan(0.51);
  });

  it('weak rows under the bar rarely move alone, and are applied once their rounds add up (accumulate)', () => {
    // 100 rows of signal energy 16 × 0.003² = 1.4e-4 a round, against the bar's
    // 16·1e-4 + 4·√32·1e-4 = 3.9e-3: summed over n rounds the signal grows as n², the bar as n.
    const weak = (accumulate: boolean) => run(new NoisyRowGate({ numItems: N, rowSize: D, threshold: 4, accumulate }), 0.003, 40, STD, 100);
    const held = (moved: Set<number>): number => [...moved].filter((r) => r < 100).length;
    const dropped = weak(false);
    expect(held(dropped.moved)).toBeLessThan(30);
    const summed = weak(true);
    expect(held(summed.moved)).toBeGreaterThan(90);
    // What was applied is at most the rows' summed signal (0.003 a round × 40), shrunk.
    let sum = 0;
    for (let i = 0; i < 100 * D; i++) sum += summed.items[i]!;
    expect(sum / (100 * D)).toBeGreaterThan(0.03);
    expect(sum / (100 * D)).toBeLessThan(40 * 0.003);
    // Rows of noise alone seldom clear it, though tested every round.
    expect(summed.moved.size - held(summed.moved)).toBeLessThan(0.05 * N);
  });

  it('refuses a negative threshold and accumulation without one', () => {
    expect(() => new NoisyRowGate({ numItems: 1, rowSize: 1, threshold: -1, accumulate: false })).toThrow(/threshold must be ≥ 0/);
    expect(() => new NoisyRowGate({ numItems: 1, rowSize: 1, threshold: 0, accumulate: true })).toThrow(/needs a threshold/);
  });
});
