/**
 * Rank metrics (Recall@K, MRR@K) with ties broken at random *in expectation*.
 *
 * Why expected ranks: a model that gives many items the same score (a KNN baseline scores most of
 * the catalogue 0; a quantized model rounds nearby logits together) would look better or worse
 * depending on whether the harness puts the target first or last among its ties. Taking the
 * expectation over a uniformly random tie order is the one rule that neither rewards nor punishes
 * ties, and it is deterministic, so two runs of the same scorer give the same numbers.
 */

/** Totals of a {@link RankMetrics} accumulator. */
export interface RankResult {
  /** The cut-off K the totals refer to. */
  k: number;
  /** Mean expected Recall@K over all cases added (a fraction, e.g. 0.5073). */
  recall: number;
  /** Mean expected MRR@K over all cases added (a fraction). */
  mrr: number;
  /** Number of cases added, unknown targets included. */
  cases: number;
}

/**
 * Expected Recall@K and MRR@K of a target with `g` items scoring strictly higher and `e` other
 * items scoring exactly the same: its rank is uniform on `g+1 … g+e+1`, so
 * recall = clamp((K − g)/(e+1), 0, 1) and MRR = (1/(e+1)) Σ_{r=g+1}^{min(g+e+1, K)} 1/r.
 */
export function expectedHit(g: number, e: number, k: number): { recall: number; rr: number } {
  if (g >= k) return { recall: 0, rr: 0 };
  const recall = Math.min(1, (k - g) / (e + 1));
  let rr = 0;
  const last = Math.min(g + e + 1, k);
  for (let r = g + 1; r <= last; r++) rr += 1 / r;
  return { recall, rr: rr / (e + 1) };
}

/**
 * Accumulates expected Recall@K and MRR@K over evaluation cases, one score row at a time.
 *
 * A row is read in one linear pass that stops as soon as K items are known to beat the target
 * (the case then contributes 0 to both metrics). NaN scores count as lower than every number,
 * `-Infinity` included, so a scorer that emits NaN for some items cannot win with them; a NaN
 * target ties with the other NaNs below every real score.
 */
export class RankMetrics {
  /** The cut-off K. */
  readonly k: number;
  private _recall = 0;
  private _rr = 0;
  private _cases = 0;

  /** @param k cut-off of Recall@K / MRR@K (default 20, the protocol of the published tables). */
  constructor(k = 20) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`RankMetrics: k must be a positive integer, got ${k}`);
    this.k = k;
  }

  /**
   * Adds one case: `scores[i]` is the score of item `i`, `target` the index of the true next
   * item. A target of -1 (unknown to training) or outside the row counts as a miss.
   */
  add(scores: Float32Array | Float64Array, target: number): void {
    this._cases++;
    if (!(target >= 0 && target < scores.length)) return;
    const k = this.k;
    const n = scores.length;
    const s = scores[target]!;
    let g = 0;
    let e = 0;
    if (s === s) {
      // Comparisons with NaN are false, so NaN items fall into neither count: they rank below.
      for (let i = 0; i < n; i++) {
        const v = scores[i]!;
        if (v > s) {
          if (++g >= k) return;
        } else if (v === s) e++;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = scores[i]!;
        if (v === v) {
          if (++g >= k) return;
        } else e++;
      }
    }
    // `e` counted the target itself.
    const { recall, rr } = expectedHit(g, e - 1, k);
    this._recall += recall;
    this._rr += rr;
  }

  /** Means over the cases added so far (0 when none were added). */
  result(): RankResult {
    const n = this._cases;
    return { k: this.k, recall: n ? this._recall / n : 0, mrr: n ? this._rr / n : 0, cases: n };
  }
}
