import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matMul';

/**
 * The session read-out of NARM (Li et al., CIKM 2017): an additive attention over the session's
 * hidden states, queried by the last one,
 *
 *   α_j = vᵀ σ(Aq·h_t + Ak·h_j + b),   c_t = Σ_{j ≤ t} α_j h_j,
 *   s_t = Wlast·h_t + Wctx·c_t + Witem·x_t   (the session vector, in item-embedding space)
 *
 * so that items seen earlier in the session can count as much as the last one. The last item's
 * own embedding x_t enters directly (as in STAMP and SR-GNN's local preference): the next item is
 * most often close to the last one clicked.
 */
export interface ReadoutWeights {
  /** The attention weights; absent in a model trained without attention (`attnDim = 0`). */
  attention?: {
    query: tf.Tensor2D; // [hidden, attn]
    key: tf.Tensor2D; // [hidden, attn]
    bias: tf.Tensor1D; // [attn]
    v: tf.Tensor2D; // [attn, 1]
    context: tf.Tensor2D; // [hidden, embed]
  };
  last: tf.Tensor2D; // [hidden, embed]
  item: tf.Tensor2D; // [embed, embed]
}

/**
 * Read-out at every position of a batch of sessions (training): `hs` is `[batch, steps, hidden]`,
 * `x` the normalised inputs `[batch * steps, embed]` (row `b*steps + t`); position t attends to
 * positions 0…t. Returns `[batch * steps, embed]`, row `b*steps + t`.
 */
export function readoutAllPositions(hs: tf.Tensor3D, x: tf.Tensor2D, w: ReadoutWeights): tf.Tensor2D {
  const [batch, steps, hidden] = hs.shape;
  const flat = tf.reshape(hs, [batch * steps, hidden]) as tf.Tensor2D;
  const terms = [matMul(flat, w.last), matMul(x, w.item)];
  const a = w.attention;
  if (a) {
    const attn = a.query.shape[1];
    const q = tf.reshape(matMul(flat, a.query), [batch, steps, 1, attn]);
    const k = tf.reshape(tf.add(matMul(flat, a.key), a.bias), [batch, 1, steps, attn]);
    const e = tf.sigmoid(tf.add(q, k)); // [batch, steps(t), steps(j), attn]
    const alpha = tf.reshape(matMul(tf.reshape(e, [-1, attn]) as tf.Tensor2D, a.v), [batch, steps, steps]);
    const causal = tf.linalg.bandPart(tf.ones([steps, steps]), -1, 0); // j ≤ t
    const context = matMul(tf.mul(alpha, causal) as tf.Tensor3D, hs); // [batch, steps, hidden]
    terms.push(matMul(tf.reshape(context, [batch * steps, hidden]) as tf.Tensor2D, a.context));
  }
  return tf.addN(terms);
}

/**
 * Read-out at one position per session (inference): `last` is `[batch, hidden]` (the state after
 * the session's last item), `lastItem` `[batch, embed]` that item's normalised embedding, `hs`
 * `[batch, steps, hidden]` the states so far and `mask` `[batch, steps]` 1 for real positions,
 * 0 for padding. Returns `[batch, embed]`.
 */
export function readoutLast(last: tf.Tensor2D, lastItem: tf.Tensor2D, hs: tf.Tensor3D, mask: tf.Tensor2D, w: ReadoutWeights): tf.Tensor2D {
  const terms = [matMul(last, w.last), matMul(lastItem, w.item)];
  const a = w.attention;
  if (a) {
    const [batch, steps, hidden] = hs.shape;
    const attn = a.query.shape[1];
    const q = tf.reshape(matMul(last, a.query), [batch, 1, attn]);
    const flat = tf.reshape(hs, [batch * steps, hidden]) as tf.Tensor2D;
    const k = tf.reshape(tf.add(matMul(flat, a.key), a.bias), [batch, steps, attn]);
    const e = tf.sigmoid(tf.add(q, k));
    const alpha = tf.mul(tf.reshape(matMul(tf.reshape(e, [-1, attn]) as tf.Tensor2D, a.v), [batch, steps]), mask);
    const context = tf.reshape(matMul(tf.reshape(alpha, [batch, 1, steps]) as tf.Tensor3D, hs), [batch, hidden]) as tf.Tensor2D;
    terms.push(matMul(context, a.context));
  }
  return tf.addN(terms);
}
