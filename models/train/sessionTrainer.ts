import * as tf from '@tensorflow/tfjs';
import { denseShapes, type ModelConfig } from '../../src/model/plain/modelConfig';
import { matMul } from '../../src/model/tfjs/matMul';
import { Random } from '../random';
import { l2NormalizeRows, networkWeights } from '../../src/model/tfjs/sessionEncoder';
import { gatherRows, lossRows, sessionLoss, type SessionBatch } from '../../src/model/tfjs/sessionLoss';
import type { ModelWeights } from '../../src/node/modelDir';
import { NegativeSampler } from './negativeSampler';
import { SparseAdam } from './sparseAdam';
import type { TrainSettings } from './trainSettings';
import { WeightAverage } from './weightAverage';

const REPEAT_INIT = 8;

/**
 * Trains the session model: dense weights as tfjs variables with Adam, the item table as a JS
 * array with lazy (row-sparse) Adam. Loss: softmax cross-entropy over the batch's own targets plus
 * shared popularity-sampled negatives, with log-Q correction, at every position of every session;
 * with `negatives` ≥ the item count, the full softmax instead (every item a candidate, no log-Q).
 */
export class SessionTrainer {
  readonly config: ModelConfig;
  readonly items: Float32Array;
  readonly dense: Map<string, tf.Variable>;
  readonly optimizer: tf.AdamOptimizer;
  readonly itemOptimizer: SparseAdam;
  readonly sampler: NegativeSampler;
  readonly rng: Random;
  /** The running weight average when `settings.averageEpochs` > 0. */
  readonly average: WeightAverage | null;
  private readonly _grad: Float32Array;
  private readonly _seen: Uint8Array;
  /** The full softmax's candidates (every item), built on first use. */
  private _all: { cand: number[]; col: Map<number, number> } | null = null;

  constructor(
    readonly settings: TrainSettings,
    numItems: number,
    itemCounts: Float64Array,
  ) {
    const s = settings;
    this.config = {
      numItems,
      embedDim: s.embedDim,
      hiddenDim: s.hiddenDim,
      attnDim: s.attnDim,
      scale: s.scale,
      maxLen: s.maxLen,
      ...(s.repeat ? { repeat: s.repeat === 2 ? ('exclusive' as const) : ('mixture' as const) } : {}),
    };
    this.rng = new Random(s.seed);
    const d = s.embedDim;
    this.items = new Float32Array(numItems * d);
    // Unit-norm random rows: the model only reads directions (cosine scores).
    for (let i = 0; i < this.items.length; i++) this.items[i] = this.rng.normal() / Math.sqrt(d);
    this.dense = new Map();
    for (const [name, shape] of denseShapes(this.config)) {
      this.dense.set(name, tf.variable(this._init(name, shape), true, name));
    }
    this.optimizer = tf.train.adam(s.lr);
    this.itemOptimizer = new SparseAdam(this.items, d, s.lr);
    this.sampler = new NegativeSampler(itemCounts, s.sampleAlpha);
    this._grad = new Float32Array(this.items.length);
    this.average =
      s.averageEpochs > 0
        ? new WeightAverage(
            this.items.length,
            [...this.dense].map(([name, v]) => [name, v.size] as [string, number]),
          )
        : null;
    this._seen = new Uint8Array(numItems);
  }

