import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../plain/modelConfig';
import { causalRepeatMask, repeatLogitsAllPositions, repeatRowLoss, windowItemLogits } from './repeatMixture';
import { matMul } from './matMul';
import { encodeAllPositionsWithStates, l2NormalizeRows, type NetworkWeights } from './sessionEncoder';

/**
 * The training loss of the session model and the batch layout it reads, the one copy used by
 * centralized training (`models/train/sessionTrainer.ts`) and on-device training
 * (`src/federated/localTrainer.ts`).
 *
 * Layout: sessions are cut into windows ({@link windowSessions}), a batch lays windows out
 * left-aligned and padded ({@link buildBatch}: inputs time-major, the encoder's input order), and
 * {@link lossRows} lists what the loss reads per row of the encoder's output (batch-major, row
 * `b*steps + t`): the target, the mask and the repeat path's masks.
 *
 * Loss ({@link sessionLoss}): softmax cross-entropy of the next item at every position of every
 * window, scores `scale · cos(session, item)`, on the repeat mixture when the model has one. The
 * candidates are every item (the device) or the batch's targets plus sampled negatives with log-Q
 * correction (centrally, {@link SessionLossInputs.sampled}).
 */

/** One mini-batch: `batch` session windows, left-aligned and padded to `steps` inputs. */
export interface SessionBatch {
  steps: number;
  batch: number;
  /** Item indices, time-major: `items[t*batch + b]` (-1 = padding). */
  items: Int32Array;
  /** Next-item targets at each position, time-major like `items` (-1 = no target: masked). */
  targets: Int32Array;
}

/**
 * Cuts sessions into windows of at most `maxLen` items; sessions shorter than 2 items are skipped.
 * Consecutive windows share one item (the last input of one is the first input of the next), so
 * every target of a long session is predicted exactly once.
 */
export function windowSessions(sessions: ReadonlyArray<ArrayLike<number>>, maxLen: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (const s of sessions) {
    if (s.length < 2) continue;
    const w = s instanceof Int32Array ? s : Int32Array.from(s);
    for (let start = 0; start < w.length - 1; start += maxLen - 1) {
      out.push(w.subarray(start, Math.min(w.length, start + maxLen)));
    }
  }
  return out;
}

/** Lays out windows as a time-major {@link SessionBatch}. */
export function buildBatch(windows: ReadonlyArray<Int32Array>): SessionBatch {
  const batch = windows.length;
  let steps = 1;
  for (const s of windows) if (s.length - 1 > steps) steps = s.length - 1;
  const items = new Int32Array(steps * batch).fill(-1);
  const targets = new Int32Array(steps * batch).fill(-1);
  windows.forEach((s, b) => {
    // Inputs are items 0…n-2, targets items 1…n-1: the last item is never an input.
    for (let t = 0; t < s.length - 1; t++) {
      items[t * batch + b] = s[t]!;
      targets[t * batch + b] = s[t + 1]!;
    }
  });
  return { steps, batch, items, targets };
}

/** What {@link sessionLoss} reads per output row `b*steps + t` of a {@link SessionBatch}. */
export interface LossRows {
  /** The row's target item (-1 = padding). */
  target: Int32Array;
  /** 1 where the row has a target. */
  mask: Float32Array;
  /** Rows with a target (predicted next items). */
  positives: number;
  /** Repeat path only: 1 at `row*steps + j` when input j ≤ t of the row's window is its target. */
  matches: Float32Array | null;
  /** Exclusive repeat path only: 1 at `row*steps + j` when input j ≤ t is the first of its item in the window. */
  firstInWindow: Float32Array | null;
  /** Exclusive repeat path only: 1 per row whose target is in its window. */
  isRepeat: Float32Array | null;
}

