/**
 * The model's memory of one session, in plain arrays so it can be stored (IndexedDB) and sent
 * across a Worker boundary: the items of the current window (at most `maxLen`) and the GRU
 * state after each of them. Advancing by one item costs one GRU step while the window fills.
 */
export interface SessionState {
  items: number[];
  hidden: number[][];
}

/** The state of a session with no items yet. */
export function emptySessionState(): SessionState {
  return { items: [], hidden: [] };
}
