import { describe, expect, it } from 'vitest';
import { SparseAdam } from '../../../models/train/sparseAdam';

describe('SparseAdam', () => {
  it('moves only the rows it is given, and with `trainable` only those rows among them', () => {
    const table = new Float32Array(4 * 2).fill(1);
    const adam = new SparseAdam(table, 2, 0.1);
    const grad = new Float32Array(8).fill(0.5);
    adam.apply(Int32Array.from([0, 2]), grad);
    // Adam's first step moves each coordinate by lr·sign(g).
    [0.9, 0.9, 1, 1, 0.9, 0.9, 1, 1].forEach((v, i) => expect(table[i]).toBeCloseTo(v, 6));
    // The applied rows' gradients are consumed (zeroed), the others left as they were.
    expect(Array.from(grad)).toEqual([0, 0, 0.5, 0.5, 0, 0, 0.5, 0.5]);
    adam.trainable = Uint8Array.from([0, 1, 1, 0]);
    grad.fill(0.5);
    adam.apply(Int32Array.from([0, 1, 3]), grad);
    expect(table[0]).toBeCloseTo(0.9, 6);
    expect(table[2]).toBeLessThan(1);
    expect(table[6]).toBe(1);
    // A frozen row's gradient is dropped too, so it cannot leak into a later step.
    expect(Array.from(grad)).toEqual(
      Array(8)
        .fill(0)
        .map((_, i) => (i >= 4 && i < 6 ? 0.5 : 0)),
    );
  });
});
