/** A session under preprocessing: its ordered item ids plus whatever the reader keeps beside them. */
export interface ItemSequence {
  items: string[];
}

/** Result of {@link filterRareItems}. */
export interface RareItemFilter<S extends ItemSequence> {
  /** Sessions still at least two items long after removing rare items, in input order. */
  sessions: S[];
  /** Distinct items removed because they occur fewer than `minCount` times. */
  itemsRemoved: number;
  /** Occurrences (clicks, basket lines) of those items. */
  occurrencesRemoved: number;
  /** Sessions dropped because fewer than two items were left. */
  sessionsDropped: number;
}

/**
 * SR-GNN's min-support step: counts every occurrence of every item over all `sessions` (train
 * and test alike, before the split), removes items seen fewer than `minCount` times, and drops
 * sessions left shorter than 2. One pass, not iterated to a fixed point, exactly as the original
 * `preprocess.py` does: an item can fall under the threshold again once short sessions go, and
 * it is kept, so published item counts are reproduced.
 */
export function filterRareItems<S extends ItemSequence>(sessions: S[], minCount: number): RareItemFilter<S> {
  const counts = new Map<string, number>();
  for (const s of sessions) for (const id of s.items) counts.set(id, (counts.get(id) ?? 0) + 1);
  let itemsRemoved = 0;
  let occurrencesRemoved = 0;
  for (const c of counts.values()) {
    if (c < minCount) {
      itemsRemoved++;
      occurrencesRemoved += c;
    }
  }
  const kept: S[] = [];
  let sessionsDropped = 0;
  for (const s of sessions) {
    const items = s.items.filter((id) => (counts.get(id) ?? 0) >= minCount);
    if (items.length < 2) sessionsDropped++;
    else kept.push({ ...s, items });
  }
  return { sessions: kept, itemsRemoved, occurrencesRemoved, sessionsDropped };
}
