import { clipToNorm } from '../../src/federated/clipAndNoise';
import { l2Norm } from '../../src/federated/modelUpdate';
import type { Random } from '../random';

// Which item rows a simulated device uploads, and what they cost: the server's random coordinate
// subsets (`rowDims`), a device's own rows (`privateRows`) and their key size in a sparse secure
// aggregation, and how an update's two parts share the clip norm (`rowClipShare`).

/**
 * The distinct items of a device's sessions, most frequent first (ties: first seen), at most `m`:
 * the rows it trains and uploads when it picks its own (`privateRows`).
 */
export function ownRows(sessions: readonly Int32Array[], m: number): Int32Array {
  const count = new Map<number, number>();
  for (const x of sessions) for (const i of x) count.set(i, (count.get(i) ?? 0) + 1);
  const order = [...count.keys()];
  return Int32Array.from(
    order
      .map((i, at) => [i, count.get(i)!, at] as const)
      .sort((a, b) => b[1] - a[1] || a[2] - b[2])
      .slice(0, m)
      .map((e) => e[0]),
  );
}

/**
 * Estimated bytes of one row's keys in a sparse secure aggregation by distributed point function
 * (BGI16: Boyle, Gilboa and Ishai, "Function Secret Sharing: Improvements and Extensions", CCS
 * 2016), over a domain of `numItems` rows with `values` shares of `bits` each: the leader's key
 * (a 16-byte seed, one correction word of 16 bytes and 2 bits per level of the ⌈log₂ N⌉-level tree,
 * and the output correction of `values` shares) plus the helper's own 16-byte seed (the correction
 * words are common to both keys). An estimate for the simulation; nothing here builds the keys.
 */
export function dpfKeyBytes(numItems: number, values: number, bits: number): number {
  const levels = Math.ceil(Math.log2(Math.max(numItems, 2)));
  return 16 + Math.ceil((levels * (128 + 2)) / 8) + Math.ceil((values * bits) / 8) + 16;
}

/**
 * For each of `rows` rows, `w` distinct coordinates of `d` (a partial Fisher–Yates shuffle per
 * row), row after row: the subsampled update's public layout for one round.
 */
export function pickCoordinates(rows: number, d: number, w: number, rng: Random): Int32Array {
  const out = new Int32Array(rows * w);
  const perm = new Int32Array(d);
  for (let j = 0; j < rows; j++) {
    for (let c = 0; c < d; c++) perm[c] = c;
    for (let c = 0; c < w; c++) {
      const t = c + rng.int(d - c);
      const v = perm[t]!;
      perm[t] = perm[c]!;
      perm[c] = v;
      out[j * w + c] = v;
    }
  }
  return out;
}

/**
 * How much of the devices' events their own `m` rows keep: the distinct items a device holds
 * (mean, 99th percentile, most) and the share of all events whose item is among its `m` rows.
 */
export function ownRowsCoverage(
  devices: readonly (readonly Int32Array[])[],
  m: number,
): { meanDistinct: number; p99Distinct: number; maxDistinct: number; keptShare: number } {
  const distinct: number[] = [];
  let kept = 0;
  let all = 0;
  for (const sessions of devices) {
    const mine = new Set(ownRows(sessions, m));
    distinct.push(new Set(sessions.flatMap((x) => Array.from(x))).size);
    for (const x of sessions)
      for (const i of x) {
        all++;
        if (mine.has(i)) kept++;
      }
  }
  distinct.sort((a, b) => a - b);
  return {
    meanDistinct: distinct.reduce((a, b) => a + b, 0) / Math.max(distinct.length, 1),
    p99Distinct: distinct[Math.floor(0.99 * (distinct.length - 1))] ?? 0,
    maxDistinct: distinct[distinct.length - 1] ?? 0,
    keptShare: kept / Math.max(all, 1),
  };
}

/** What {@link clipParts} measured of an update before clipping it. */
export interface PartNorms {
  /** L2 norm of the whole update, of its dense values (`[0, denseSize)`) and of its rows (the rest). */
  norm: number;
  dense: number;
  rows: number;
  /** Whether clipping changed the update. */
  clipped: boolean;
}

/**
 * Clips an update of dense values (`[0, denseSize)`) and item rows (the rest) in place so that its
 * L2 norm is at most `clip`. `rowShare` 0: one clip over the whole (the default). In (0, 1): each
 * part is clipped on its own, the rows to rowShare·clip and the dense values to √(1 − rowShare²)·clip,
 * so the whole stays within `clip` (the sensitivity the noise is sized for is unchanged) while the
 * rows keep a share of it that does not depend on how large the dense change is.
 * @returns the norms before clipping.
 */
export function clipParts(v: Float32Array, denseSize: number, clip: number, rowShare: number): PartNorms {
  if (!(rowShare >= 0 && rowShare < 1)) throw new RangeError(`clipParts: rowShare must be in [0, 1), got ${rowShare}`);
  const dense = v.subarray(0, denseSize);
  const rows = v.subarray(denseSize);
  const norms = { dense: l2Norm(dense), rows: l2Norm(rows), norm: 0, clipped: false };
  norms.norm = Math.hypot(norms.dense, norms.rows);
  if (rowShare === 0) norms.clipped = clipToNorm(v, clip) > clip;
  else {
    const denseClip = Math.sqrt(1 - rowShare ** 2) * clip;
    norms.clipped = clipToNorm(dense, denseClip) > denseClip;
    if (rows.length > 0 && clipToNorm(rows, rowShare * clip) > rowShare * clip) norms.clipped = true;
  }
  return norms;
}
