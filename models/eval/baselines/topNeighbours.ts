/**
 * Keeps the `k` best (similarity, session) pairs seen so far in a binary min-heap over two
 * preallocated typed arrays, so picking neighbours from thousands of candidates per case costs
 * O(candidates · log k) and allocates nothing.
 *
 * Order: higher similarity first; among equal similarities the more recent session (higher
 * index) wins, so the neighbourhood is deterministic and prefers fresh sessions, the same
 * preference as the "recent" sampling of Ludewig & Jannach.
 */
export class TopNeighbours {
  /** Similarities of the kept pairs, heap-ordered in `[0, size)` (not sorted). */
  readonly sims: Float64Array;
  /** Session indices of the kept pairs, parallel to `sims`. */
  readonly ids: Int32Array;
  /** Number of pairs kept (≤ k). */
  size = 0;
  private readonly _k: number;

  /** @param k how many neighbours to keep (≥ 1). */
  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`TopNeighbours: k must be a positive integer, got ${k}`);
    this._k = k;
    this.sims = new Float64Array(k);
    this.ids = new Int32Array(k);
  }

  /** Empties the heap for the next case. */
  clear(): void {
    this.size = 0;
  }

  /** Offers a candidate; it is kept when fewer than k are held or it beats the worst held. */
  push(sim: number, id: number): void {
    const sims = this.sims;
    const ids = this.ids;
    if (this.size < this._k) {
      let c = this.size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(sim, id, sims[p]!, ids[p]!)) break;
        sims[c] = sims[p]!;
        ids[c] = ids[p]!;
        c = p;
      }
      sims[c] = sim;
      ids[c] = id;
      return;
    }
    if (!worse(sims[0]!, ids[0]!, sim, id)) return;
    // Replace the root (the worst kept) and sift down.
    const n = this.size;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && worse(sims[r]!, ids[r]!, sims[l]!, ids[l]!) ? r : l;
      if (!worse(sims[m]!, ids[m]!, sim, id)) break;
      sims[c] = sims[m]!;
      ids[c] = ids[m]!;
      c = m;
    }
    sims[c] = sim;
    ids[c] = id;
  }
}

/** True when pair a ranks below pair b. */
function worse(simA: number, idA: number, simB: number, idB: number): boolean {
  return simA < simB || (simA === simB && idA < idB);
}
