/**
 * The item sketch a round asks for, as `GET /v1/model` carries it (`round.sketch`): the number of
 * buckets and the seed of the round's public hash (itemSketch.ts). Shared by the server (which
 * writes it) and the device (which reads and checks it, and skips a round it cannot follow).
 */

/** A round's item sketch: `buckets` values after the rows, hashed with `seed`. */
export interface SketchAnnouncement {
  buckets: number;
  seed: number;
}

/** Share of the clip norm a device gives its sketch; the rest of the update is clipped to √(C² − (share·C)²). */
export const SKETCH_SHARE = 0.3;

/**
 * The seed of round `roundId`'s hash: public and a function of the round alone, so that every
 * device of the round, and the server after a restart, use the same one, and collisions differ
 * from round to round (they average out in the server's running estimate).
 */
export function sketchSeed(roundId: number): number {
  return roundId >>> 0;
}

/**
 * The round's sketch, checked: null when the round asks for none (absent or null), the
 * announcement when its buckets are an integer in [1, `maxBuckets`] and its seed a 32-bit unsigned
 * integer, else a string saying what is wrong (the device then skips the round).
 */
export function fromSketchAnnouncement(raw: unknown, maxBuckets: number): SketchAnnouncement | null | string {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) return 'the sketch is not an object';
  const { buckets, seed } = raw as Record<string, unknown>;
  if (!Number.isInteger(buckets) || (buckets as number) < 1 || (buckets as number) > maxBuckets)
    return `the sketch's buckets must be an integer in [1, ${maxBuckets}], got ${JSON.stringify(buckets)}`;
  if (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > 0xffffffff)
    return `the sketch's seed must be a 32-bit unsigned integer, got ${JSON.stringify(seed)}`;
  return { buckets: buckets as number, seed: seed as number };
}
