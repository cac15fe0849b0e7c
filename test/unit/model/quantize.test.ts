import { describe, expect, it } from 'vitest';
import { dequantizeInt8, fromFloat16, quantizeInt8, toFloat16 } from '../../../src/model/plain/quantize';
import { Random } from '../../../models/random';

describe('float16 codec', () => {
  it('round-trips exactly representable values', () => {
    for (const v of [0, 1, -1, 0.5, 2048, 65504, -65504, 2 ** -14, 2 ** -24]) expect(fromFloat16(toFloat16(v))).toBe(v);
  });
  it('rounds to the nearest half-precision value (relative error ≤ 2^-11)', () => {
    const rng = new Random(3);
    for (let i = 0; i < 1000; i++) {
      const v = (rng.next() * 2 - 1) * 100;
      expect(Math.abs(fromFloat16(toFloat16(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
  });
  it('maps overflow to infinity and NaN to NaN', () => {
    expect(fromFloat16(toFloat16(1e6))).toBe(Infinity);
    expect(fromFloat16(toFloat16(NaN))).toBeNaN();
  });
});

describe('int8 quantisation', () => {
  const rows = 37;
  const cols = 11;
  const rng = new Random(7);
  const data = new Float32Array(rows * cols);
  // Rows of very different ranges: the case per-row scales exist for.
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = rng.normal() * 10 ** ((r % 5) - 2);

  for (const axis of [0, 1] as const) {
    it(`keeps every value within half a step of its ${axis === 0 ? 'row' : 'column'} scale`, () => {
      const q = quantizeInt8(data, rows, cols, axis);
      const back = dequantizeInt8(q);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const s = q.scales[axis === 0 ? r : c]!;
          expect(Math.abs(back[r * cols + c]! - data[r * cols + c]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
        }
      }
    });
  }

  it('uses the full int8 range on each row and never exceeds ±127', () => {
    const q = quantizeInt8(data, rows, cols, 0);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(q.values.subarray(r * cols, (r + 1) * cols), Math.abs);
      expect(Math.max(...row)).toBeGreaterThanOrEqual(126);
      expect(Math.max(...row)).toBeLessThanOrEqual(127);
    }
  });

  it('per-row scales beat one scale for the whole matrix on mixed-range rows', () => {
    const perRow = dequantizeInt8(quantizeInt8(data, rows, cols, 0));
    const whole = dequantizeInt8(quantizeInt8(data, rows * cols, 1, 1));
    // Relative squared error per row, summed: small-range rows are where one shared scale fails.
    const err = (a: Float32Array): number => {
      let total = 0;
      for (let r = 0; r < rows; r++) {
        let e = 0,
          n = 0;
        for (let c = 0; c < cols; c++) {
          e += (a[r * cols + c]! - data[r * cols + c]!) ** 2;
          n += data[r * cols + c]! ** 2;
        }
        total += e / n;
      }
      return total;
    };
    expect(err(perRow)).toBeLessThan(err(whole) / 100);
  });

  it('stores a zero row without dividing by zero', () => {
    const q = quantizeInt8(new Float32Array(6), 2, 3, 0);
    expect(Array.from(dequantizeInt8(q))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