/** The {@link LossRows} of a batch for a model with the repeat path `repeat` (or none). */
export function lossRows(b: SessionBatch, repeat: ModelConfig['repeat']): LossRows {
  const { steps, batch, items, targets } = b;
  const rows = steps * batch;
  const target = new Int32Array(rows).fill(-1);
  const mask = new Float32Array(rows);
  const matches = repeat ? new Float32Array(rows * steps) : null;
  const exclusive = repeat === 'exclusive';
  const firstInWindow = exclusive ? new Float32Array(rows * steps) : null;
  const isRepeat = exclusive ? new Float32Array(rows) : null;
  let positives = 0;
  for (let bb = 0; bb < batch; bb++) {
    for (let t = 0; t < steps; t++) {
      const next = targets[t * batch + bb]!;
      if (next < 0) continue;
      const o = bb * steps + t;
      target[o] = next;
      mask[o] = 1;
      positives++;
      if (!matches) continue;
      for (let j = 0; j <= t; j++) {
        const item = items[j * batch + bb]!;
        if (item === next) {
          matches[o * steps + j] = 1;
          if (isRepeat) isRepeat[o] = 1;
        }
        if (!firstInWindow) continue;
        let first = true;
        for (let jj = 0; jj < j && first; jj++) if (items[jj * batch + bb] === item) first = false;
        if (first) firstInWindow[o * steps + j] = 1;
      }
    }
  }
  return { target, mask, positives, matches, firstInWindow, isRepeat };
}

/** Rows `indices` of a `rows × d` table, in that order (zeros where an index is -1). */
export function gatherRows(indices: Int32Array, table: Float32Array, d: number): Float32Array {
  const out = new Float32Array(indices.length * d);
  indices.forEach((i, r) => {
    if (i >= 0) out.set(table.subarray(i * d, i * d + d), r * d);
  });
  return out;
}

/** The tensors and settings of one {@link sessionLoss} evaluation. */
export interface SessionLossInputs {
  batch: SessionBatch;
  rows: LossRows;
  net: NetworkWeights;
  scale: number;
  /** Input embeddings `[steps·batch, embed]`, time-major (any norm: the encoder normalises them). */
  x: tf.Tensor2D;
  /** `x` at unit norm, for the exclusive repeat path's window logits (default `x` itself). */
  unitX?: tf.Tensor2D;
  /** Unit-norm target embeddings `[steps·batch, embed]`, batch-major (zero rows where masked). */
  targets: tf.Tensor2D;
  /**
   * Cosines `[n, candidates]` of `n` unit session vectors with every candidate item, or the
   * candidates in parts (`[n, c₁]`, `[n, c₂]`…: their partitions add; not with `sampled`). Called
   * with the rows that have a target only, in row order.
   */
  cosines: (sessions: tf.Tensor2D) => tf.Tensor2D | tf.Tensor2D[];
  /**
   * Sampled softmax: log-Q of each candidate column, of each row's target, and of each window
   * item (`[rows, steps]`) with the window items that are candidates (`windowIn`, in place of
   * `rows.firstInWindow`). Absent: the candidates are every item, with no correction.
   */
  sampled?: { logQ: Float32Array; targetLogQ: Float32Array; windowIn: Float32Array | null; windowLogQ: Float32Array | null };
  /** Inverted-dropout masks `[rows, embed]` of the encoder's inputs and of the session vectors. */
  inputDropout?: Float32Array | null;
  sessionDropout?: Float32Array | null;
}

/**
 * Mean loss per target of a batch: Σ_rows mask · (log Σ_c exp(z_c) − z_target) / positives, with
 * `z = scale·cos − logQ`, or the repeat mixture's `log(partition) − log(target mass)`
 * (`repeatRowLoss`). |z| ≤ scale + max(−logQ) ≈ 40, so exp cannot overflow float32 and the
 * max-shift of tf.logSumExp (whose gradient costs a slow broadcast `Equal` on wasm) is not needed.
 * The target's logit is computed from its own embedding row rather than picked out of the
 * `[rows × candidates]` matrix with a one-hot mask: same value and gradient, four fewer passes
 * over the largest tensor of the step. Call inside `tf.tidy` (or a gradient function).
 */
