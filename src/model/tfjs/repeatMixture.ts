import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matMul';
import { REPEAT_CAP } from '../plain/repeatScores';

/**
 * The repeat (copy) path of the session model, after RepeatNet (Ren et al., AAAI 2019) and
 * pointer-generator networks: shoppers very often return to an item they already viewed in the
 * session (on DIGINETICA a fifth of next items do), and a cosine score bounded by `scale` cannot
 * put the last item far above its neighbours. So every position j of the window also proposes
 * its own item with a logit
 *
 *   β_tj = h_t·w_q + h_j·w_k + r_{t−j}      (soft-capped at ±REPEAT_CAP)
 *
 * (the session's current state, the state after item j, and a learned recency bias), and the
 * model's distribution is the mixture
 *
 *   p(i) ∝ exp(z_i) + Σ_{j ≤ t : x_j = i} exp(β_tj),   z_i = scale·cos(s_t, e_i),
 *
 * so an item's final score is `log(exp(z_i) + Σ exp β)` and items outside the session keep
 * `z_i`. The same formula is used in training (sampled softmax with the β terms as extra,
 * always-included candidates), in the Node evaluator and in the browser. This module holds the
 * training side (tfjs); `repeatScores.ts` the plain-JS scoring.
 */

/** Repeat weights as tensors (training). */
export interface RepeatTensors {
  query: tf.Tensor2D; // [hidden, 1]
  key: tf.Tensor2D; // [hidden, 1]
  recency: tf.Tensor1D; // [maxLen]
}

/**
 * Training: β at every position of a batch, `[batch * steps, steps]` (row `b*steps + t`, column
 * j), from the GRU states `hs` (`[batch, steps, hidden]`). Entries with j > t are garbage and
 * must be masked by the caller.
 */
export function repeatLogitsAllPositions(hs: tf.Tensor3D, w: RepeatTensors): tf.Tensor2D {
  const [batch, steps, hidden] = hs.shape;
  const maxLen = w.recency.shape[0];
  const flat = tf.reshape(hs, [batch * steps, hidden]) as tf.Tensor2D;
  const q = tf.reshape(matMul(flat, w.query), [batch, steps, 1]);
  const k = tf.reshape(matMul(flat, w.key), [batch, 1, steps]);
  // r_{t−j} laid out as [steps(t), steps(j)] through a constant one-hot product (the gradient of
  // tf.gather needs a kernel the wasm backend lacks).
  const pick = new Float32Array(steps * steps * maxLen);
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j <= t; j++) pick[(t * steps + j) * maxLen + Math.min(t - j, maxLen - 1)] = 1;
  }
  const r = tf.reshape(matMul(tf.tensor2d(pick, [steps * steps, maxLen]), tf.reshape(w.recency, [maxLen, 1]) as tf.Tensor2D), [
    1,
    steps,
    steps,
  ]);
  const raw = tf.add(tf.add(q, k), r);
  return tf.reshape(tf.mul(tf.tanh(tf.div(raw, REPEAT_CAP)), REPEAT_CAP), [batch * steps, steps]) as tf.Tensor2D;
}

/**
 * Exclusive mode: the item logit `scale · cos` of every row's window items, `[batch * steps,
 * steps]` (row `b*steps + t`, column j = input j of session b). `sessions` are the normalised
 * session vectors (batch-major rows), `inputs` the normalised input embeddings (time-major rows,
 * as the encoder reads them).
 */
export function windowItemLogits(sessions: tf.Tensor2D, inputs: tf.Tensor2D, steps: number, batch: number, scale: number): tf.Tensor2D {
  const d = inputs.shape[1];
  const inputsT = tf.transpose(tf.reshape(inputs, [steps, batch, d]), [1, 2, 0]); // [batch, d, steps]
  const cos = matMul(tf.reshape(sessions, [batch, steps, d]) as tf.Tensor3D, inputsT);
  return tf.reshape(tf.mul(cos, scale), [batch * steps, steps]) as tf.Tensor2D;
}

/** The causal mask of {@link repeatLogitsAllPositions}: 1 where j ≤ t, `[batch * steps, steps]`. */
export function causalRepeatMask(batch: number, steps: number): Float32Array {
  const m = new Float32Array(batch * steps * steps);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) m.fill(1, (b * steps + t) * steps, (b * steps + t) * steps + t + 1);
  }
  return m;
}

/**
 * The per-row loss `log(partition) − log(target mass)` of a model with a repeat path, shared by
 * centralized training (sampled candidates with log-Q) and on-device training (every item).
 *
 * - `itemPartition` `[rows]`: Σ exp(item logit) over the candidates; `picked` `[rows]`: the
 *   target's item logit (both as they enter that softmax, log-Q corrected or not);
 * - `beta` `[rows, steps]`: {@link repeatLogitsAllPositions}; `causal`: its mask;
 *   `matches` `[rows, steps]`: 1 where window position j holds the row's target;
 * - `exclusive` (RepeatNet's split): `windowLogits` `[rows, steps]` are the item logits of the
 *   window's items, `windowInPartition` marks each distinct window item that is among the
 *   candidates (its item term is taken out of the partition), and `isRepeat` `[rows]` marks rows
 *   whose target is in the window (their item term leaves the target mass).
 */
export function repeatRowLoss(a: {
  itemPartition: tf.Tensor1D;
  picked: tf.Tensor1D;
  beta: tf.Tensor2D;
  causal: tf.Tensor2D;
  matches: tf.Tensor2D;
  exclusive?: { windowLogits: tf.Tensor2D; windowInPartition: tf.Tensor2D; isRepeat: tf.Tensor1D };
}): tf.Tensor1D {
  const expBeta = tf.exp(a.beta);
  let items = a.itemPartition;
  let targetItem = tf.exp(a.picked);
  if (a.exclusive) {
    const e = a.exclusive;
    // The same terms as in itemPartition, computed by another product: relu guards the rounding.
    items = tf.relu(tf.sub(items, tf.sum(tf.mul(tf.exp(e.windowLogits), e.windowInPartition), 1))) as tf.Tensor1D;
    targetItem = tf.mul(targetItem, tf.sub(1, e.isRepeat)) as tf.Tensor1D;
  }
  const partition = tf.add(items, tf.sum(tf.mul(expBeta, a.causal), 1));
  const target = tf.add(targetItem, tf.sum(tf.mul(expBeta, a.matches), 1));
  return tf.sub(tf.log(partition), tf.log(target)) as tf.Tensor1D;
}
