import { describe, expect, it } from 'vitest';
import { federatedShapes, federatedSize, updateLayout } from '../../../src/federated/modelUpdate';
import { quantizeUpdate } from '../../../src/federated/quantizeUpdate';
import type { ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';

const config: ModelConfig = { numItems: 50, embedDim: 8, hiddenDim: 6, attnDim: 4, scale: 10, maxLen: 8 };
const rand = new Random(3);
const uniform = (): number => rand.next();

describe('quantizeUpdate', () => {
  it('uses one scale per tensor (max|v|/127) and errs by less than one step per value', () => {
    const size = federatedSize(config);
    // Tensors of very different magnitude: per-tensor scales keep the small ones precise.
    const delta = new Float32Array(size);
    let offset = 0;
    federatedShapes(config).forEach(([, shape], t) => {
      const n = shape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < n; i++) delta[offset + i] = rand.normal() * 10 ** -t;
      offset += n;
    });
    const { values, scales } = quantizeUpdate(delta, updateLayout(config), uniform);
    expect(values.length).toBe(size);
    expect(scales.length).toBe(federatedShapes(config).length);
    offset = 0;
    federatedShapes(config).forEach(([, shape], t) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const part = delta.subarray(offset, offset + n);
      expect(scales[t]).toBeCloseTo(Math.max(...Array.from(part, Math.abs)) / 127, 12);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(values[offset + i]!)).toBeLessThanOrEqual(127);
        // Stochastic rounding picks one of the two neighbouring steps: error < one step.
        expect(Math.abs(values[offset + i]! * scales[t]! - part[i]!)).toBeLessThan(scales[t]! * (1 + 1e-6));
      }
      offset += n;
    });
  });

  it('is unbiased: the mean of many quantizations converges to the value', () => {
    const size = federatedSize(config);
    const delta = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 1.7));
    const sum = new Float64Array(size);
    const reps = 400;
    let scale0 = 0;
    for (let r = 0; r < reps; r++) {
      const { values, scales } = quantizeUpdate(delta, updateLayout(config), uniform);
      scale0 = scales[0]!;
      const n0 = config.hiddenDim * config.hiddenDim; // the first tensor, gru/Uz
      for (let i = 0; i < n0; i++) sum[i]! += values[i]! * scales[0]!;
    }
    let worst = 0;
    let meanErr = 0;
    const n0 = config.hiddenDim * config.hiddenDim;
    for (let i = 0; i < n0; i++) {
      const err = sum[i]! / reps - delta[i]!;
      worst = Math.max(worst, Math.abs(err));
      meanErr += err / n0;
    }
    // Per value the average's SD is ≤ scale/(2√reps) = scale/40; deterministic rounding would
    // leave errors up to scale/2 that never shrink.
    expect(worst).toBeLessThan(scale0 / 8);
    expect(Math.abs(meanErr)).toBeLessThan(scale0 / 50);
  });

  it('codes an all-zero tensor as zeros with scale 0', () => {
    const { values, scales } = quantizeUpdate(new Float32Array(federatedSize(config)), updateLayout(config), uniform);
    expect(scales.every((s) => s === 0)).toBe(true);
    expect(values.every((v) => v === 0)).toBe(true);
  });
});
