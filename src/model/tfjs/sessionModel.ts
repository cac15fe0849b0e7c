import * as tf from '@tensorflow/tfjs-core';
import { readoutLast } from './attentionReadout';
import { gruStep, projectGruInputs, runGru } from './gruCell';
import { matMul } from './matMul';
import { denseShapes, type ModelConfig } from '../plain/modelConfig';
import { encodePrefixesWithStates, l2NormalizeRows, networkWeights, scoreItems, type NetworkWeights } from './sessionEncoder';
import { applyRepeat, candidateColumn, repeatWeights, type RepeatWeights } from '../plain/repeatScores';
import type { SessionState } from '../plain/sessionState';

/**
 * A loaded session model ready to score: the normalised item table (kept both as rows in JS, to
 * gather a session's inputs without a tensor op, and transposed on the backend for the scoring
 * product) and the dense network weights as tensors. Used by the Node evaluator and the Worker.
 */
export class SessionModel {
  readonly config: ModelConfig;
  /** Unit-norm item rows, `numItems × embedDim`, row-major. */
  readonly itemRows: Float32Array;
  private readonly _itemsT: tf.Tensor2D;
  private readonly _dense: Record<string, tf.Tensor>;
  private readonly _net: NetworkWeights;
  /** The repeat path's weights as plain arrays (its logits are computed in JS); null without it. */
  private readonly _repeat: RepeatWeights | null;

  /**
   * @param items the item table `numItems × embedDim` (any norm; rows are normalised here)
   * @param dense the dense weights by name (`gru/Wz`, …), float32, shapes as in `denseShapes`
   */
  constructor(config: ModelConfig, items: Float32Array, dense: Map<string, Float32Array>) {
    this.config = config;
    const { numItems: n, embedDim: d } = config;
    if (items.length !== n * d) throw new Error(`item table has ${items.length} values, expected ${n}×${d}`);
    this.itemRows = normalizeRows(items, n, d);
    this._itemsT = tf.tidy(() => tf.transpose(tf.tensor2d(this.itemRows, [n, d])) as tf.Tensor2D);
    this._dense = {};
    for (const [name, shape] of denseShapes(config)) {
      const data = dense.get(name);
      if (!data) throw new Error(`model weights lack the tensor "${name}"`);
      this._dense[name] = tf.tensor(data, shape);
    }
    this._net = networkWeights(this._dense);
    this._repeat = repeatWeights(config, dense);
  }

  /** Scores every item after each prefix: `[prefixes.length, numItems]` (caller disposes). */
  scorePrefixes(prefixes: Int32Array[]): tf.Tensor2D {
    const { embedDim: d, maxLen, scale } = this.config;
    const batch = prefixes.length;
    const lengths = new Int32Array(batch);
    let steps = 1;
    for (let b = 0; b < batch; b++) {
      lengths[b] = Math.max(1, Math.min(maxLen, prefixes[b]!.length));
      if (lengths[b]! > steps) steps = lengths[b]!;
    }
    // Time-major, left-aligned inputs: row t*batch + b holds item t of prefix b's window.
    const x = new Float32Array(steps * batch * d);
    for (let b = 0; b < batch; b++) {
      const p = prefixes[b]!;
      const start = Math.max(0, p.length - lengths[b]!);
      for (let t = 0; t < lengths[b]! && start + t < p.length; t++) {
        const item = p[start + t]!;
        x.set(this.itemRows.subarray(item * d, item * d + d), (t * batch + b) * d);
      }
    }
    const [scores, states] = tf.tidy(() => {
      const encoded = encodePrefixesWithStates(tf.tensor2d(x, [steps * batch, d]), lengths, steps, batch, this._net);
      const s = scoreItems(encoded.sessions, this._itemsT, scale);
      return this._repeat ? [s, encoded.states] : [s];
    }) as [tf.Tensor2D, tf.Tensor3D?];
    const repeat = this._repeat;
    if (!repeat || !states) return scores;
    // Repeat path: β of each window position, mixed into the scores of the window's items.
    const { hiddenDim: h, numItems: n } = this.config;
    const hs = states.dataSync() as Float32Array;
    const out = scores.dataSync() as Float32Array;
    states.dispose();
    scores.dispose();
    for (let b = 0; b < batch; b++) {
      const p = prefixes[b]!;
      const len = lengths[b]!;
      const hidden = Array.from({ length: len }, (_, t) => hs.subarray((b * steps + t) * h, (b * steps + t + 1) * h));
      applyRepeat(this.config, repeat, out, b * n, p.subarray(Math.max(0, p.length - len)), hidden, candidateColumn());
    }
    return tf.tensor2d(out, [batch, n]);
  }

