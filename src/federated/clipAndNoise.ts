import { l2Norm } from './modelUpdate';
import type { UniformSource } from './randomSource';

/**
 * Scales `delta` in place to L2 norm at most `clipNorm` (multiplies by min(1, C/‖Δ‖)), the
 * bound on one device's influence that differential privacy needs (Abadi et al. 2016;
 * McMahan et al., "Learning differentially private recurrent language models", ICLR 2018).
 * Returns the norm before clipping.
 */
export function clipToNorm(delta: Float32Array, clipNorm: number): number {
  if (!(clipNorm > 0)) throw new RangeError(`clipToNorm: clipNorm must be > 0, got ${clipNorm}`);
  const norm = l2Norm(delta);
  if (norm > clipNorm) {
    const f = clipNorm / norm;
    for (let i = 0; i < delta.length; i++) delta[i] = delta[i]! * f;
  }
  return norm;
}

/**
 * Adds independent Gaussian noise N(0, std²) to every coordinate of `v`, in place. Normal draws
 * come from pairs of uniform draws by the Box–Muller transform (both outputs are used).
 */
export function addGaussianNoise(v: Float32Array, std: number, uniform: UniformSource): void {
  if (!(std >= 0) || !Number.isFinite(std)) throw new RangeError(`addGaussianNoise: std must be a finite number ≥ 0, got ${std}`);
  if (std === 0) return;
  for (let i = 0; i < v.length; i += 2) {
    const u = 1 - uniform(); // (0, 1]: log(u) is finite
    const r = std * Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * uniform();
    v[i] = v[i]! + r * Math.cos(a);
    if (i + 1 < v.length) v[i + 1] = v[i + 1]! + r * Math.sin(a);
  }
}
