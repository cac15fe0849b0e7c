import { denseShapes, type ModelConfig } from './modelConfig';
import { applyRepeat, candidateColumn, repeatWeights, type RepeatWeights } from './repeatScores';
import type { SessionState } from './sessionState';

/**
 * Scores candidate items from a stored session state in plain JavaScript: the read-out and the
 * cosine scoring of {@link SessionModel.scoreState} (attentionReadout.ts `readoutLast`, then
 * `scale · cos`), without tfjs. The Worker uses it for a returning shopper's first ranking, while
 * tfjs is still loading: a slot of ~50 candidates needs ~20k multiply-adds, not a backend. It
 * never advances the GRU (that stays on tfjs, the same cell as in training), and a unit test holds
 * it equal to the tfjs read-out.
 */
export class ReadoutScorer {
  private readonly _w: Map<string, Float32Array>;
  private readonly _repeat: RepeatWeights | null;

  constructor(
    private readonly _config: ModelConfig,
    dense: ReadonlyMap<string, Float32Array>,
    private readonly _items: Float32Array,
  ) {
    this._w = new Map();
    for (const [name] of denseShapes(_config)) {
      const w = dense.get(name);
      if (!w) throw new Error(`model weights lack the tensor "${name}"`);
      this._w.set(name, w);
    }
    this._repeat = repeatWeights(_config, this._w);
  }

  /**
   * `scale · cos(session, item)` for each candidate (vocabulary indices), with the repeat path mixed
   * in when the model has one; null for an empty session.
   */
  score(state: SessionState, candidates: ArrayLike<number>): Float32Array | null {
    const steps = state.items.length;
    if (steps === 0) return null;
    const { embedDim: d, hiddenDim: h, attnDim: a, scale } = this._config;
    const last = state.hidden[steps - 1]!;
    const s = this._vecMat(last, 'out/last', h, d);
    addInto(s, this._vecMat(this._row(state.items[steps - 1]!), 'out/item', d, d));
    if (a > 0) {
      // α_j = vᵀ σ(Aq·h_t + Ak·h_j + b) (unnormalised, as in readoutLast), c = Σ_j α_j h_j.
      const q = this._vecMat(last, 'attn/query', h, a);
      const bias = this._w.get('attn/bias')!;
      const v = this._w.get('attn/v')!;
      const context = new Float64Array(h);
      for (const hj of state.hidden) {
        const k = this._vecMat(hj, 'attn/key', h, a);
        let alpha = 0;
        for (let i = 0; i < a; i++) alpha += v[i]! / (1 + Math.exp(-(q[i]! + k[i]! + bias[i]!)));
        for (let i = 0; i < h; i++) context[i]! += alpha * hj[i]!;
      }
      addInto(s, this._vecMat(context, 'out/context', h, d));
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += s[i]! * s[i]!;
    const inv = scale / Math.sqrt(norm + 1e-12);
    const out = new Float32Array(candidates.length);
    for (let c = 0; c < candidates.length; c++) {
      const row = this._row(candidates[c]!);
      let dot = 0;
      for (let i = 0; i < d; i++) dot += s[i]! * row[i]!;
      out[c] = dot * inv;
    }
    if (this._repeat) applyRepeat(this._config, this._repeat, out, 0, state.items, state.hidden, candidateColumn(candidates));
    return out;
  }

  /** `v · W` for a row-major `[rows, cols]` weight. */
  private _vecMat(v: ArrayLike<number>, name: string, rows: number, cols: number): Float64Array {
    const w = this._w.get(name)!;
    const out = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const x = v[r]!;
      if (x === 0) continue;
      for (let c = 0; c < cols; c++) out[c]! += x * w[r * cols + c]!;
    }
    return out;
  }

  /** An item's embedding, L2-normalised (as SessionModel's item rows are). */
  private _row(item: number): Float64Array {
    const d = this._config.embedDim;
    const row = new Float64Array(d);
    let norm = 0;
    for (let i = 0; i < d; i++) {
      row[i] = this._items[item * d + i]!;
      norm += row[i]! * row[i]!;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < d; i++) row[i]! *= inv;
    return row;
  }
}

function addInto(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
}
