import type { ModelConfig } from '../model/plain/modelConfig';
import { federatedShapes, federatedSize } from './modelUpdate';

/** Weights by tensor name (`gru/Uz`, …), as float32 arrays. */
export type NamedWeights = ReadonlyMap<string, Float32Array>;

/** A round's announced item rows, before and after training (`rows × embedDim` each, in announcement order). */
export interface TrainedRows {
  start: Float32Array;
  trained: Float32Array;
}

/**
 * `after − before` in the layout of `modelUpdate.ts` (`updateLayout`): the tensors of
 * `FEDERATED_TENSORS` flattened in wire order, then, when the round announced rows, `trained −
 * start` of those rows: the update a device sends before clipping, noise and quantization.
 * Throws if a tensor is missing or has the wrong size (caller misuse: weights of another model).
 */
export function federatedDelta(before: NamedWeights, after: NamedWeights, config: ModelConfig, rows?: TrainedRows): Float32Array {
  const denseSize = federatedSize(config);
  const rowValues = rows ? rows.start.length : 0;
  if (rows && (rows.trained.length !== rowValues || rowValues % config.embedDim !== 0))
    throw new RangeError(`federatedDelta: the rows must be whole rows of ${config.embedDim}, the same number before and after`);
  const delta = new Float32Array(denseSize + rowValues);
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
  for (let i = 0; i < rowValues; i++) delta[denseSize + i] = rows!.trained[i]! - rows!.start[i]!;
  return delta;
}
