import type { ModelConfig } from '../model/plain/modelConfig';
import { federatedShapes, federatedSize } from '../federated/modelUpdate';

/**
 * DP-FedAvg with a fixed denominator (McMahan, Ramage, Talwar & Zhang 2018, "Learning
 * Differentially Private Recurrent Language Models", Algorithm 1, the "fixed-denominator"
 * estimator `f̃_f`). Pure functions over the flat vector of trainable values, in the wire order of
 * `FEDERATED_TENSORS`.
 *
 * Each accepted update i gets a weight `w_i ≤ 1` ({@link updateWeight}); the new trainable
 * weights are `old + serverLr · (Σ w_i Δ_i) / W`, where `W` is *fixed* in advance
 * ({@link fedAvgDenominator}) rather than the realised `Σ w_i`. Why fixed: with the realised sum,
 * one device's share of the step depends on how many others took part (a lone device would
 * move the model by its whole update), so its influence, the sensitivity the noise is sized
 * for, would be unbounded. With a fixed `W` one device moves the model by at most
 * `serverLr · C / W` whatever the others do, and the Gaussian noise the devices add is
 * calibrated to exactly that.
 */

/** How updates are weighted; see {@link updateWeight}. */
export interface WeightPolicy {
  /** Example buckets above this count as this many: one heavy device cannot dominate a round. */
  exampleCap: number;
  /** Weight factor per version of staleness (e.g. 0.5: one version behind counts half). */
  stalenessDecay: number;
}

/**
 * The weight of one update: `min(exampleBucket, cap) / cap × decay^staleness`, always in (0, 1],
 * so every device's contribution to the weighted sum stays within its clip norm.
 */
export function updateWeight(exampleBucket: number, staleness: number, policy: WeightPolicy): number {
  const examples = Math.min(Math.max(exampleBucket, 0), policy.exampleCap) / policy.exampleCap;
  return examples * policy.stalenessDecay ** Math.max(staleness, 0);
}

/**
 * The fixed FedAvg denominator `W = targetUpdates × expectedWeight`: the weight a full round
 * of typical updates would carry. Fixed before the round, never the realised sum (see above).
 */
export function fedAvgDenominator(targetUpdates: number, expectedWeight: number): number {
  if (!(targetUpdates > 0 && expectedWeight > 0)) throw new RangeError('targetUpdates and expectedWeight must be > 0');
  return targetUpdates * expectedWeight;
}

/** Adds `weight × delta` into the running sum (float64, so the order of updates barely matters). */
export function accumulate(sum: Float64Array, delta: Float32Array, weight: number): void {
  if (sum.length !== delta.length) throw new RangeError(`delta has ${delta.length} values, the sum ${sum.length}`);
  for (let i = 0; i < sum.length; i++) sum[i]! += weight * delta[i]!;
}

/** One server step: `current + serverLr × weightedSum / denominator`, as a new array. */
export function applyFedAvg(current: Float32Array, weightedSum: Float64Array, serverLr: number, denominator: number): Float32Array {
  if (current.length !== weightedSum.length)
    throw new RangeError(`model has ${current.length} trainable values, the sum ${weightedSum.length}`);
  const k = serverLr / denominator;
  const out = new Float32Array(current.length);
  for (let i = 0; i < out.length; i++) out[i] = current[i]! + k * weightedSum[i]!;
  return out;
}

/** A decoded update and its weight. */
export interface WeightedDelta {
  delta: Float32Array;
  weight: number;
}

/** FedAvg of a whole round at once (the server accumulates as updates arrive; same result). */
export function fedAvg(current: Float32Array, updates: WeightedDelta[], serverLr: number, denominator: number): Float32Array {
  const sum = new Float64Array(current.length);
  for (const u of updates) accumulate(sum, u.delta, u.weight);
  return applyFedAvg(current, sum, serverLr, denominator);
}

/** The trainable tensors of a model, concatenated in wire order (the vector updates apply to). */
export function trainableVector(dense: Map<string, Float32Array>, config: ModelConfig): Float32Array {
  const out = new Float32Array(federatedSize(config));
  let offset = 0;
  for (const [name] of federatedShapes(config)) {
    const t = dense.get(name);
    if (!t) throw new RangeError(`model lacks trainable tensor ${name}`);
    out.set(t, offset);
    offset += t.length;
  }
  return out;
}

/** The inverse of {@link trainableVector}: a copy of `dense` with the trainable tensors replaced. */
export function withTrainable(dense: Map<string, Float32Array>, vector: Float32Array, config: ModelConfig): Map<string, Float32Array> {
  const out = new Map(dense);
  let offset = 0;
  for (const [name, shape] of federatedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(name, vector.slice(offset, offset + n));
    offset += n;
  }
  return out;
}
