import { describe, expect, it } from 'vitest';
import {
  accumulate,
  applyFedAvg,
  fedAvg,
  fedAvgDenominator,
  trainableVector,
  updateWeight,
  withTrainable,
} from '../../../src/server/fedAvg';
import { denseShapes } from '../../../src/model/plain/modelConfig';
import { CONFIG, SIZE } from './updateFixtures';

const policy = { exampleCap: 16, stalenessDecay: 0.5 };

describe('DP-FedAvg with a fixed denominator', () => {
  it('weights updates by capped example count and staleness, never above 1', () => {
    expect(updateWeight(16, 0, policy)).toBe(1);
    expect(updateWeight(64, 0, policy)).toBe(1);
    expect(updateWeight(4, 0, policy)).toBe(0.25);
    expect(updateWeight(16, 1, policy)).toBe(0.5);
    expect(updateWeight(8, 2, policy)).toBe(0.125);
  });

  it('divides by the fixed denominator W = target × expected weight, not the realised weight sum', () => {
    const current = Float32Array.from([1, 2, 3]);
    const updates = [
      { delta: Float32Array.from([1, 0, 0]), weight: 1 },
      { delta: Float32Array.from([0, 2, 0]), weight: 0.5 },
    ];
    const W = fedAvgDenominator(4, 1);
    const out = fedAvg(current, updates, 2, W);
    // current + lr · Σ w Δ / W = [1 + 2·1/4, 2 + 2·1/4, 3]
    expect(Array.from(out)).toEqual([1.5, 2.5, 3]);
    // A lone update moves the model by at most lr · C / W, whatever the others do.
    expect(Array.from(fedAvg(current, [updates[0]!], 1, W))).toEqual([1.25, 2, 3]);
    expect(() => fedAvgDenominator(0, 1)).toThrow(RangeError);
  });

  it('accumulates incrementally to the same result as averaging at once', () => {
    const current = new Float32Array(5);
    const a = Float32Array.from([1, -1, 0.5, 0, 2]);
    const b = Float32Array.from([0, 1, 1, 1, -2]);
    const sum = new Float64Array(5);
    accumulate(sum, a, 0.5);
    accumulate(sum, b, 0.25);
    expect(Array.from(applyFedAvg(current, sum, 1, 2))).toEqual(
      Array.from(
        fedAvg(
          current,
          [
            { delta: a, weight: 0.5 },
            { delta: b, weight: 0.25 },
          ],
          1,
          2,
        ),
      ),
    );
    expect(() => accumulate(sum, new Float32Array(3), 1)).toThrow(RangeError);
  });

  it('maps the trainable tensors to the wire-order vector and back, leaving frozen ones alone', () => {
    const dense = new Map(
      denseShapes(CONFIG).map(([name, shape], i) => [name, new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(i)]),
    );
    const v = trainableVector(dense, CONFIG);
    expect(v.length).toBe(SIZE);
    expect(v[0]).toBe(denseShapes(CONFIG).findIndex(([n]) => n === 'gru/Uz'));
    const moved = withTrainable(
      dense,
      v.map((x) => x + 1),
      CONFIG,
    );
    expect(moved.get('gru/Uz')![0]).toBe(v[0]! + 1);
    expect(moved.get('gru/Wz')).toBe(dense.get('gru/Wz'));
    expect(moved.get('out/item')!.length).toBe(CONFIG.embedDim * CONFIG.embedDim);
  });
});
