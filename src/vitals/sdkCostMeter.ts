/**
 * Counts the main-thread time the SDK itself spends: every public call, DOM reordering, event
 * listener and Worker reply handled by SDK code runs inside {@link SdkCostMeter.measure}. Part of
 * the loader (a few hundred bytes); the report is assembled by the lazily loaded vitals module.
 */
export class SdkCostMeter {
  /** Total ms of SDK work on the main thread since the SDK started. */
  mainThreadMs = 0;
  /** The longest single piece of SDK work (ms). */
  longestMs = 0;
  private _depth = 0;

  /** Runs `fn`, adding its duration to the totals (nested calls count once). */
  measure<T>(fn: () => T): T {
    if (this._depth > 0) return fn();
    this._depth++;
    const t = performance.now();
    try {
      return fn();
    } finally {
      const d = performance.now() - t;
      this._depth--;
      this.mainThreadMs += d;
      if (d > this.longestMs) this.longestMs = d;
    }
  }
}
