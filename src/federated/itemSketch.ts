/**
 * A count sketch of the items a device touched, part of its upload when the round asks for one,
 * so that the server can learn which items are popular — new products included — from the
 * aggregate alone, and announce their rows (see src/server/rowSchedule.ts).
 *
 * The device adds `sign(i)` to bucket `bucket(i)` once for each distinct item `i` of its sessions,
 * then scales the sketch to L2 norm `norm` (a fixed share of the clip norm: the rest of the update
 * is clipped to what is left, so the whole upload stays within C). The buckets and signs come from
 * a public hash seeded per round (the round announces the seed), so collisions differ from round to
 * round and average out in the server's running estimate. The sketch is summed by secure
 * aggregation and noised like every other value; the server reads only the noised sum:
 * `estimate(i) = sign(i) · sum[bucket(i)]` counts the devices that touched `i`, each weighted by
 * `norm / √(its distinct items)` (Charikar, Chen, Farach-Colton, "Finding frequent items in data
 * streams", ICALP 2002; the same construction as Apple's private count-mean sketch, 2017, and the
 * federated heavy-hitter discovery of Zhu et al., AISTATS 2020, with secure aggregation in place of
 * local noise).
 */

/** 32-bit mix (the finaliser of MurmurHash3). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The public hash of a round: bucket and sign of every item. */
export interface SketchHash {
  buckets: number;
  bucket(item: number): number;
  sign(item: number): 1 | -1;
}

export function sketchHash(buckets: number, seed: number): SketchHash {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`sketchHash: buckets must be a positive integer, got ${buckets}`);
  const s = mix(seed >>> 0 || 1);
  return {
    buckets,
    bucket: (item) => mix(item ^ s) % buckets,
    sign: (item) => ((mix((item + 0x9e3779b9) ^ s) & 1) === 0 ? 1 : -1),
  };
}

/** A device's sketch of its distinct items, scaled to L2 norm `norm` (zeros when it has none). */
export function itemSketch(sessions: ReadonlyArray<ArrayLike<number>>, hash: SketchHash, norm: number): Float32Array {
  const out = new Float32Array(hash.buckets);
  const seen = new Set<number>();
  for (const s of sessions) for (let t = 0; t < s.length; t++) seen.add(s[t]!);
  for (const i of seen) out[hash.bucket(i)]! += hash.sign(i);
  let e = 0;
  for (const v of out) e += v * v;
  if (e > 0) {
    const f = norm / Math.sqrt(e);
    for (let b = 0; b < out.length; b++) out[b] = out[b]! * f;
  }
  return out;
}

/** The server's estimate for every item of the catalogue from a summed sketch. */
export function sketchEstimates(sum: ArrayLike<number>, hash: SketchHash, numItems: number): Float64Array {
  const out = new Float64Array(numItems);
  for (let i = 0; i < numItems; i++) out[i] = hash.sign(i) * sum[hash.bucket(i)]!;
  return out;
}
