import { describe, expect, it } from 'vitest';
import {
  capturedShare,
  lift,
  momentLength,
  momentMatrix,
  project,
  rowMoment,
  tableBasis,
  topSubspace,
} from '../../../models/federated/rowBasis';
import { Random } from '../../../models/random';

const d = 6;

describe('row basis (simulation: rank-r row updates in a public basis)', () => {
  it('rowMoment writes Σ δδᵀ as an upper triangle at the asked norm, and momentMatrix reads it back', () => {
    const rows = Float32Array.from([1, 2, 0, 0, 0, 3, 0, 1, 1, 0, 0, 0]);
    const m = new Float64Array(d * d);
    for (let o = 0; o < rows.length; o += d)
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m[a * d + b]! += rows[o + a]! * rows[o + b]!;
    const fro = Math.sqrt(m.reduce((s, x) => s + x * x, 0));
    const v = rowMoment(rows, d, 2);
    expect(v.length).toBe(momentLength(d));
    expect(Math.hypot(...v)).toBeCloseTo(2, 5);
    const back = momentMatrix(v, d);
    for (let i = 0; i < d * d; i++) expect(back[i]!).toBeCloseTo((m[i]! * 2) / fro, 5);
    expect(Array.from(rowMoment(new Float32Array(d), d, 1))).toEqual(Array(momentLength(d)).fill(0));
  });

  it('topSubspace finds the top eigenvectors; project then lift is exact inside the span and drops the rest', () => {
    // diag(9, 5, 1, 0.5, 0.2, 0.1) rotated by a random orthonormal Q: the top 2 are Q's first columns.
    const rng = new Random(3);
    const q = Float64Array.from({ length: d * d }, () => rng.normal());
    // Orthonormalise Q's columns (Gram–Schmidt) for the test's own reference.
    for (let c = 0; c < d; c++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += q[i * d + c]! * q[i * d + p]!;
        for (let i = 0; i < d; i++) q[i * d + c]! -= dot * q[i * d + p]!;
      }
      const n = Math.sqrt(Array.from({ length: d }, (_, i) => q[i * d + c]! ** 2).reduce((a, b) => a + b));
      for (let i = 0; i < d; i++) q[i * d + c]! /= n;
    }
    const ev = [9, 5, 1, 0.5, 0.2, 0.1];
    const m = new Float64Array(d * d);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) for (let c = 0; c < d; c++) m[a * d + b]! += q[a * d + c]! * ev[c]! * q[b * d + c]!;
    const start = new Float64Array(d * 2);
    start[0] = 1;
    start[3] = 1;
    const p = topSubspace(m, d, 2, start, 100);
    // span(P) = span(q₀, q₁): each of q₀, q₁ projects onto P with norm 1.
    for (const c of [0, 1]) {
      const col = Float32Array.from({ length: d }, (_, i) => q[i * d + c]!);
      const coords = project(col, p, d, 2);
      expect(Math.hypot(...coords)).toBeCloseTo(1, 4);
      const out = new Float32Array(d);
      lift(coords, p, d, 2, out);
      for (let i = 0; i < d; i++) expect(out[i]!).toBeCloseTo(col[i]!, 4);
    }
    // The top 2 of the 6 eigenvalues hold (9 + 5) / 15.8 of the trace.
    expect(capturedShare(m, p, d, 2)).toBeCloseTo(14 / 15.8, 4);
    // q₅ is orthogonal to the span: nothing of it survives.
    const last = Float32Array.from({ length: d }, (_, i) => q[i * d + 5]!);
    expect(Math.hypot(...project(last, p, d, 2))).toBeLessThan(1e-3);
  });

  it('tableBasis spans the directions the rows of the table lie in', () => {
    // Rows in the plane of the first two axes (any norm): the basis is that plane.
    const rng = new Random(5);
    const items = new Float32Array(50 * d);
    for (let i = 0; i < 50; i++) {
      items[i * d] = rng.normal() * 3;
      items[i * d + 1] = rng.normal();
    }
    const p = tableBasis(items, 50, d, 2);
    for (const axis of [0, 1]) {
      const e = Float32Array.from({ length: d }, (_, i) => (i === axis ? 1 : 0));
      expect(Math.hypot(...project(e, p, d, 2))).toBeCloseTo(1, 4);
    }
  });
});
