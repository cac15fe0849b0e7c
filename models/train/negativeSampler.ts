import type { Random } from '../random';

/**
 * Draws shared negative items from popularity^alpha (Hidasi & Karatzoglou, CIKM 2018: extra
 * samples shared by the whole mini-batch) and gives each candidate's log inclusion probability
 * for the log-Q correction of the sampled softmax (Bengio & Senécal 2008; Yi et al. 2019).
 */
export class NegativeSampler {
  private readonly _cdf: Float64Array;
  /** Probability of each item under the sampling distribution. */
  readonly sampleProb: Float64Array;
  /** Probability of each item being a target (training frequency). */
  readonly dataProb: Float64Array;

  constructor(counts: Float64Array, alpha: number) {
    const n = counts.length;
    this.sampleProb = new Float64Array(n);
    this.dataProb = new Float64Array(n);
    let z = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      z += counts[i]! ** alpha;
      total += counts[i]!;
    }
    this._cdf = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      this.sampleProb[i] = counts[i]! ** alpha / z;
      this.dataProb[i] = counts[i]! / total;
      acc += this.sampleProb[i]!;
      this._cdf[i] = acc;
    }
  }

  /** `k` items drawn with replacement. */
  sample(k: number, rng: Random): Int32Array {
    const out = new Int32Array(k);
    const cdf = this._cdf;
    const top = cdf[cdf.length - 1]!;
    for (let j = 0; j < k; j++) {
      const u = rng.next() * top;
      let lo = 0;
      let hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      out[j] = lo;
    }
    return out;
  }

  /**
   * log of the chance that `item` is among the candidates of a batch with `positives` targets and
   * `k` shared samples: ≈ log(positives·p_data + k·p_sample), capped at log 1.
   */
  logInclusion(item: number, positives: number, k: number): number {
    const p = positives * this.dataProb[item]! + k * this.sampleProb[item]!;
    return Math.log(Math.min(1, Math.max(p, 1e-12)));
  }
}
