/**
 * The two inverted indices the session-KNN baselines search, over typed arrays.
 *
 * Session order stands in for time: `train_sessions.txt` is in chronological order (see
 * /work/shared/data/README.md), so a higher session index means a more recent session. That is
 * the only use of time the split allows, since it carries no timestamps.
 */
export class SessionIndex {
  /** Number of training sessions. */
  readonly numSessions: number;
  /** Session s's distinct items are `sessionItems[sessionOffset[s] … sessionOffset[s+1])`. */
  readonly sessionOffset: Int32Array;
  readonly sessionItems: Int32Array;
  /** Item i's sessions are `itemSessions[itemOffset[i] … itemOffset[i+1])`, oldest first. */
  readonly itemOffset: Int32Array;
  readonly itemSessions: Int32Array;
  private readonly _ptr: Int32Array;
  private readonly _end: Int32Array;

  /** Indexes `train` (dense item indices `0 … numItems-1`); repeats inside a session count once. */
  constructor(train: readonly Int32Array[], numItems: number) {
    this.numSessions = train.length;
    const seen = new Int32Array(numItems).fill(-1);
    const sessionOffset = new Int32Array(train.length + 1);
    const items: number[] = [];
    const df = new Int32Array(numItems);
    train.forEach((s, sid) => {
      for (let k = 0; k < s.length; k++) {
        const i = s[k]!;
        if (seen[i] === sid) continue;
        seen[i] = sid;
        items.push(i);
        df[i]!++;
      }
      sessionOffset[sid + 1] = items.length;
    });
    this.sessionOffset = sessionOffset;
    this.sessionItems = Int32Array.from(items);

    const itemOffset = new Int32Array(numItems + 1);
    for (let i = 0; i < numItems; i++) itemOffset[i + 1] = itemOffset[i]! + df[i]!;
    const fill = itemOffset.slice(0, numItems);
    const itemSessions = new Int32Array(itemOffset[numItems]!);
    for (let sid = 0; sid < train.length; sid++) {
      for (let p = sessionOffset[sid]!; p < sessionOffset[sid + 1]!; p++) itemSessions[fill[this.sessionItems[p]!]!++] = sid;
    }
    this.itemOffset = itemOffset;
    this.itemSessions = itemSessions;
    this._ptr = new Int32Array(64);
    this._end = new Int32Array(64);
  }

  /** Number of training sessions that contain `item` (its document frequency). */
  sessionCount(item: number): number {
    return this.itemOffset[item + 1]! - this.itemOffset[item]!;
  }

  /**
   * Writes into `into` the (at most `into.length`) most recent sessions that contain any of
   * `items` (distinct item indices), most recent first, and returns how many it wrote.
   *
   * A k-way merge from the newest end of each item's session list: O(into.length × items.length)
   * and no allocation, where collecting and sorting the whole union would cost thousands of
   * entries per case for popular items.
   */
  recentSessions(items: ArrayLike<number>, count: number, into: Int32Array): number {
    const lists = items.length;
    let ptr = this._ptr;
    let end = this._end;
    if (lists > ptr.length) {
      ptr = new Int32Array(lists);
      end = new Int32Array(lists);
    }
    for (let l = 0; l < lists; l++) {
      const i = items[l]!;
      ptr[l] = this.itemOffset[i + 1]! - 1;
      end[l] = this.itemOffset[i]!;
    }
    const want = Math.min(count, into.length);
    let n = 0;
    while (n < want) {
      let best = -1;
      for (let l = 0; l < lists; l++) {
        if (ptr[l]! >= end[l]!) {
          const s = this.itemSessions[ptr[l]!]!;
          if (s > best) best = s;
        }
      }
      if (best < 0) break;
      into[n++] = best;
      // Every list whose head is `best` moves on, so a session shared by several items is taken once.
      for (let l = 0; l < lists; l++) if (ptr[l]! >= end[l]! && this.itemSessions[ptr[l]!] === best) ptr[l]!--;
    }
    return n;
  }
}
