import type { ModelConfig } from '../model/plain/modelConfig';
import { federatedShapes, federatedSize } from './modelUpdate';

/** Weights by tensor name (`gru/Uz`, …), as float32 arrays. */
export type NamedWeights = ReadonlyMap<string, Float32Array>;

/**
 * `after − before` over the tensors of `FEDERATED_TENSORS`, flattened in wire order: the
 * update a device sends before clipping, noise and quantization. Throws if a tensor is missing
 * or has the wrong size (caller misuse: weights of another model).
 */
export function federatedDelta(before: NamedWeights, after: NamedWeights, config: ModelConfig): Float32Array {
  const delta = new Float32Array(federatedSize(config));
  let offset = 0;
  for (const [name, shape] of federatedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = after.get(name);
    const b = before.get(name);
    if (!a || !b || a.length !== n || b.length !== n) {
      throw new RangeError(`federatedDelta: "${name}" must be ${n} values in both weight sets`);
    }
    for (let i = 0; i < n; i++) delta[offset + i] = a[i]! - b[i]!;
    offset += n;
  }
  return delta;
}
