import type { SessionScorer } from '../scorer';
import { SessionIndex } from './sessionIndex';
import { TopNeighbours } from './topNeighbours';

/** Decay functions of V-SKNN, named as in the session-rec framework. */
export type Decay = 'same' | 'div' | 'quadratic' | 'log';

/** Parameters of {@link VsknnScorer}. */
export interface VsknnOptions {
  /** Neighbour sessions scored from (default 100). */
  k?: number;
  /** Most recent sessions sharing an item with the prefix that are compared (default 1000). */
  sampleSize?: number;
  /** Weight of a prefix item by its (last) position i of L: div = i/L, the linear decay (default). */
  weighting?: Decay;
  /** Discount of a neighbour by the recency `step` of the newest prefix item it contains (default div = 1/step). */
  weightingScore?: Decay;
  /** λ of the idf boost: an item's score is multiplied by 1 + λ·idf(item) (default 5; 0 turns it off). */
  idfWeighting?: number;
}

/** Weight of the prefix item whose last view is at position i (1-based) of a prefix of length L. */
function positionWeight(decay: Decay, i: number, length: number): number {
  switch (decay) {
    case 'same':
      return 1;
    case 'div':
      return i / length;
    case 'quadratic':
      return (i / length) ** 2;
    case 'log':
      return 1 / Math.log10(length - i + 1.7);
  }
}

/** Discount of a neighbour whose newest shared item was viewed `step` views ago (1 = last view). */
function stepWeight(decay: Decay, step: number): number {
  switch (decay) {
    case 'same':
      return 1;
    case 'div':
      return 1 / step;
    case 'quadratic':
      return 1 / (step * step);
    case 'log':
      return 1 / Math.log10(step + 1.7);
  }
}

/**
 * V-SKNN, vector-multiplication session KNN (Ludewig & Jannach, UMUAI 2018; Ludewig et al.,
 * RecSys 2019), with the refinements of the session-rec framework the 2019 comparison ran:
 *
 * - the prefix is a real vector: item at position i of L weighs `weighting(i, L)` (a linear decay
 *   by default), so the last views dominate; similarity to a past session is the dot product
 *   with that session's binary item vector;
 * - neighbours are the `k` most similar of the `sampleSize` most recent sessions sharing an item;
 * - a neighbour's contribution is discounted by `weightingScore(step)`, `step` being how many
 *   views ago the newest item it shares with the prefix was seen;
 * - an item's score is boosted by `1 + λ·idf`, idf = ln(sessions / sessions containing the item),
 *   which favours specific items over generally popular ones.
 *
 * Items already in the prefix are scored like any other (the framework's `remind` mode), since
 * repeated views are frequent in DIGINETICA.
 */
export class VsknnScorer implements SessionScorer {
  readonly name = 'vsknn';
  private readonly _numItems: number;
  private readonly _index: SessionIndex;
  private readonly _top: TopNeighbours;
  private readonly _candidates: Int32Array;
  private readonly _weighting: Decay;
  private readonly _weightingScore: Decay;
  /** 1 + λ·idf per item. */
  private readonly _boost: Float32Array;
  /** Position weight of each prefix item (0 for the others); reset after every case. */
  private readonly _weight: Float64Array;
  /** Last 1-based position of each prefix item (0 for the others); reset after every case. */
  private readonly _lastPos: Int32Array;
  private _distinct = new Int32Array(64);

  /** Indexes the training sessions (dense item indices). */
  constructor(train: readonly Int32Array[], numItems: number, options: VsknnOptions = {}) {
    this._numItems = numItems;
    this._index = new SessionIndex(train, numItems);
    this._top = new TopNeighbours(options.k ?? 100);
    this._candidates = new Int32Array(options.sampleSize ?? 1000);
    this._weighting = options.weighting ?? 'div';
    this._weightingScore = options.weightingScore ?? 'div';
    const lambda = options.idfWeighting ?? 5;
    this._boost = new Float32Array(numItems);
    const total = this._index.numSessions;
    for (let i = 0; i < numItems; i++) {
      const df = this._index.sessionCount(i);
      this._boost[i] = 1 + (df > 0 ? lambda * Math.log(total / df) : 0);
    }
    this._weight = new Float64Array(numItems);
    this._lastPos = new Int32Array(numItems);
  }

  /** Zeroes each row, then adds each neighbour's discounted similarity, idf-boosted, to its items. */
  scoreBatch(prefixes: Int32Array[], out: Float32Array): void {
    const n = this._numItems;
    const { sessionOffset, sessionItems } = this._index;
    const weight = this._weight;
    const lastPos = this._lastPos;
    for (let b = 0; b < prefixes.length; b++) {
      const offset = b * n;
      out.fill(0, offset, offset + n);
      const p = prefixes[b]!;
      const length = p.length;
      if (this._distinct.length < length) this._distinct = new Int32Array(length);
      let nd = 0;
      for (let t = 0; t < length; t++) {
        const i = p[t]!;
        if (!(i >= 0 && i < n)) continue;
        if (lastPos[i] === 0) this._distinct[nd++] = i;
        lastPos[i] = t + 1;
      }
      if (nd === 0) continue;
      for (let d = 0; d < nd; d++) {
        const i = this._distinct[d]!;
        weight[i] = positionWeight(this._weighting, lastPos[i]!, length);
      }
      const nc = this._index.recentSessions(this._distinct.subarray(0, nd), this._candidates.length, this._candidates);
      const top = this._top;
      top.clear();
      for (let c = 0; c < nc; c++) {
        const s = this._candidates[c]!;
        let sim = 0;
        for (let q = sessionOffset[s]!; q < sessionOffset[s + 1]!; q++) sim += weight[sessionItems[q]!]!;
        // Neighbours are chosen by similarity alone; the step discount is applied when scoring,
        // as in the framework.
        if (sim > 0) top.push(sim, s);
      }
      for (let h = 0; h < top.size; h++) {
        const s = top.ids[h]!;
        let newest = 0;
        for (let q = sessionOffset[s]!; q < sessionOffset[s + 1]!; q++) {
          const pos = lastPos[sessionItems[q]!]!;
          if (pos > newest) newest = pos;
        }
        const contribution = top.sims[h]! * stepWeight(this._weightingScore, length - newest + 1);
        for (let q = sessionOffset[s]!; q < sessionOffset[s + 1]!; q++) {
          const i = sessionItems[q]!;
          out[offset + i]! += contribution * this._boost[i]!;
        }
      }
      for (let d = 0; d < nd; d++) {
        const i = this._distinct[d]!;
        weight[i] = 0;
        lastPos[i] = 0;
      }
    }
  }
}
