import * as tf from '@tensorflow/tfjs-core';
import { denseShapes, type ModelConfig } from '../model/plain/modelConfig';
import { networkWeights } from '../model/tfjs/sessionEncoder';
import { buildBatch, gatherRows, lossRows, sessionLoss, windowSessions, type LossRows, type SessionBatch } from '../model/tfjs/sessionLoss';
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
  /** Mean loss of the first epoch and of the last one (as measured during the steps). */
  firstEpochLoss: number;
  lastEpochLoss: number;
  steps: number;
}

/** A batch with its loss rows and its (constant) input and target embeddings. */
interface Batch {
  layout: SessionBatch;
  rows: LossRows;
  x: Float32Array;
  tgt: Float32Array;
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

  /** @param items the item table `numItems × embedDim` (any norm; rows are normalised here). */
  constructor(config: ModelConfig, items: Float32Array) {
    const { numItems: n, embedDim: d } = config;
    if (items.length !== n * d) throw new RangeError(`LocalTrainer: item table has ${items.length} values, expected ${n}×${d}`);
    this.config = config;
    this._rows = normalizeRows(items, n, d);
    this._items = tf.tensor2d(this._rows, [n, d]);
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
    const losses: number[] = [];
    let steps = 0;
    try {
      for (let e = 0; e < epochs; e++) {
        let sum = 0;
        for (const b of batches) {
          const { loss, grads } = this._step(b, frozen, trained, true);
          sum += loss * b.rows.positives;
          FEDERATED_TENSORS.forEach((name, t) => {
            if (o.trainTensors && !o.trainTensors.includes(name)) return;
            const w = trained.get(name)!;
            const g = grads[t]!;
            if (adam) adam.apply(t, w, g);
            else for (let i = 0; i < w.length; i++) w[i] = w[i]! - o.lr * g[i]!;
          });
          steps++;
          await o.yieldFn?.();
        }
        losses.push(sum / Math.max(examples, 1));
      }
    } finally {
      tf.dispose(Object.values(frozen));
    }
    return { weights: trained, examples, firstEpochLoss: losses[0] ?? NaN, lastEpochLoss: losses[losses.length - 1] ?? NaN, steps };
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
        sum += this._step(b, frozen, trained, false).loss * b.rows.positives;
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

  /** Loss (and, when `withGrads`, gradients of the federated tensors in their order) of one batch. */
  private _step(
    b: Batch,
    frozen: Record<string, tf.Tensor>,
    trained: ReadonlyMap<string, Float32Array>,
    withGrads: boolean,
  ): { loss: number; grads: Float32Array[] } {
    const d = this.config.embedDim;
    const shapes = new Map(denseShapes(this.config));
    return tf.tidy(() => {
      const rows = b.layout.steps * b.layout.batch;
      const x = tf.tensor2d(b.x, [rows, d]);
      const targets = tf.tensor2d(b.tgt, [rows, d]);
      const lossFn = (...w: tf.Tensor[]): tf.Scalar => {
        const named: Record<string, tf.Tensor> = { ...frozen };
        FEDERATED_TENSORS.forEach((n, i) => {
          named[n] = w[i]!;
        });
        // x holds unit rows already, so it serves as the window logits' unit inputs too.
        return sessionLoss({
          batch: b.layout,
          rows: b.rows,
          net: networkWeights(named),
          scale: this.config.scale,
          x,
          targets,
          cosines: this._score,
        });
      };
      const vars = FEDERATED_TENSORS.map((n) => tf.tensor(trained.get(n)!, shapes.get(n)!));
      if (!withGrads) return { loss: lossFn(...vars).dataSync()[0]!, grads: [] };
      const { value, grads } = tf.valueAndGrads(lossFn)(vars);
      const loss = value.dataSync()[0]!;
      if (!Number.isFinite(loss)) throw new Error(`local training diverged: loss ${loss}`);
      return { loss, grads: grads.map((g) => g.dataSync() as Float32Array) };
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
      out.push({ layout, rows, x: gatherRows(layout.items, this._rows, d), tgt: gatherRows(rows.target, this._rows, d) });
    }
    return out;
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
