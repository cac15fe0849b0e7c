import * as tf from '@tensorflow/tfjs-core';
import { denseShapes, type ModelConfig } from '../model/plain/modelConfig';
import { buildBatch, gatherRows, lossRows, sessionLoss, windowSessions, type LossRows, type SessionBatch } from '../model/tfjs/sessionLoss';
import { matMul } from '../model/tfjs/matMul';
import { l2NormalizeRows, networkWeights } from '../model/tfjs/sessionEncoder';
import { normalizeRows } from '../model/tfjs/sessionModel';
import type { NamedWeights } from './federatedDelta';
import { FEDERATED_TENSORS } from './modelUpdate';

/** Options of {@link LocalTrainer.train}. */
export interface LocalTrainOptions {
  /** Passes over the device's sessions (default 1). */
  epochs?: number;
  /** Learning rate. */
  lr: number;
  /** `sgd` (default: plain steps, the classic FedAvg client) or `adam` (fresh moments per call). */
  optimizer?: 'sgd' | 'adam';
  /**
   * The federated tensors to change (default: all of `FEDERATED_TENSORS`); the others keep their
   * values, so their delta is 0. For probes of which tensors devices should train.
   */
  trainTensors?: readonly string[];
  /** Session windows per step (default 32; a device rarely has more, so usually one step per epoch). */
  batchSize?: number;
  /**
   * Awaited between steps. The browser passes a function that waits for a macrotask
   * (`() => new Promise((r) => setTimeout(r, 0))`) so the Worker keeps answering rank calls.
   */
  yieldFn?: () => Promise<void> | void;
}

/** What {@link LocalTrainer.train} returns. */
export interface LocalTrainResult {
  /** The trained tensors of `FEDERATED_TENSORS`, by name (new arrays; the input is not modified). */
  weights: Map<string, Float32Array>;
  /** Training examples (predicted next items) in one pass over the sessions. */
  examples: number;
  /**
   * The announced item rows after training (`rows.length × embedDim`, raw like the table passed in,
   * in the order of {@link LocalTrainerOptions.rows}); absent when the trainer has no announced rows.
   */
  rows?: Float32Array;
  /** Mean loss of the first epoch and of the last one (as measured during the steps). */
  firstEpochLoss: number;
  lastEpochLoss: number;
  steps: number;
}

/** Options of the {@link LocalTrainer} constructor. */
export interface LocalTrainerOptions {
  /**
   * Item rows the round announced: distinct item indices, the rows this trainer learns (as inputs,
   * targets and candidates) beside the dense tensors. Every other row stays frozen. The server
   * chooses them from public information, so they say nothing about this device's items.
   */
  rows?: Int32Array;
}

/** A batch with its loss rows and its (constant) input and target embeddings. */
interface Batch {
  layout: SessionBatch;
  rows: LossRows;
  x: Float32Array;
  tgt: Float32Array;
  /**
   * With announced rows: the batch's table (frozen unit rows of its other items, then the announced
   * rows, then a zero row) is built in the step; `xAt` / `tgtAt` index it.
   */
  local?: { frozen: Float32Array; frozenRows: number; xAt: Int32Array; tgtAt: Int32Array };
}

/**
 * Trains the federated tensors of a session model (`FEDERATED_TENSORS`: the GRU's recurrent
 * weights and biases, the output projections) on one device's own sessions. The item table and the
 * input-side weights are constants: their gradients are never computed, so they stay bit-identical.
 *
 * Loss: the full softmax cross-entropy over every item of the vocabulary, at every position of
 * every session. Centralized training samples negatives with a log-Q correction only to
 * *approximate* this loss cheaply over 186k sessions; a device has a few dozen examples, so the
 * exact softmax costs tens of milliseconds per step, needs no item-popularity table on the device
 * (which a sampler would) and has no sampling bias to correct. Scores are `scale · cos`, so
 * |logit| ≤ scale and `exp` needs no max-shift. A model with the repeat path
 * (`repeatMixture.ts`) is trained on its mixture, as centrally; its own weights stay frozen.
 *
 * Runs in the browser Worker and in Node on any tfjs backend; every step runs inside `tf.tidy`.
 */
