/**
 * Privacy accounting for rounds of the Poisson-subsampled Gaussian mechanism, with Rényi
 * differential privacy (RDP).
 *
 * - RDP of one round at integer order α, sampling rate q and noise multiplier σ (the noise std
 *   divided by the L2 sensitivity): `rdp(α) = log A_α / (α − 1)` with
 *   `A_α = Σ_{k=0}^{α} C(α,k) (1−q)^{α−k} q^k exp((k² − k) / (2σ²))`
 *   (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
 *   Mechanism", arXiv:1908.10530, Section 3.3; the same closed form as TF-Privacy's
 *   `_compute_log_a_int`). Computed in log space so large orders and small σ do not overflow.
 *   With q = 1 it is the plain Gaussian mechanism, `rdp(α) = α / (2σ²)`.
 * - Rounds compose by adding RDP order by order.
 * - RDP to (ε, δ): `ε = min_α RDP(α) + log(1/δ) / (α − 1)` (Mironov 2017, "Rényi Differential
 *   Privacy", Proposition 3). Tighter conversions exist (Balle et al. 2020); this one is the
 *   classic, conservative bound and matches the values TF-Privacy published for DP-SGD.
 *
 * Only integer orders are used, so ε can be a little above what a fine fractional grid gives.
 */

/** The Rényi orders ε is minimised over: 2…64 and a few larger ones for very small ε. */
export const RDP_ORDERS: readonly number[] = [...Array.from({ length: 63 }, (_, i) => i + 2), 80, 96, 128, 256];

/** Parameters of repeated rounds of the subsampled Gaussian mechanism. */
export interface GaussianRounds {
  /** Noise std divided by the L2 sensitivity (σ); 0 means no noise, hence no privacy. */
  noiseMultiplier: number;
  /** Probability that a given device takes part in a round (q, in [0, 1]). */
  samplingRate: number;
  /** Number of rounds (T). */
  rounds: number;
}

/** An (ε, δ) guarantee and the Rényi order that gave it. */
export interface EpsilonAtOrder {
  epsilon: number;
  order: number;
}

const MAX_ORDER = Math.max(...RDP_ORDERS);
/** log(n!) for n ≤ the largest order, to build log binomial coefficients without overflow. */
const LOG_FACTORIAL = (() => {
  const t = new Float64Array(MAX_ORDER + 1);
  for (let n = 1; n <= MAX_ORDER; n++) t[n] = t[n - 1]! + Math.log(n);
  return t;
})();

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/**
 * RDP of one round of the Poisson-subsampled Gaussian mechanism at integer order `order` ≥ 2
 * (Mironov, Talwar & Zhang 2019). Infinity when `noiseMultiplier` is 0.
 */
export function rdpSampledGaussian(samplingRate: number, noiseMultiplier: number, order: number): number {
  const q = samplingRate;
  const sigma = noiseMultiplier;
  if (!Number.isInteger(order) || order < 2 || order > MAX_ORDER)
    throw new RangeError(`order must be an integer in [2, ${MAX_ORDER}], got ${order}`);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`samplingRate must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new RangeError(`noiseMultiplier must be ≥ 0, got ${sigma}`);
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return order / (2 * sigma * sigma);
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const terms: number[] = [];
  for (let k = 0; k <= order; k++) {
    const logBinom = LOG_FACTORIAL[order]! - LOG_FACTORIAL[k]! - LOG_FACTORIAL[order - k]!;
    terms.push(logBinom + (order - k) * log1mQ + k * logQ + (k * k - k) / (2 * sigma * sigma));
  }
  return logSumExp(terms) / (order - 1);
}

/** RDP of `rounds` composed rounds at every order of {@link RDP_ORDERS}. */
export function rdpCurve({ noiseMultiplier, samplingRate, rounds }: GaussianRounds): Float64Array {
  if (!(rounds >= 0)) throw new RangeError(`rounds must be ≥ 0, got ${rounds}`);
  return Float64Array.from(RDP_ORDERS, (a) => (rounds === 0 ? 0 : rounds * rdpSampledGaussian(samplingRate, noiseMultiplier, a)));
}

/**
 * The smallest ε over {@link RDP_ORDERS} for a composed RDP curve (one value per order) and δ,
 * by Mironov 2017, Proposition 3. Infinity when every order is infinite.
 */
export function epsilonFromRdp(rdp: ArrayLike<number>, delta: number): EpsilonAtOrder {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
  let best: EpsilonAtOrder = { epsilon: Infinity, order: RDP_ORDERS[0]! };
  // Nothing was released (no rounds, or q = 0): no privacy is spent.
  if (Array.prototype.every.call(rdp, (x: number) => x === 0)) return { epsilon: 0, order: best.order };
  RDP_ORDERS.forEach((a, i) => {
    const eps = rdp[i]! + Math.log(1 / delta) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return best;
}

/**
 * (ε, δ) of `rounds` rounds of the Poisson-subsampled Gaussian mechanism with noise multiplier
 * σ and sampling rate q: `ε = min_α T·rdp(α) + log(1/δ)/(α − 1)`. `noiseMultiplier` 0 gives
 * `epsilon: Infinity`; 0 rounds (or q = 0) give 0.
 */
export function epsilonFor(params: GaussianRounds & { delta: number }): EpsilonAtOrder {
  return epsilonFromRdp(rdpCurve(params), params.delta);
}
