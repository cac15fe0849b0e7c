import * as tf from '@tensorflow/tfjs';
import { denseShapes, type ModelConfig } from '../../src/model/plain/modelConfig';
import { matMul } from '../../src/model/tfjs/matMul';
import { Random } from '../random';
import { encodeAllPositionsWithStates, l2NormalizeRows, networkWeights } from '../../src/model/tfjs/sessionEncoder';
import { causalRepeatMask, repeatLogitsAllPositions, repeatRowLoss, windowItemLogits } from '../../src/model/tfjs/repeatMixture';
import type { ModelWeights } from '../../src/node/modelDir';
import { NegativeSampler } from './negativeSampler';
import type { SessionBatch } from './sessionBatches';
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
    const { steps, batch, items, targets } = b;
    const rows = steps * batch;
    const { cand, col, logQ, positives } = this._candidates(targets);
    const k = cand.length;
    const candT = new Float32Array(d * k); // [embed, candidates]: untransposed product is fast
    cand.forEach((item, j) => {
      for (let e = 0; e < d; e++) candT[e * k + j] = this.items[item * d + e]!;
    });

    // Inputs time-major; targets (their embeddings) and mask batch-major, the encoder's row order.
    const x = new Float32Array(rows * d);
    const tgt = new Float32Array(rows * d);
    const tgtItem = new Int32Array(rows).fill(-1);
    const tgtLogQ = new Float32Array(rows);
    const mask = new Float32Array(rows);
    const repeat = this.config.repeat;
    // Repeat path: matches[(b*steps + t)*steps + j] = 1 when input j ≤ t of session b is the target;
    // exclusive mode also needs, per row, which distinct window items are candidates (with their
    // log-Q) and whether the target is in the window.
    const matches = repeat ? new Float32Array(rows * steps) : null;
    const exclusive = repeat === 'exclusive';
    const windowIn = exclusive ? new Float32Array(rows * steps) : null;
    const windowLogQ = exclusive ? new Float32Array(rows * steps) : null;
    const isRepeat = exclusive ? new Float32Array(rows) : null;
    for (let t = 0; t < steps; t++) {
      for (let bb = 0; bb < batch; bb++) {
        const r = t * batch + bb;
        const item = items[r]!;
        if (item >= 0) x.set(this.items.subarray(item * d, item * d + d), r * d);
        const target = targets[r]!;
        if (target >= 0) {
          const o = bb * steps + t;
          tgt.set(this.items.subarray(target * d, target * d + d), o * d);
          tgtItem[o] = target;
          tgtLogQ[o] = logQ[col.get(target)!]!;
          mask[o] = 1;
          if (matches) {
            for (let j = 0; j <= t; j++) {
              const item = items[j * batch + bb]!;
              if (item === target) matches[o * steps + j] = 1;
              if (!windowIn) continue;
              let first = true;
              for (let jj = 0; jj < j && first; jj++) if (items[jj * batch + bb] === item) first = false;
              const c = col.get(item);
              if (first && c !== undefined) {
                windowIn[o * steps + j] = 1;
                windowLogQ![o * steps + j] = logQ[c]!;
              }
              if (item === target) isRepeat![o] = 1;
            }
          }
        }
      }
    }

    // Dropout masks (training only) from the seeded RNG, so runs stay reproducible; with dropout 0
    // nothing is drawn and the step is exactly the dropout-free one.
    const p = this.settings.dropout ?? 0;
    const inMask = p > 0 ? this._dropoutMask(rows * d, p) : null;
    const sessMask = p > 0 ? this._dropoutMask(rows * d, p) : null;

    const names = [...this.dense.keys()];
    const vars = names.map((n) => this.dense.get(n)!);
    const scale = this.config.scale;
    // loss = Σ_rows mask · (log Σ_c exp(z_c) − z_target) / positives, z = scale·cos − logQ. The
    // target's logit is computed from its own embedding row rather than picked out of the
    // [rows × candidates] matrix with a one-hot mask: same value and gradient, four fewer passes
    // over the largest tensor of the step.
    const lossFn = (xT: tf.Tensor, cT: tf.Tensor, tT: tf.Tensor, ...w: tf.Tensor[]): tf.Scalar => {
      const net = networkWeights(Object.fromEntries(names.map((n, i) => [n, w[i]!])));
      const encoded = encodeAllPositionsWithStates(
        xT as tf.Tensor2D,
        steps,
        batch,
        net,
        inMask ? tf.tensor2d(inMask, [rows, d]) : undefined,
      );
      let enc = encoded.sessions;
      if (sessMask) enc = tf.mul(enc, tf.tensor2d(sessMask, [rows, d]));
      const sess = l2NormalizeRows(enc);
      const candN = tf.mul(cT, tf.rsqrt(tf.add(tf.sum(tf.square(cT), 0, true), 1e-12)));
      const logits = tf.sub(tf.mul(matMul(sess, candN as tf.Tensor2D), scale), tf.tensor1d(logQ));
      // |logits| ≤ scale + max(−logQ) ≈ 40, so exp cannot overflow float32 and the max-shift of
      // tf.logSumExp (whose gradient costs a slow broadcast `Equal` on wasm) is not needed.
      const partition = tf.sum(tf.exp(logits), 1) as tf.Tensor1D;
      const picked = tf.sub(
        tf.mul(tf.sum(tf.mul(sess, l2NormalizeRows(tT as tf.Tensor2D)), 1), scale),
        tf.tensor1d(tgtLogQ),
      ) as tf.Tensor1D;
      let rowLoss: tf.Tensor1D;
      if (net.repeat && matches) {
        // The repeat path's logits are always-present candidates, known exactly rather than
        // sampled, so they join the partition without a log-Q correction. (Correcting them by
        // their items' log-Q as well was tried and lost 2.7 points of validation Recall@20.)
        let windowLogits: tf.Tensor2D | undefined;
        if (exclusive) {
          // The window items' logits as they entered the sampled softmax (log-Q corrected).
          windowLogits = tf.sub(
            windowItemLogits(sess, l2NormalizeRows(xT as tf.Tensor2D), steps, batch, scale),
            tf.tensor2d(windowLogQ!, [rows, steps]),
          ) as tf.Tensor2D;
        }
        rowLoss = repeatRowLoss({
          itemPartition: partition,
          picked,
          beta: repeatLogitsAllPositions(encoded.states, net.repeat),
          causal: tf.tensor2d(causalRepeatMask(batch, steps), [rows, steps]),
          matches: tf.tensor2d(matches, [rows, steps]),
          ...(windowLogits
            ? { exclusive: { windowLogits, windowInPartition: tf.tensor2d(windowIn!, [rows, steps]), isRepeat: tf.tensor1d(isRepeat!) } }
            : {}),
        });
      } else {
        rowLoss = tf.sub(tf.log(partition), picked) as tf.Tensor1D;
      }
      return tf.div(tf.sum(tf.mul(rowLoss, tf.tensor1d(mask))), Math.max(positives, 1)) as tf.Scalar;
    };

    return tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads(lossFn as (...a: tf.Tensor[]) => tf.Scalar)([
        tf.tensor2d(x, [rows, d]),
        tf.tensor2d(candT, [d, k]),
        tf.tensor2d(tgt, [rows, d]),
        ...vars,
      ]);
      const loss = value.dataSync()[0]!;
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss}`);
      this._applyItemGradients(
        [
          [items, grads[0]!.dataSync() as Float32Array],
          [tgtItem, grads[2]!.dataSync() as Float32Array],
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