export class LocalTrainer {
  readonly config: ModelConfig;
  private readonly _rows: Float32Array;
  private readonly _itemsT: tf.Tensor2D;
  private readonly _items: tf.Tensor2D;
  private readonly _score: (s: tf.Tensor2D) => tf.Tensor2D;
  /** Announced rows: their indices, raw starting values, and each item's position among them (-1 = frozen). */
  private readonly _announced: { rows: Int32Array; start: Float32Array; at: Int32Array } | null;

  /**
   * @param items the item table `numItems × embedDim` (any norm; rows are normalised here).
   * @param options `rows`: the announced rows to learn (default none: the table is frozen).
   */
  constructor(config: ModelConfig, items: Float32Array, options: LocalTrainerOptions = {}) {
    const { numItems: n, embedDim: d } = config;
    if (items.length !== n * d) throw new RangeError(`LocalTrainer: item table has ${items.length} values, expected ${n}×${d}`);
    this.config = config;
    this._rows = normalizeRows(items, n, d);
    let frozenTable = this._rows;
    this._announced = null;
    if (options.rows && options.rows.length > 0) {
      const rows = options.rows;
      const at = new Int32Array(n).fill(-1);
      rows.forEach((r, k) => {
        if (!Number.isInteger(r) || r < 0 || r >= n) throw new RangeError(`LocalTrainer: announced row ${r} is not an item of ${n}`);
        if (at[r] !== -1) throw new RangeError(`LocalTrainer: row ${r} is announced twice`);
        at[r] = k;
      });
      this._announced = { rows: Int32Array.from(rows), start: gatherRows(rows, items, d), at };
      // The candidates' frozen part: every row that is not announced (the announced rows' scores
      // are computed in the step, from the rows being trained, and appended).
      frozenTable = new Float32Array((n - rows.length) * d);
      let o = 0;
      for (let i = 0; i < n; i++) if (at[i] === -1) frozenTable.set(this._rows.subarray(i * d, i * d + d), d * o++);
    }
    this._items = tf.tensor2d(frozenTable, [frozenTable.length / d, d]);
    this._itemsT = tf.tidy(() => tf.transpose(this._items) as tf.Tensor2D);
    // s · itemsᵀ with a gradient for s only: the item table is frozen, and dy · items is a plain
    // (untransposed) product, the fast form on tfjs-wasm (see matMul.ts).
    const itemsT = this._itemsT;
    const itemRows = this._items;
    this._score = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const s = args[0] as tf.Tensor2D;
      return { value: tf.matMul(s, itemsT), gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, itemRows)] };
    }) as (s: tf.Tensor2D) => tf.Tensor2D;
  }

  /**
   * Trains on `sessions` (arrays of item indices, oldest first) starting from `weights` (every
   * dense tensor by name, as in `denseShapes`). Sessions shorter than 2 items are skipped.
   */
  async train(weights: NamedWeights, sessions: ReadonlyArray<ArrayLike<number>>, o: LocalTrainOptions): Promise<LocalTrainResult> {
    const epochs = o.epochs ?? 1;
    const batches = this._batches(sessions, o.batchSize ?? 32);
    const examples = batches.reduce((n, b) => n + b.rows.positives, 0);
    const trained = new Map<string, Float32Array>(FEDERATED_TENSORS.map((name) => [name, Float32Array.from(this._get(weights, name))]));
    const adam =
      o.optimizer === 'adam'
        ? new JsAdam(
            FEDERATED_TENSORS.map((n) => trained.get(n)!.length),
            o.lr,
          )
        : null;
    const frozen = this._frozen(weights);
    const rows = this._announced ? Float32Array.from(this._announced.start) : null;
    const losses: number[] = [];
    let steps = 0;
    try {
      for (let e = 0; e < epochs; e++) {
        let sum = 0;
        for (const b of batches) {
          const { loss, grads, rowGrad } = this._step(b, frozen, trained, true, rows);
          sum += loss * b.rows.positives;
          FEDERATED_TENSORS.forEach((name, t) => {
            if (o.trainTensors && !o.trainTensors.includes(name)) return;
            const w = trained.get(name)!;
            const g = grads[t]!;
            if (adam) adam.apply(t, w, g);
            else for (let i = 0; i < w.length; i++) w[i] = w[i]! - o.lr * g[i]!;
          });
          // Plain SGD on the rows whatever the optimizer: only rows this batch touched have a gradient.
          if (rows && rowGrad) for (let i = 0; i < rows.length; i++) rows[i] = rows[i]! - o.lr * rowGrad[i]!;
          steps++;
          await o.yieldFn?.();
        }
        losses.push(sum / Math.max(examples, 1));
      }
    } finally {
      tf.dispose(Object.values(frozen));
    }
    return {
      weights: trained,
      ...(rows ? { rows } : {}),
      examples,
      firstEpochLoss: losses[0] ?? NaN,
      lastEpochLoss: losses[losses.length - 1] ?? NaN,
      steps,
    };
  }

  /** Mean loss per example of `weights` (all dense tensors) on `sessions`, without training. */
  meanLoss(weights: NamedWeights, sessions: ReadonlyArray<ArrayLike<number>>): number {
    const batches = this._batches(sessions, 32);
    const frozen = this._frozen(weights);
    const trained = new Map(FEDERATED_TENSORS.map((n) => [n, this._get(weights, n)]));
    let sum = 0;
    let count = 0;
    try {
      for (const b of batches) {
        sum += this._step(b, frozen, trained, false, this._announced?.start ?? null).loss * b.rows.positives;
        count += b.rows.positives;
      }
    } finally {
      tf.dispose(Object.values(frozen));
    }
    return sum / Math.max(count, 1);
  }

  /** Frees the item table held on the backend. */
  dispose(): void {
    this._items.dispose();
    this._itemsT.dispose();
  }

  private _get(weights: NamedWeights, name: string): Float32Array {
    const w = weights.get(name);
    if (!w) throw new RangeError(`LocalTrainer: weights lack the tensor "${name}"`);
    return w;
  }

  /** The dense tensors that are not trained, as backend constants. */
  private _frozen(weights: NamedWeights): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, shape] of denseShapes(this.config)) {
      if (!(FEDERATED_TENSORS as readonly string[]).includes(name)) out[name] = tf.tensor(this._get(weights, name), shape);
    }
    return out;
  }

  /**
   * Loss (and, when `withGrads`, gradients of the federated tensors in their order, and of the
   * announced rows when there are some) of one batch.
   */
  private _step(
    b: Batch,
    frozen: Record<string, tf.Tensor>,
    trained: ReadonlyMap<string, Float32Array>,
    withGrads: boolean,
    announced: Float32Array | null,
  ): { loss: number; grads: Float32Array[]; rowGrad?: Float32Array } {
    const d = this.config.embedDim;
    const shapes = new Map(denseShapes(this.config));
    return tf.tidy(() => {
      const rows = b.layout.steps * b.layout.batch;
      const lossFn = (...w: tf.Tensor[]): tf.Scalar => {
        const named: Record<string, tf.Tensor> = { ...frozen };
        FEDERATED_TENSORS.forEach((n, i) => {
          named[n] = w[i]!;
        });
        let x: tf.Tensor2D;
        let targets: tf.Tensor2D;
        let cosines = this._score;
        const local = b.local;
        if (local && w.length > FEDERATED_TENSORS.length) {
          // The announced rows at unit norm, as inputs, targets and candidates (appended after the
          // frozen candidates: the softmax does not depend on the order of its columns).
          const unit = l2NormalizeRows(w[FEDERATED_TENSORS.length] as tf.Tensor2D);
          const table = tf.concat([tf.tensor2d(local.frozen, [local.frozenRows, d]), unit, tf.zeros([1, d])], 0) as tf.Tensor2D;
          // Rows picked by one-hot products, not tf.gather: gather's gradient (UnsortedSegmentSum)
          // has no wasm kernel, and the one-hot matrices are small (batch rows × batch table).
          const size = table.shape[0];
          // (`matMul` of matMul.ts: its gradient avoids the transposed products, ~10× slower on wasm.)
          x = matMul(tf.oneHot(tf.tensor1d(local.xAt, 'int32'), size) as tf.Tensor2D, table);
          targets = matMul(tf.oneHot(tf.tensor1d(local.tgtAt, 'int32'), size) as tf.Tensor2D, table);
          const frozenScore = this._score;
          const unitT = tf.transpose(unit);
          cosines = (sess) => tf.concat([frozenScore(sess), matMul(sess, unitT)], 1) as tf.Tensor2D;
        } else {
          x = tf.tensor2d(b.x, [rows, d]);
          targets = tf.tensor2d(b.tgt, [rows, d]);
        }
        // x holds unit rows already, so it serves as the window logits' unit inputs too.
        return sessionLoss({ batch: b.layout, rows: b.rows, net: networkWeights(named), scale: this.config.scale, x, targets, cosines });
      };
      const vars = FEDERATED_TENSORS.map((n) => tf.tensor(trained.get(n)!, shapes.get(n)!));
      if (announced && this._announced) vars.push(tf.tensor2d(announced, [this._announced.rows.length, d]));
      if (!withGrads) return { loss: lossFn(...vars).dataSync()[0]!, grads: [] };
      const { value, grads } = tf.valueAndGrads(lossFn)(vars);
      const loss = value.dataSync()[0]!;
      if (!Number.isFinite(loss)) throw new Error(`local training diverged: loss ${loss}`);
      const all = grads.map((g) => g.dataSync() as Float32Array);
      return {
        loss,
        grads: all.slice(0, FEDERATED_TENSORS.length),
        ...(announced && this._announced ? { rowGrad: all[FEDERATED_TENSORS.length]! } : {}),
      };
    });
  }

  /**
   * Cuts sessions into windows (as centralized training does) and lays them out as batches of
   * `batchSize` windows in order, with their normalised embedding rows.
   */
  private _batches(sessions: ReadonlyArray<ArrayLike<number>>, batchSize: number): Batch[] {
    const d = this.config.embedDim;
    const windows = windowSessions(sessions, this.config.maxLen);
    const out: Batch[] = [];
    for (let i = 0; i < windows.length; i += batchSize) {
      const layout = buildBatch(windows.slice(i, i + batchSize));
      const rows = lossRows(layout, this.config.repeat);
      out.push({
        layout,
        rows,
        x: gatherRows(layout.items, this._rows, d),
        tgt: gatherRows(rows.target, this._rows, d),
        ...this._local(layout.items, rows.target),
      });
    }
    return out;
  }

  /**
   * With announced rows, a batch's own table: the frozen unit rows of its items that are not
   * announced, then (in the step) the announced rows, then a zero row for padding; and where each
   * input and target sits in it.
   */
  private _local(items: Int32Array, targets: Int32Array): Pick<Batch, 'local'> {
    const a = this._announced;
    if (!a) return {};
    const d = this.config.embedDim;
    const slot = new Map<number, number>();
    const order: number[] = [];
    for (const list of [items, targets]) for (const i of list) if (i >= 0 && a.at[i] === -1 && !slot.has(i)) slot.set(i, order.push(i) - 1);
    const frozenRows = order.length;
    const zero = frozenRows + a.rows.length;
    const at = (i: number): number => (i < 0 ? zero : a.at[i] !== -1 ? frozenRows + a.at[i]! : slot.get(i)!);
    return {
      local: {
        frozen: gatherRows(Int32Array.from(order), this._rows, d),
        frozenRows,
        xAt: Int32Array.from(items, at),
        tgtAt: Int32Array.from(targets, at),
      },
    };
  }
}

/** Adam (Kingma & Ba 2015) over plain arrays, one moment pair per tensor. */
class JsAdam {
  private readonly _m: Float32Array[];
  private readonly _v: Float32Array[];
  private readonly _t: number[];

  constructor(
    sizes: number[],
    private readonly _lr: number,
  ) {
    this._m = sizes.map((n) => new Float32Array(n));
    this._v = sizes.map((n) => new Float32Array(n));
    this._t = sizes.map(() => 0);
  }

  apply(k: number, w: Float32Array, g: Float32Array): void {
    const m = this._m[k]!;
    const v = this._v[k]!;
    const t = ++this._t[k]!;
    const a = (this._lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
    for (let i = 0; i < w.length; i++) {
      m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
      w[i] = w[i]! - (a * m[i]!) / (Math.sqrt(v[i]!) + 1e-8);
    }
  }
}
