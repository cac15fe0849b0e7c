import { describe, expect, it } from 'vitest';
import { epsilonFor, epsilonFromRdp, rdpCurve, rdpSampledGaussian, RDP_ORDERS } from '../../../src/server/privacyAccountant';
import { PrivacyLedger, roundNoiseMultiplier } from '../../../src/server/privacyLedger';

describe('privacy accountant (RDP of the subsampled Gaussian)', () => {
  it('is the plain Gaussian mechanism at q = 1: rdp(α) = α / (2σ²)', () => {
    for (const a of [2, 3, 10, 64, 256]) expect(rdpSampledGaussian(1, 1, a)).toBeCloseTo(a / 2, 12);
    expect(rdpSampledGaussian(1, 2, 8)).toBeCloseTo(8 / 8, 12);
    const delta = 1e-5;
    const expected = Math.min(...RDP_ORDERS.map((a) => a / 2 + Math.log(1 / delta) / (a - 1)));
    expect(epsilonFor({ noiseMultiplier: 1, samplingRate: 1, rounds: 1, delta }).epsilon).toBeCloseTo(expected, 12);
  });

  it('matches the closed form at order 2: log(1 + q²(e^{1/σ²} − 1))', () => {
    for (const [q, s] of [
      [0.5, 1],
      [0.01, 0.8],
      [0.2, 3],
    ] as const) {
      expect(rdpSampledGaussian(q, s, 2)).toBeCloseTo(Math.log(1 + q * q * (Math.exp(1 / (s * s)) - 1)), 12);
    }
  });

  it("reproduces TF-Privacy's DP-SGD reference point (MNIST tutorial: ε = 3.01 at δ = 1e-5)", () => {
    // compute_dp_sgd_privacy --N=60000 --batch_size=256 --noise_multiplier=1.1 --epochs=60 --delta=1e-5
    // → "eps = 3.01" (tensorflow/privacy tutorials/README.md).
    const { epsilon, order } = epsilonFor({
      noiseMultiplier: 1.1,
      samplingRate: 256 / 60000,
      rounds: Math.ceil((60 * 60000) / 256),
      delta: 1e-5,
    });
    expect(epsilon).toBeGreaterThan(2.8);
    expect(epsilon).toBeLessThan(3.1);
    expect(Math.abs(epsilon - 3.01)).toBeLessThan(0.05);
    expect(order).toBeGreaterThan(2);
  });

  it('grows with rounds and sampling, shrinks with noise; no noise → ∞, nothing released → 0', () => {
    const e = (noiseMultiplier: number, samplingRate: number, rounds: number): number =>
      epsilonFor({ noiseMultiplier, samplingRate, rounds, delta: 1e-6 }).epsilon;
    expect(e(1, 0.001, 100)).toBeLessThan(e(1, 0.001, 1000));
    expect(e(1, 0.001, 100)).toBeLessThan(e(1, 0.01, 100));
    expect(e(2, 0.01, 100)).toBeLessThan(e(1, 0.01, 100));
    expect(e(0, 0.01, 1)).toBe(Infinity);
    expect(e(1, 0.01, 0)).toBe(0);
    expect(e(1, 0, 10)).toBe(0);
    expect(() => rdpSampledGaussian(0.1, 1, 1)).toThrow(RangeError);
  });

  it('composes rounds additively: the ledger equals T rounds at once', () => {
    const ledger = new PrivacyLedger(1e-6);
    for (let t = 0; t < 50; t++) ledger.add({ noiseMultiplier: 1.2, samplingRate: 0.01 });
    const direct = epsilonFor({ noiseMultiplier: 1.2, samplingRate: 0.01, rounds: 50, delta: 1e-6 });
    expect(ledger.report().cumulative.epsilon).toBeCloseTo(direct.epsilon, 9);
    expect(ledger.report().lastRound!.epsilon).toBeCloseTo(
      epsilonFor({ noiseMultiplier: 1.2, samplingRate: 0.01, rounds: 1, delta: 1e-6 }).epsilon,
      9,
    );
    expect(ledger.report().cumulativeWithoutSampling.epsilon).toBeCloseTo(
      epsilonFromRdp(rdpCurve({ noiseMultiplier: 1.2, samplingRate: 1, rounds: 50 }), 1e-6).epsilon,
      9,
    );
  });

  it("derives a round's effective noise multiplier from its weights (other devices' noise only)", () => {
    expect(roundNoiseMultiplier([1, 1, 1, 1, 1], 1, 5)).toBeCloseTo(Math.sqrt(4 / 5), 12);
    // Uniform weights scale out; uneven ones and fewer updates than the target cost privacy.
    expect(roundNoiseMultiplier([0.25, 0.25, 0.25, 0.25, 0.25], 1, 5)).toBeCloseTo(Math.sqrt(4 / 5), 12);
    expect(roundNoiseMultiplier([1, 0.5, 0.5, 0.5, 0.5], 1, 5)).toBeCloseTo(1 / Math.sqrt(5), 12);
    expect(roundNoiseMultiplier([1, 1, 1], 1, 5)).toBeCloseTo(Math.sqrt(2 / 5), 12);
    expect(roundNoiseMultiplier([1], 1, 5)).toBe(0);
  });
});
