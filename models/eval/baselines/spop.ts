import type { SessionScorer } from '../scorer';
import { itemCounts } from './pop';

/**
 * S-POP: recommends the items viewed most often in the current session; ties (and every item not
 * in the session) are ordered by training popularity.
 *
 * Score = (views in the prefix) + pop / (maxPop + 1). The popularity term is below 1, so it can
 * only reorder items with the same in-session count, never lift an item past one seen more often.
 */
export class SpopScorer implements SessionScorer {
  readonly name = 'spop';
  private readonly _base: Float32Array;

  /** @param train training sessions as dense item indices; @param numItems vocabulary size. */
  constructor(train: readonly Int32Array[], numItems: number) {
    const counts = itemCounts(train, numItems);
    let max = 0;
    for (let i = 0; i < numItems; i++) if (counts[i]! > max) max = counts[i]!;
    this._base = new Float32Array(numItems);
    for (let i = 0; i < numItems; i++) this._base[i] = counts[i]! / (max + 1);
  }

  /** Writes the popularity tie-breaker row, then adds 1 per view of each item in the prefix. */
  scoreBatch(prefixes: Int32Array[], out: Float32Array): void {
    const n = this._base.length;
    for (let b = 0; b < prefixes.length; b++) {
      const offset = b * n;
      out.set(this._base, offset);
      const p = prefixes[b]!;
      for (let i = 0; i < p.length; i++) out[offset + p[i]!]! += 1;
    }
  }
}
