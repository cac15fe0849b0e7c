/**
 * The one interface the evaluation harness ranks with: the float model, the int8 model and every
 * baseline implement it, so all are scored by the same metric code with the same tie rule.
 */
export interface SessionScorer {
  /** Short name used in the results table and the JSON keys (`pop`, `vsknn`, `float`, …). */
  readonly name: string;
  /**
   * Writes a score for every vocabulary item for each prefix into `out`, row-major:
   * `out[b * numItems + i]` is the score of item `i` after `prefixes[b]`. Higher is better.
   * `out` is reused between calls; implementations must overwrite every entry of the rows used.
   */
  scoreBatch(prefixes: Int32Array[], out: Float32Array): void | Promise<void>;
}
