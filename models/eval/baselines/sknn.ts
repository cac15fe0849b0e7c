import type { SessionScorer } from '../scorer';
import { SessionIndex } from './sessionIndex';
import { TopNeighbours } from './topNeighbours';

/** Parameters of {@link SknnScorer}. */
export interface SknnOptions {
  /** Neighbour sessions scored from (default 100). */
  k?: number;
  /** Most recent sessions sharing an item with the prefix that are compared (default 500). */
  sampleSize?: number;
}

/**
 * SKNN, session-based nearest neighbours (Jannach & Ludewig, RecSys 2017; Ludewig & Jannach,
 * UMUAI 2018): compare the prefix, as a set of items, with the `sampleSize` most recent training
 * sessions that share at least one item with it; keep the `k` most similar; score every item by
 * the summed similarity of the neighbours that contain it.
 *
 * Similarity is the cosine of binary item sets, |P ∩ S| / √(|P|·|S|). (The session-rec
 * framework's code computes |P ∩ S| / √|P| · √|S| by operator precedence; we use the cosine the
 * papers define.) The class defaults, k = 100 and sample 500, are the framework's DIGINETICA
 * configuration; the harness runs the tuned setting in `baselines/index.ts`.
 */
export class SknnScorer implements SessionScorer {
  readonly name = 'sknn';
  private readonly _numItems: number;
  private readonly _index: SessionIndex;
  private readonly _top: TopNeighbours;
  private readonly _candidates: Int32Array;
  /** `_mark[i] === _stamp` ⇔ item i is in the current prefix. */
  private readonly _mark: Int32Array;
  private _stamp = 0;
  private _distinct = new Int32Array(64);

  /** Indexes the training sessions (dense item indices). */
  constructor(train: readonly Int32Array[], numItems: number, options: SknnOptions = {}) {
    this._numItems = numItems;
    this._index = new SessionIndex(train, numItems);
    this._top = new TopNeighbours(options.k ?? 100);
    this._candidates = new Int32Array(options.sampleSize ?? 500);
    this._mark = new Int32Array(numItems);
  }

  /** Zeroes each row, then adds each neighbour's similarity to each of its items. */
  scoreBatch(prefixes: Int32Array[], out: Float32Array): void {
    const n = this._numItems;
    const { sessionOffset, sessionItems } = this._index;
    for (let b = 0; b < prefixes.length; b++) {
      const offset = b * n;
      out.fill(0, offset, offset + n);
      const p = prefixes[b]!;
      const stamp = ++this._stamp;
      if (this._distinct.length < p.length) this._distinct = new Int32Array(p.length);
      let nd = 0;
      for (let t = 0; t < p.length; t++) {
        const i = p[t]!;
        if (i >= 0 && i < n && this._mark[i] !== stamp) {
          this._mark[i] = stamp;
          this._distinct[nd++] = i;
        }
      }
      if (nd === 0) continue;
      const nc = this._index.recentSessions(this._distinct.subarray(0, nd), this._candidates.length, this._candidates);
      const top = this._top;
      top.clear();
      for (let c = 0; c < nc; c++) {
        const s = this._candidates[c]!;
        const from = sessionOffset[s]!;
        const to = sessionOffset[s + 1]!;
        let overlap = 0;
        for (let q = from; q < to; q++) if (this._mark[sessionItems[q]!] === stamp) overlap++;
        top.push(overlap / Math.sqrt(nd * (to - from)), s);
      }
      for (let h = 0; h < top.size; h++) {
        const s = top.ids[h]!;
        const sim = top.sims[h]!;
        for (let q = sessionOffset[s]!; q < sessionOffset[s + 1]!; q++) out[offset + sessionItems[q]!]! += sim;
      }
    }
  }
}
