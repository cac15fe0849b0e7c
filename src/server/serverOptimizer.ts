/**
 * How the server applies a round's averaged update to the model.
 *
 * - `sgd`: plain FedAvg with a server learning rate, `x += lr · Δ` (McMahan et al. 2017).
 * - `momentum`: FedAvgM (Hsu, Qi and Brown, "Measuring the effects of non-identical data
 *   distribution for federated visual classification", 2019): `m = βm + Δ`, `x += lr · m`, per
 *   coordinate (β = `beta1`); its effective rate in a steady direction is lr / (1 − β).
 * - `adam`: FedAdam (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, Algorithm 2):
 *   `m = β₁m + (1−β₁)Δ`, `v = β₂v + (1−β₂)Δ²`, `x += lr · m / (√v + τ)`, per coordinate, without
 *   bias correction, as in the paper. Item-embedding rows are announced in some rounds only, and
 *   a row that one device in a cohort of hundreds touched moves by 1/K of that device's step under
 *   plain averaging; the per-coordinate normalisation gives rarely-seen rows a step of their own.
 *   Moments of a row change only in rounds that announce it (as sparse Adam does centrally).
 *
 * Both read only the published aggregate (noised when the round adds noise), so the choice costs
 * no privacy: it is post-processing of a differentially private release.
 */
export type ServerOptimizerKind = 'sgd' | 'momentum' | 'adam';

/** Settings of a {@link ServerOptimizer}. */
export interface ServerOptimizerOptions {
  kind: ServerOptimizerKind;
  lr: number;
  /** FedAdam's β₁, β₂ and τ (defaults 0.9, 0.99, 1e-3: the paper's); FedAvgM's β is β₁. */
  beta1?: number;
  beta2?: number;
  tau?: number;
}

export class ServerOptimizer {
  readonly kind: ServerOptimizerKind;
  readonly lr: number;
  private readonly _b1: number;
  private readonly _b2: number;
  private readonly _tau: number;
  private readonly _m: Float32Array | null;
  private readonly _v: Float32Array | null;

  /** @param size coordinates whose moments this optimizer keeps (adam only). */
  constructor(size: number, o: ServerOptimizerOptions) {
    if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new RangeError(`ServerOptimizer: lr must be a positive number, got ${o.lr}`);
    this.kind = o.kind;
    this.lr = o.lr;
    this._b1 = o.beta1 ?? 0.9;
    this._b2 = o.beta2 ?? 0.99;
    this._tau = o.tau ?? 1e-3;
    if (!(this._b1 >= 0 && this._b1 < 1 && this._b2 >= 0 && this._b2 < 1 && this._tau > 0))
      throw new RangeError('ServerOptimizer: β₁ and β₂ must be in [0, 1) and τ > 0');
    this._m = o.kind === 'sgd' ? null : new Float32Array(size);
    this._v = o.kind === 'adam' ? new Float32Array(size) : null;
  }

  /**
   * Applies the averaged update `delta` to `params[paramsAt …]`, using the moments of coordinates
   * `momentsAt …` (adam). `params` is changed in place.
   */
  step(params: Float32Array, paramsAt: number, delta: ArrayLike<number>, momentsAt = paramsAt): void {
    const n = delta.length;
    if (paramsAt < 0 || paramsAt + n > params.length) throw new RangeError('ServerOptimizer.step: the update does not fit the parameters');
    const m = this._m;
    const v = this._v;
    if (!m) {
      for (let j = 0; j < n; j++) params[paramsAt + j] = params[paramsAt + j]! + this.lr * delta[j]!;
      return;
    }
    if (momentsAt < 0 || momentsAt + n > m.length) throw new RangeError('ServerOptimizer.step: the update does not fit the moments');
    if (!v) {
      for (let j = 0; j < n; j++) {
        const k = momentsAt + j;
        m[k] = this._b1 * m[k]! + delta[j]!;
        params[paramsAt + j] = params[paramsAt + j]! + this.lr * m[k]!;
      }
      return;
    }
    for (let j = 0; j < n; j++) {
      const g = delta[j]!;
      const k = momentsAt + j;
      m[k] = this._b1 * m[k]! + (1 - this._b1) * g;
      v[k] = this._b2 * v[k]! + (1 - this._b2) * g * g;
      params[paramsAt + j] = params[paramsAt + j]! + (this.lr * m[k]!) / (Math.sqrt(v[k]!) + this._tau);
    }
  }
}