export function sessionLoss(o: SessionLossInputs): tf.Scalar {
  const { steps, batch } = o.batch;
  const { rows: r, scale, sampled } = o;
  const rows = steps * batch;
  const d = o.x.shape[1];
  const encoded = encodeAllPositionsWithStates(
    o.x,
    steps,
    batch,
    o.net,
    o.inputDropout ? tf.tensor2d(o.inputDropout, [rows, d]) : undefined,
  );
  let enc = encoded.sessions;
  if (o.sessionDropout) enc = tf.mul(enc, tf.tensor2d(o.sessionDropout, [rows, d]));
  const sess = l2NormalizeRows(enc);
  // On small batches (a device's), the candidates are scored for the rows with a target only:
  // windows are padded to the longest of the batch, and the `[rows × candidates]` product is the
  // step's largest. The selection and the scatter back are products with constant one-hot
  // matrices (tf.gather's gradient has no wasm kernel), `rows²` entries each, hence small batches
  // only. A padded row's partition is 1, so its log is 0 (and masked anyway).
  const { pick, spread } = targetRows(r);
  const parts = [o.cosines(pick ? matMul(pick, sess) : sess)].flat();
  if (sampled && parts.length > 1) throw new RangeError('sessionLoss: sampled candidates come in one part');
  let partitionAt: tf.Tensor1D | null = null;
  for (const part of parts) {
    let logits = tf.mul(part, scale) as tf.Tensor2D;
    if (sampled) logits = tf.sub(logits, tf.tensor1d(sampled.logQ));
    const p = tf.sum(tf.exp(logits), 1) as tf.Tensor1D;
    partitionAt = partitionAt ? (tf.add(partitionAt, p) as tf.Tensor1D) : p;
  }
  const partition = spread
    ? (tf.add(tf.reshape(matMul(spread, tf.reshape(partitionAt!, [-1, 1])), [rows]), tf.tensor1d(r.mask.map((m) => 1 - m))) as tf.Tensor1D)
    : partitionAt!;
  let picked = tf.mul(tf.sum(tf.mul(sess, o.targets), 1), scale) as tf.Tensor1D;
  if (sampled) picked = tf.sub(picked, tf.tensor1d(sampled.targetLogQ));
  let rowLoss: tf.Tensor1D;
  if (o.net.repeat && r.matches) {
    // The repeat path's logits are always-present candidates, known exactly rather than sampled,
    // so they join the partition without a log-Q correction. (Correcting them by their items'
    // log-Q as well was tried and lost 2.7 points of validation Recall@20.)
    let exclusive;
    if (r.firstInWindow && r.isRepeat) {
      // The window items' logits as they entered the softmax (log-Q corrected when sampled).
      let windowLogits = windowItemLogits(sess, o.unitX ?? o.x, steps, batch, scale);
      if (sampled) windowLogits = tf.sub(windowLogits, tf.tensor2d(sampled.windowLogQ!, [rows, steps]));
      exclusive = {
        windowLogits,
        windowInPartition: tf.tensor2d(sampled ? sampled.windowIn! : r.firstInWindow, [rows, steps]),
        isRepeat: tf.tensor1d(r.isRepeat),
      };
    }
    rowLoss = repeatRowLoss({
      itemPartition: partition,
      picked,
      beta: repeatLogitsAllPositions(encoded.states, o.net.repeat),
      causal: tf.tensor2d(causalRepeatMask(batch, steps), [rows, steps]),
      matches: tf.tensor2d(r.matches, [rows, steps]),
      ...(exclusive ? { exclusive } : {}),
    });
  } else {
    rowLoss = tf.sub(tf.log(partition), picked) as tf.Tensor1D;
  }
  return tf.div(tf.sum(tf.mul(rowLoss, tf.tensor1d(r.mask))), Math.max(r.positives, 1)) as tf.Scalar;
}

/** Batches of at most this many rows score their target rows only (see {@link sessionLoss}). */
const MAX_PICKED_ROWS = 1024;

/**
 * One-hot matrices that pick the rows with a target (`pick`, `[positives × rows]`) and put a value
 * per picked row back in its place (`spread`, `[rows × positives]`); null when every row has one.
 */
function targetRows(r: LossRows): { pick: tf.Tensor2D | null; spread: tf.Tensor2D | null } {
  const rows = r.mask.length;
  const n = r.positives;
  if (n === rows || n === 0 || rows > MAX_PICKED_ROWS) return { pick: null, spread: null };
  const pick = new Float32Array(n * rows);
  const spread = new Float32Array(rows * n);
  let k = 0;
  for (let row = 0; row < rows; row++) {
    if (r.mask[row] !== 1) continue;
    pick[k * rows + row] = 1;
    spread[row * n + k] = 1;
    k++;
  }
  return { pick: tf.tensor2d(pick, [n, rows]), spread: tf.tensor2d(spread, [rows, n]) };
}
