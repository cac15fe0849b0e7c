/**
 * Symmetric int8 quantisation with one scale per row or per column, and the float16 codec the
 * scales are stored in. Per-row scales matter for the item table: rows of rare and popular items
 * differ in range, and one scale for the whole table would waste most of the 8 bits.
 */

/** An int8 matrix with one float scale per row (`axis = 0`) or per column (`axis = 1`). */
export interface Int8Matrix {
  rows: number;
  cols: number;
  axis: 0 | 1;
  scales: Float32Array;
  values: Int8Array;
}

/**
 * Quantises `data` (`rows × cols`, row-major): `q = round(x / s)` with `s = max|x| / 127` over
 * each row (axis 0) or column (axis 1), so that |x − q·s| ≤ s/2 everywhere. Scales are rounded to
 * float16 *before* quantising, so the stored scale is exactly the one the values were made with.
 */
export function quantizeInt8(data: Float32Array, rows: number, cols: number, axis: 0 | 1): Int8Matrix {
  const n = axis === 0 ? rows : cols;
  const maxAbs = new Float32Array(n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = axis === 0 ? r : c;
      const a = Math.abs(data[r * cols + c]!);
      if (a > maxAbs[k]!) maxAbs[k] = a;
    }
  }
  const scales = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    // Round up through float16 so that max|x| / s never exceeds 127 after rounding the scale.
    let s = fromFloat16(toFloat16(maxAbs[k]! / 127));
    if (s * 127 < maxAbs[k]!) s = fromFloat16(toFloat16(s) + 1);
    scales[k] = s > 0 ? s : 1;
  }
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = scales[axis === 0 ? r : c]!;
      const q = Math.round(data[r * cols + c]! / s);
      values[r * cols + c] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { rows, cols, axis, scales, values };
}

/** Expands an {@link Int8Matrix} back to float32, row-major. */
export function dequantizeInt8(m: Int8Matrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      out[r * m.cols + c] = m.values[r * m.cols + c]! * m.scales[m.axis === 0 ? r : c]!;
    }
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE-754 binary16 bits of `x` (round to nearest even; overflow → ±Infinity). */
export function toFloat16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** The number whose binary16 bits are `h`. */
export function fromFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
