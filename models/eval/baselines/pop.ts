import type { SessionScorer } from '../scorer';

/**
 * Training popularity: how many times each item was viewed in the training sessions (every
 * event counts, consecutive repeats included, as in the click counts the POP baseline of the
 * GRU4Rec/NARM/SR-GNN papers ranks by).
 */
export function itemCounts(train: readonly Int32Array[], numItems: number): Float64Array {
  const counts = new Float64Array(numItems);
  for (const s of train) for (let i = 0; i < s.length; i++) counts[s[i]!]!++;
  return counts;
}

/**
 * POP: recommends the most viewed training items to every session, whatever it contains.
 * The floor any personalised scorer must clear.
 */
export class PopScorer implements SessionScorer {
  readonly name = 'pop';
  private readonly _row: Float32Array;

  /** @param train training sessions as dense item indices; @param numItems vocabulary size. */
  constructor(train: readonly Int32Array[], numItems: number) {
    this._row = Float32Array.from(itemCounts(train, numItems));
  }

  /** Copies the same popularity row into every output row. */
  scoreBatch(prefixes: Int32Array[], out: Float32Array): void {
    const n = this._row.length;
    for (let b = 0; b < prefixes.length; b++) out.set(this._row, b * n);
  }
}