  /**
   * The state after `item` follows `state`. While the window has room this is one GRU step from
   * the last state; once it is full the window slides and its states are recomputed from a zero
   * state, exactly as training windows and {@link scorePrefixes} read a long session.
   */
  advance(state: SessionState, item: number): SessionState {
    const { maxLen, embedDim: d, hiddenDim: h } = this.config;
    const items = [...state.items, item].slice(-maxLen);
    return tf.tidy(() => {
      if (state.items.length < maxLen) {
        const x = tf.tensor2d(this.itemRows.subarray(item * d, item * d + d), [1, d]);
        const prev = state.hidden.length > 0 ? tf.tensor2d(state.hidden[state.hidden.length - 1]!, [1, h]) : tf.zeros([1, h]);
        const next = gruStep(projectGruInputs(x, this._net.gru), prev as tf.Tensor2D, this._net.gru);
        return { items, hidden: [...state.hidden, Array.from(next.dataSync())] };
      }
      const x = new Float32Array(items.length * d);
      items.forEach((it, t) => x.set(this.itemRows.subarray(it * d, it * d + d), t * d));
      const states = runGru(tf.tensor2d(x, [items.length, d]), items.length, 1, this._net.gru);
      return { items, hidden: states.map((s) => Array.from(s.dataSync())) };
    });
  }

  /**
   * Scores after the session in `state`: of every item, or only of `candidates` (item indices,
   * e.g. the products on the page). Returns null for an empty session (nothing to personalise).
   */
  scoreState(state: SessionState, candidates?: Int32Array): Float32Array | null {
    const steps = state.items.length;
    if (steps === 0) return null;
    const { embedDim: d, hiddenDim: h, scale } = this.config;
    return tf.tidy(() => {
      const hs = tf.tensor3d(state.hidden.flat(), [1, steps, h]);
      const last = tf.tensor2d(state.hidden[steps - 1]!, [1, h]);
      const lastItem = state.items[steps - 1]!;
      const xLast = tf.tensor2d(this.itemRows.subarray(lastItem * d, lastItem * d + d), [1, d]);
      const s = readoutLast(last, xLast, hs, tf.ones([1, steps]), this._net.readout);
      let scores: Float32Array;
      if (!candidates) {
        scores = scoreItems(s, this._itemsT, scale).dataSync() as Float32Array;
      } else {
        const c = candidates.length;
        const candT = new Float32Array(d * c);
        candidates.forEach((item, j) => {
          for (let k = 0; k < d; k++) candT[k * c + j] = this.itemRows[item * d + k]!;
        });
        scores = tf.mul(matMul(l2NormalizeRows(s), tf.tensor2d(candT, [d, c])), scale).dataSync() as Float32Array;
      }
      if (this._repeat) applyRepeat(this.config, this._repeat, scores, 0, state.items, state.hidden, candidateColumn(candidates));
      return scores;
    });
  }

  /** Frees the backend memory held by the model. */
  dispose(): void {
    this._itemsT.dispose();
    for (const t of Object.values(this._dense)) t.dispose();
  }
}

/** Returns a copy of `rows` (`n × d`) with every row scaled to unit L2 norm. */
export function normalizeRows(rows: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += rows[i * d + k]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let k = 0; k < d; k++) out[i * d + k] = rows[i * d + k]! * inv;
  }
  return out;
}
