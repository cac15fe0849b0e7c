/** Result of {@link removeUnknownTestItems}. */
export interface UnknownItemRemoval {
  /** Test sessions, with items unseen in training removed, still at least two items long. */
  test: string[][];
  /** Distinct items of the training sessions (the model's vocabulary size). */
  trainItems: number;
  /** Test occurrences removed because their item never occurs in training. */
  occurrencesRemoved: number;
  /** Test sessions dropped because fewer than two items were left. */
  sessionsDropped: number;
}

/**
 * The last step of the SR-GNN protocol: a model can only rank items it was trained on, so items
 * absent from every training session are removed from the test sessions, and test sessions left
 * shorter than 2 (no evaluation case) are dropped.
 */
export function removeUnknownTestItems(train: string[][], test: string[][]): UnknownItemRemoval {
  const known = new Set<string>();
  for (const s of train) for (const id of s) known.add(id);
  const kept: string[][] = [];
  let occurrencesRemoved = 0;
  let sessionsDropped = 0;
  for (const s of test) {
    const items = s.filter((id) => known.has(id));
    occurrencesRemoved += s.length - items.length;
    if (items.length < 2) sessionsDropped++;
    else kept.push(items);
  }
  return { test: kept, trainItems: known.size, occurrencesRemoved, sessionsDropped };
}
