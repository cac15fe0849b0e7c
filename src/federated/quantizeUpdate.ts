import type { ModelConfig } from '../model/plain/modelConfig';
import { federatedShapes, federatedSize } from './modelUpdate';
import type { UniformSource } from './randomSource';

/** An update's values as int8 codes with one step size per tensor (value ≈ code × scale). */
export interface QuantizedUpdate {
  values: Int8Array;
  scales: number[];
}

/**
 * Quantizes a (clipped, noised) delta to int8, one scale per tensor of `FEDERATED_TENSORS`:
 * scale = max|v| / 127, so every code lies in [-127, 127].
 *
 * Rounding is stochastic: v/scale = k + f (0 ≤ f < 1) becomes k+1 with probability f, else k.
 * The code is then unbiased (E[code × scale] = v), so quantization adds zero-mean error that
 * averages out over the devices of a round instead of a bias that would add up (Alistarh et al.,
 * QSGD, 2017). The price: the error of one value is below one step (< scale), not half a step.
 */
export function quantizeUpdate(delta: Float32Array, config: ModelConfig, uniform: UniformSource): QuantizedUpdate {
  const size = federatedSize(config);
  if (delta.length !== size) throw new RangeError(`quantizeUpdate: delta has ${delta.length} values, expected ${size}`);
  const values = new Int8Array(size);
  const scales: number[] = [];
  let offset = 0;
  for (const [, shape] of federatedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let max = 0;
    for (let i = offset; i < offset + n; i++) max = Math.max(max, Math.abs(delta[i]!));
    const scale = max / 127;
    scales.push(scale);
    if (scale > 0) {
      for (let i = offset; i < offset + n; i++) {
        const x = delta[i]! / scale;
        const k = Math.floor(x);
        // Clamp guards the float edge case x = 127 + ε from rounding in the division.
        values[i] = Math.max(-127, Math.min(127, k + (uniform() < x - k ? 1 : 0)));
      }
    }
    offset += n;
  }
  return { values, scales };
}
