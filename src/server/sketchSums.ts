import type { SketchAnnouncement } from '../federated/announcedSketch';
import { sketchEstimates, sketchHash } from '../federated/itemSketch';

/**
 * A round's sum of item sketches (src/federated/itemSketch.ts), by the round each update was made
 * for: a stale update of an earlier round carries that round's sketch, under that round's hash, so
 * each adds into its own round's sum and is read with its own hash. The sums are never applied to
 * the model: they only become the estimates the row schedule ranks rows by (rowSchedule.ts).
 */
export class SketchSums {
  private readonly _sums = new Map<string, { sketch: SketchAnnouncement; sum: Float64Array }>();

  /** Adds `weight × values`, the sketch part of an update for a round that asked for `sketch` (null: none, nothing to add). */
  add(sketch: SketchAnnouncement | null, values: ArrayLike<number>, weight: number): void {
    if (!sketch) return;
    if (values.length !== sketch.buckets) throw new RangeError(`SketchSums.add: ${values.length} values for a sketch of ${sketch.buckets}`);
    const key = `${sketch.buckets}:${sketch.seed}`;
    let entry = this._sums.get(key);
    if (!entry) this._sums.set(key, (entry = { sketch, sum: new Float64Array(sketch.buckets) }));
    for (let b = 0; b < values.length; b++) entry.sum[b]! += weight * values[b]!;
  }

  /**
   * Per item of `numItems`: `scale ×` the sum's estimate (`sign(i) · sum[bucket(i)]`), added over
   * the rounds summed; with `scale` = updates / their weight sum, the estimate counts devices (each
   * weighted by its sketch's norm per distinct item). Null when no update carried a sketch.
   */
  estimates(numItems: number, scale: number): Float64Array | null {
    if (this._sums.size === 0) return null;
    const out = new Float64Array(numItems);
    for (const { sketch, sum } of this._sums.values()) {
      const e = sketchEstimates(sum, sketchHash(sketch.buckets, sketch.seed), numItems);
      for (let i = 0; i < numItems; i++) out[i]! += scale * e[i]!;
    }
    return out;
  }
}
