/** One child of a slot as the ranking sees it. */
export interface SlotChild {
  /** The item id (`data-personalize-item`), or null for a child without one. */
  itemId: string | null;
  /** `data-personalize-pin`: the child must not move. */
  pinned: boolean;
}

/**
 * The new order of a slot's children, as indices into `children`. Pinned children, children
 * without an id and items the model does not know (`score` returns undefined or NaN) stay exactly
 * where they are; the other children are sorted by score, highest first, into the remaining
 * positions. Equal scores keep the page's order, so a model with no opinion changes nothing.
 */
export function rankOrder(children: readonly SlotChild[], score: (itemId: string) => number | undefined): number[] {
  const order = children.map((_, i) => i);
  const movable: Array<{ index: number; score: number }> = [];
  children.forEach((c, i) => {
    if (c.pinned || c.itemId === null) return;
    const s = score(c.itemId);
    if (s === undefined || Number.isNaN(s)) return;
    movable.push({ index: i, score: s });
  });
  const slots = movable.map((m) => m.index);
  const sorted = [...movable].sort((a, b) => b.score - a.score || a.index - b.index);
  slots.forEach((position, k) => {
    order[position] = sorted[k]!.index;
  });
  return order;
}

/**
 * {@link rankOrder} from scores aligned with the children that have an item id, in order (what
 * the Worker answers for a slot or a list); a null score, or none, leaves that item in place, and
 * an id listed twice takes its first score.
 */
export function orderByScores(children: readonly SlotChild[], scores: ReadonlyArray<number | null | undefined>): number[] {
  const byId = new Map<string, number>();
  let k = 0;
  for (const c of children)
    if (c.itemId !== null) {
      const s = scores[k++];
      if (s !== null && s !== undefined && !byId.has(c.itemId)) byId.set(c.itemId, s);
    }
  return rankOrder(children, (id) => byId.get(id));
}
