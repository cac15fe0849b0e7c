import type { ModelConfig } from '../model/plain/modelConfig';
import { SKETCH_SHARE } from './announcedSketch';
import { clipToNorm } from './clipAndNoise';
import { federatedDelta, type NamedWeights, type TrainedRows } from './federatedDelta';
import { itemSketch, type SketchHash } from './itemSketch';

/** The sketch part of an upload: the round's public hash and the sessions the device trained on. */
export interface UploadSketch {
  hash: SketchHash;
  sessions: ReadonlyArray<ArrayLike<number>>;
}

/**
 * The vector a device uploads before noise and quantization, in the round's `updateLayout`: the
 * change of the dense tensors and the announced rows (`federatedDelta`), clipped to `clipNorm`,
 * or, when the round asks for an item sketch, clipped to √(C² − c²) and followed by the sketch of
 * the device's distinct items at norm c = {@link SKETCH_SHARE}·C. Either way the whole vector has
 * L2 norm ≤ C, the bound the round's noise and (ε, δ) are computed for, and the split is fixed (not
 * the device's), so neither the sizes nor the norms of the parts say anything about its items.
 */
export function uploadVector(o: {
  before: NamedWeights;
  after: NamedWeights;
  config: ModelConfig;
  rows?: TrainedRows;
  sketch?: UploadSketch;
  clipNorm: number;
}): Float32Array {
  const delta = federatedDelta(o.before, o.after, o.config, o.rows);
  if (!o.sketch) {
    clipToNorm(delta, o.clipNorm);
    return delta;
  }
  const sketchNorm = SKETCH_SHARE * o.clipNorm;
  clipToNorm(delta, Math.sqrt(o.clipNorm ** 2 - sketchNorm ** 2));
  const out = new Float32Array(delta.length + o.sketch.hash.buckets);
  out.set(delta);
  out.set(itemSketch(o.sketch.sessions, o.sketch.hash, sketchNorm), delta.length);
  return out;
}