  /**
   * Glorot-uniform matrices, zero biases (GRU update-gate bias 0: no prior toward copying). The
   * repeat path's recency biases start at REPEAT_INIT, near where a repeat logit has to sit to
   * compete with the log-partition of the item scores (≈ log 43k ≈ 11 at the start), so that the
   * path is in play from the first steps instead of after thousands of Adam steps of size lr.
   */
  private _init(name: string, shape: number[]): tf.Tensor {
    if (name === 'repeat/recency') return tf.fill(shape, REPEAT_INIT);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      for (let i = 0; i < size; i++) data[i] = (this.rng.next() * 2 - 1) * limit;
    }
    return tf.tensor(data, shape);
  }

  /** Sets the learning rate of both optimisers. */
  setLearningRate(lr: number): void {
    // AdamOptimizer reads `learningRate` on every step; it is not exposed as writable in the types.
    (this.optimizer as unknown as { learningRate: number }).learningRate = lr;
    this.itemOptimizer.lr = lr;
  }

  /** One optimisation step on a batch; returns the mean loss per target. */
  step(b: SessionBatch): number {
    const d = this.config.embedDim;
    const { steps, batch, items } = b;
    const rows = steps * batch;
    const lr = lossRows(b, this.config.repeat);
    const { cand, col, logQ } = this._candidates(b.targets);
    const k = cand.length;
    const candT = new Float32Array(d * k); // [embed, candidates]: untransposed product is fast
    cand.forEach((item, j) => {
      for (let e = 0; e < d; e++) candT[e * k + j] = this.items[item * d + e]!;
    });
    const tgtLogQ = Float32Array.from(lr.target, (t) => (t >= 0 ? logQ[col.get(t)!]! : 0));
    // Exclusive repeat path: of the distinct window items, only those among the candidates are in
    // the sampled partition (with their log-Q).
    let windowIn: Float32Array | null = null;
    let windowLogQ: Float32Array | null = null;
    if (lr.firstInWindow) {
      windowIn = new Float32Array(rows * steps);
      windowLogQ = new Float32Array(rows * steps);
      lr.firstInWindow.forEach((first, i) => {
        if (!first) return;
        const bb = Math.floor(i / (steps * steps));
        const c = col.get(items[(i % steps) * batch + bb]!);
        if (c === undefined) return;
        windowIn![i] = 1;
        windowLogQ![i] = logQ[c]!;
      });
    }

    // Dropout masks (training only) from the seeded RNG, so runs stay reproducible; with dropout 0
    // nothing is drawn and the step is exactly the dropout-free one.
    const p = this.settings.dropout ?? 0;
    const inputDropout = p > 0 ? this._dropoutMask(rows * d, p) : null;
    const sessionDropout = p > 0 ? this._dropoutMask(rows * d, p) : null;

    const names = [...this.dense.keys()];
    const vars = names.map((n) => this.dense.get(n)!);
    const exclusive = this.config.repeat === 'exclusive';
    // The item rows enter as inputs of the gradient (inputs, candidate columns, targets): the item
    // table is trained by sparse Adam from their gradients.
    const lossFn = (xT: tf.Tensor, cT: tf.Tensor, tT: tf.Tensor, ...w: tf.Tensor[]): tf.Scalar => {
      const candN = tf.mul(cT, tf.rsqrt(tf.add(tf.sum(tf.square(cT), 0, true), 1e-12))) as tf.Tensor2D;
      return sessionLoss({
        batch: b,
        rows: lr,
        net: networkWeights(Object.fromEntries(names.map((n, i) => [n, w[i]!]))),
        scale: this.config.scale,
        x: xT as tf.Tensor2D,
        ...(exclusive ? { unitX: l2NormalizeRows(xT as tf.Tensor2D) } : {}),
        targets: l2NormalizeRows(tT as tf.Tensor2D),
        cosines: (sess) => matMul(sess, candN),
        sampled: { logQ, targetLogQ: tgtLogQ, windowIn, windowLogQ },
        inputDropout,
        sessionDropout,
      });
    };

    return tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads(lossFn as (...a: tf.Tensor[]) => tf.Scalar)([
        tf.tensor2d(gatherRows(items, this.items, d), [rows, d]),
        tf.tensor2d(candT, [d, k]),
        tf.tensor2d(gatherRows(lr.target, this.items, d), [rows, d]),
        ...vars,
      ]);
      const loss = value.dataSync()[0]!;
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss}`);
      this._applyItemGradients(
        [
          [items, grads[0]!.dataSync() as Float32Array],
          [lr.target, grads[2]!.dataSync() as Float32Array],
        ],
        cand,
        grads[1]!.dataSync() as Float32Array,
      );
      this.optimizer.applyGradients(names.map((name, i) => ({ name, tensor: grads[i + 3]! })));
      return loss;
    });
  }

  /**
   * The step's candidate columns and their log-Q: the batch's targets first, then the shared
   * negatives, each item once; or, for the full softmax, every item in order with log-Q 0.
   */
  private _candidates(targets: Int32Array): { cand: number[]; col: Map<number, number>; logQ: Float32Array; positives: number } {
    let positives = 0;
    for (const t of targets) if (t >= 0) positives++;
    const n = this.config.numItems;
    if (this.settings.negatives >= n) {
      this._all ??= { cand: Array.from({ length: n }, (_, i) => i), col: new Map(Array.from({ length: n }, (_, i) => [i, i])) };
      return { ...this._all, logQ: new Float32Array(n), positives };
    }
    const negatives = this.sampler.sample(this.settings.negatives, this.rng);
    const col = new Map<number, number>();
    const cand: number[] = [];
    for (const t of targets)
      if (t >= 0 && !col.has(t)) {
        col.set(t, cand.length);
        cand.push(t);
      }
    for (const item of negatives)
      if (!col.has(item)) {
        col.set(item, cand.length);
        cand.push(item);
      }
    const logQ = Float32Array.from(cand, (item) => this.sampler.logInclusion(item, positives, negatives.length));
    return { cand, col, logQ, positives };
  }

  /** An inverted-dropout mask of `n` entries: 0 with probability `p`, else 1/(1-p). */
  private _dropoutMask(n: number, p: number): Float32Array {
    const m = new Float32Array(n);
    const keep = 1 / (1 - p);
    for (let i = 0; i < n; i++) m[i] = this.rng.next() < p ? 0 : keep;
    return m;
  }

  /**
   * Adds the gradients of every place an item row entered the step — row-wise inputs (items and
   * targets, `[rows, embed]` each) and candidate columns (`[embed, candidates]`) — and takes one
   * sparse Adam step on the rows touched.
   */
  private _applyItemGradients(rowInputs: Array<[Int32Array, Float32Array]>, cand: number[], gc: Float32Array): void {
    const d = this.config.embedDim;
    const g = this._grad;
    const touched: number[] = [];
    const mark = (item: number): void => {
      if (!this._seen[item]) {
        this._seen[item] = 1;
        touched.push(item);
      }
    };
    for (const [rowItems, gx] of rowInputs) {
      rowItems.forEach((item, r) => {
        if (item < 0) return;
        mark(item);
        for (let e = 0; e < d; e++) g[item * d + e]! += gx[r * d + e]!;
      });
    }
    const k = cand.length;
    cand.forEach((item, j) => {
      mark(item);
      for (let e = 0; e < d; e++) g[item * d + e]! += gc[e * k + j]!;
    });
    const rows = Int32Array.from(touched);
    this.itemOptimizer.apply(rows, g);
    for (const r of rows) this._seen[r] = 0;
  }

  /** Frees the variables (and their names, so another trainer can be built) and the optimiser state. */
  dispose(): void {
    for (const v of this.dense.values()) v.dispose();
    this.optimizer.dispose();
  }

  /** Adds the current weights to the running average (a run with `averageEpochs` > 0). */
  snapshot(): void {
    this.average?.add(this.items, this.denseData());
  }

  /** The weights the run ships: the average when one is kept and has snapshots, else the current ones. */
  shippedWeights(): ModelWeights {
    if (this.average && this.average.count > 0) return this.average.weights(this.config);
    return { config: this.config, items: this.items, dense: this.denseData() };
  }

  /** Current dense weights as float32 arrays by name. */
  denseData(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [n, v] of this.dense) out.set(n, v.dataSync() as Float32Array);
    return out;
  }
}
