import type { UpdateLayout } from './modelUpdate';
import type { UniformSource } from './randomSource';

/** An update's values as int8 codes with one step size per block (value ≈ code × scale). */
export interface QuantizedUpdate {
  values: Int8Array;
  scales: number[];
}

/**
 * Quantizes a (clipped, noised) delta to int8, one scale per block of its layout (each tensor of
 * `FEDERATED_TENSORS`, then the announced rows): scale = max|v| / 127, so every code lies in [-127, 127].
 *
 * Rounding is stochastic: v/scale = k + f (0 ≤ f < 1) becomes k+1 with probability f, else k.
 * The code is then unbiased (E[code × scale] = v), so quantization adds zero-mean error that
 * averages out over the devices of a round instead of a bias that would add up (Alistarh et al.,
 * QSGD, 2017). The price: the error of one value is below one step (< scale), not half a step.
 */
export function quantizeUpdate(delta: Float32Array, layout: UpdateLayout, uniform: UniformSource): QuantizedUpdate {
  const size = layout.length;
  if (delta.length !== size) throw new RangeError(`quantizeUpdate: delta has ${delta.length} values, expected ${size}`);
  const values = new Int8Array(size);
  const scales: number[] = [];
  let offset = 0;
  for (const { size: n } of layout.blocks) {
    let max = 0;
    for (let i = offset; i < offset + n; i++) max = Math.max(max, Math.abs(delta[i]!));
    const scale = max / 127;
    scales.push(scale);
    if (scale > 0) {
      for (let i = offset; i < offset + n; i++) {
        // The clamp only guards the float edge case x = 127 + ε from rounding in the division.
        values[i] = stochasticCode(delta[i]! / scale, uniform);
      }
    }
    offset += n;
  }
  return { values, scales };
}

/** `x` (in steps) to an int8 code by stochastic rounding (unbiased inside the range), clamped to [-127, 127]. */
export function stochasticCode(x: number, uniform: UniformSource): number {
  const k = Math.floor(x);
  return Math.max(-127, Math.min(127, k + (uniform() < x - k ? 1 : 0)));
}

/**
 * Quantizes with one step for every value, fixed in advance (secure aggregation sums codes of many
 * devices, so they must share their steps). Values beyond ±127 steps are clamped: a biased edge,
 * which the announced step makes rare (see secureAggregation/secureReport.ts).
 */
export function quantizeAtScale(delta: Float32Array, scale: number, uniform: UniformSource): Int8Array {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`quantizeAtScale: the step must be a positive number, not ${scale}`);
  const codes = new Int8Array(delta.length);
  for (let i = 0; i < delta.length; i++) codes[i] = stochasticCode(delta[i]! / scale, uniform);
  return codes;
}
