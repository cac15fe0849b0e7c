/**
 * A public low-rank basis for the item rows' updates (simulation only, `--row-basis r`).
 *
 * Each device uploads, per announced row, its change's r coordinates in a basis `P` (d × r,
 * orthonormal columns) that the server publishes with the round, instead of the d values: d/r
 * times the rows for the same bytes. The sum of projections is the projection of the sum, so the
 * server loses only the part of the round's aggregate row change outside span(P). To keep P on
 * the directions rows actually move in, every upload also carries its rows' second moment
 * `Σ δδᵀ` (the upper triangle, scaled to a fixed norm like the item sketch), and the server takes
 * the next round's P from the summed moments by a warm-started subspace iteration: the low-rank
 * compression of PowerSGD (Vogels, Karimireddy and Jaggi, NeurIPS 2019), with the basis refreshed
 * from aggregates only, so it can run inside secure aggregation. The first basis comes from the
 * pretrained item table (public).
 */

/** Values of the upper triangle (diagonal included) of a d × d symmetric matrix. */
export function momentLength(d: number): number {
  return (d * (d + 1)) / 2;
}

/**
 * `Σ_j δ_j δ_jᵀ` over the `rows.length / d` rows of `rows`, as its upper triangle (off-diagonal
 * entries × √2, so the vector's L2 norm is the matrix's Frobenius norm), scaled to L2 norm `norm`
 * (a zero vector stays zero).
 */
export function rowMoment(rows: Float32Array, d: number, norm: number): Float32Array {
  const m = new Float64Array(d * d);
  for (let o = 0; o < rows.length; o += d)
    for (let a = 0; a < d; a++) {
      const x = rows[o + a]!;
      if (x === 0) continue;
      for (let b = a; b < d; b++) m[a * d + b]! += x * rows[o + b]!;
    }
  const out = new Float32Array(momentLength(d));
  let k = 0;
  let s = 0;
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      const v = a === b ? m[a * d + b]! : Math.SQRT2 * m[a * d + b]!;
      out[k++] = v;
      s += v * v;
    }
  const f = s > 0 ? norm / Math.sqrt(s) : 0;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * f;
  return out;
}

/** The d × d symmetric matrix of an upper triangle written by {@link rowMoment}. */
export function momentMatrix(v: ArrayLike<number>, d: number): Float64Array {
  const m = new Float64Array(d * d);
  let k = 0;
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      const x = a === b ? v[k++]! : v[k++]! / Math.SQRT2;
      m[a * d + b] = x;
      m[b * d + a] = x;
    }
  return m;
}

/** Orthonormalises the r columns of `p` (d × r, row-major) in place (modified Gram–Schmidt). */
function orthonormalize(p: Float64Array, d: number, r: number): void {
  for (let c = 0; c < r; c++) {
    for (let q = 0; q < c; q++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += p[i * r + c]! * p[i * r + q]!;
      for (let i = 0; i < d; i++) p[i * r + c]! -= dot * p[i * r + q]!;
    }
    let n = 0;
    for (let i = 0; i < d; i++) n += p[i * r + c]! ** 2;
    n = Math.sqrt(n);
    if (n < 1e-12) {
      // A degenerate column: restart it on a coordinate axis and orthogonalise again.
      for (let i = 0; i < d; i++) p[i * r + c] = i === c % d ? 1 : 0;
      c--;
      continue;
    }
    for (let i = 0; i < d; i++) p[i * r + c]! /= n;
  }
}

/**
 * The top-r eigenvectors of the symmetric `m` (d × d) by subspace iteration from `start`
 * (d × r; warm start: the previous basis), `iterations` times.
 */
export function topSubspace(m: Float64Array, d: number, r: number, start: Float64Array, iterations = 30): Float64Array {
  let p = Float64Array.from(start);
  orthonormalize(p, d, r);
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(d * r);
    for (let i = 0; i < d; i++)
      for (let k = 0; k < d; k++) {
        const x = m[i * d + k]!;
        if (x === 0) continue;
        for (let c = 0; c < r; c++) next[i * r + c]! += x * p[k * r + c]!;
      }
    orthonormalize(next, d, r);
    p = next;
  }
  return p;
}

/** The first basis: the top-r principal directions of the unit rows `0 … rows-1` of `items`. */
export function tableBasis(items: Float32Array, rows: number, d: number, r: number): Float64Array {
  const m = new Float64Array(d * d);
  for (let i = 0; i < rows; i++) {
    let n = 0;
    for (let a = 0; a < d; a++) n += items[i * d + a]! ** 2;
    const f = n > 0 ? 1 / n : 0;
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m[a * d + b]! += f * items[i * d + a]! * items[i * d + b]!;
  }
  const start = new Float64Array(d * r);
  for (let c = 0; c < r; c++) start[c * r + c] = 1;
  return topSubspace(m, d, r, start, 60);
}

/** Coordinates `Pᵀ δ` of each row of `rows` (k × d) in the basis: k × r. */
export function project(rows: Float32Array, p: Float64Array, d: number, r: number): Float32Array {
  const k = rows.length / d;
  const out = new Float32Array(k * r);
  for (let j = 0; j < k; j++)
    for (let i = 0; i < d; i++) {
      const x = rows[j * d + i]!;
      if (x === 0) continue;
      for (let c = 0; c < r; c++) out[j * r + c]! += x * p[i * r + c]!;
    }
  return out;
}

/** One row's change `P c` from its r coordinates `c`, into `out` (d values). */
export function lift(c: ArrayLike<number>, p: Float64Array, d: number, r: number, out: Float32Array): void {
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let q = 0; q < r; q++) s += p[i * r + q]! * c[q]!;
    out[i] = s;
  }
}

/** trace(Pᵀ M P) / trace(M): the share of a moment matrix's energy inside span(P). */
export function capturedShare(m: Float64Array, p: Float64Array, d: number, r: number): number {
  let trace = 0;
  for (let i = 0; i < d; i++) trace += m[i * d + i]!;
  let inside = 0;
  for (let c = 0; c < r; c++)
    for (let i = 0; i < d; i++) {
      let mp = 0;
      for (let k = 0; k < d; k++) mp += m[i * d + k]! * p[k * r + c]!;
      inside += p[i * r + c]! * mp;
    }
  return trace > 0 ? inside / trace : 0;
}
