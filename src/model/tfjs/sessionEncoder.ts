import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matMul';
import { runGru, type GruWeights } from './gruCell';
import { readoutAllPositions, readoutLast, type ReadoutWeights } from './attentionReadout';
import type { RepeatTensors } from './repeatMixture';

/** The dense weights of the network (everything but the item-embedding table). */
export interface NetworkWeights {
  gru: GruWeights;
  readout: ReadoutWeights;
  /** The repeat path's weights; absent in a model without it (`config.repeat` false). */
  repeat?: RepeatTensors;
}

/** Builds {@link NetworkWeights} from tensors named as in `denseShapes` (`gru/Wz`, `attn/v`, …). */
export function networkWeights(named: Record<string, tf.Tensor>): NetworkWeights {
  const get = <T extends tf.Tensor>(name: string): T => {
    const t = named[name];
    if (!t) throw new Error(`model weights lack the tensor "${name}"`);
    return t as T;
  };
  return {
    gru: {
      Wz: get('gru/Wz'),
      Wr: get('gru/Wr'),
      Wh: get('gru/Wh'),
      Uz: get('gru/Uz'),
      Ur: get('gru/Ur'),
      Uh: get('gru/Uh'),
      bz: get('gru/bz'),
      br: get('gru/br'),
      bh: get('gru/bh'),
    },
    readout: {
      ...(named['attn/query']
        ? {
            attention: {
              query: get('attn/query'),
              key: get('attn/key'),
              bias: get('attn/bias'),
              v: get('attn/v'),
              context: get('out/context'),
            },
          }
        : {}),
      last: get('out/last'),
      item: get('out/item'),
    },
    ...(named['repeat/query'] ? { repeat: { query: get('repeat/query'), key: get('repeat/key'), recency: get('repeat/recency') } } : {}),
  };
}

/** Scales every row of `x` to unit L2 norm (rows of zeros stay near zero). */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)));
}

/**
 * Training-time encoder: session vectors at every position of `batch` left-aligned sessions.
 * `x` holds the raw (not yet normalised) embeddings of the items, time-major
 * (`[steps * batch, embed]`). Returns `[batch * steps, embed]`, row `b*steps + t` = the session
 * vector after item t of session b (rows past a session's end are padding, masked by the loss).
 * `inputDropout` (training only) is an inverted-dropout mask shaped like `x` (entries 0 or
 * 1/(1-p)), multiplied onto the normalised embeddings before they enter the GRU and the read-out.
 */
export function encodeAllPositions(
  x: tf.Tensor2D,
  steps: number,
  batch: number,
  w: NetworkWeights,
  inputDropout?: tf.Tensor2D,
): tf.Tensor2D {
  return encodeAllPositionsWithStates(x, steps, batch, w, inputDropout).sessions;
}

/**
 * {@link encodeAllPositions}, also returning the GRU states `[batch, steps, hidden]` (batch-major)
 * that the repeat path reads.
 */
export function encodeAllPositionsWithStates(
  x: tf.Tensor2D,
  steps: number,
  batch: number,
  w: NetworkWeights,
  inputDropout?: tf.Tensor2D,
): { sessions: tf.Tensor2D; states: tf.Tensor3D } {
  const xn = inputDropout ? (tf.mul(l2NormalizeRows(x), inputDropout) as tf.Tensor2D) : l2NormalizeRows(x);
  const states = runGru(xn, steps, batch, w.gru);
  const hs = tf.transpose(tf.stack(states), [1, 0, 2]) as tf.Tensor3D;
  const d = x.shape[1];
  const xBatchMajor = tf.reshape(tf.transpose(tf.reshape(xn, [steps, batch, d]), [1, 0, 2]), [batch * steps, d]) as tf.Tensor2D;
  return { sessions: readoutAllPositions(hs, xBatchMajor, w.readout), states: hs };
}

/**
 * Inference encoder: one session vector per prefix. `x` holds the *normalised* embeddings,
 * time-major `[steps * batch, embed]`, prefixes left-aligned; `lengths[b]` is prefix b's length
 * (1 … steps). Returns `[batch, embed]`.
 */
export function encodePrefixes(x: tf.Tensor2D, lengths: Int32Array, steps: number, batch: number, w: NetworkWeights): tf.Tensor2D {
  return encodePrefixesWithStates(x, lengths, steps, batch, w).sessions;
}

/** {@link encodePrefixes}, also returning the GRU states `[batch, steps, hidden]` (for the repeat path). */
export function encodePrefixesWithStates(
  x: tf.Tensor2D,
  lengths: Int32Array,
  steps: number,
  batch: number,
  w: NetworkWeights,
): { sessions: tf.Tensor2D; states: tf.Tensor3D } {
  const states = runGru(x, steps, batch, w.gru);
  const hs = tf.transpose(tf.stack(states), [1, 0, 2]) as tf.Tensor3D;
  const hidden = hs.shape[2];
  const lastIdx = new Int32Array(batch);
  const mask = new Float32Array(batch * steps);
  for (let b = 0; b < batch; b++) {
    const len = lengths[b]!;
    lastIdx[b] = b * steps + len - 1;
    mask.fill(1, b * steps, b * steps + len);
  }
  const idx = tf.tensor1d(lastIdx, 'int32');
  const last = tf.gather(tf.reshape(hs, [batch * steps, hidden]), idx) as tf.Tensor2D;
  const d = x.shape[1];
  const lastItem = tf.gather(tf.reshape(tf.transpose(tf.reshape(x, [steps, batch, d]), [1, 0, 2]), [batch * steps, d]), idx) as tf.Tensor2D;
  return { sessions: readoutLast(last, lastItem, hs, tf.tensor2d(mask, [batch, steps]), w.readout), states: hs };
}

/**
 * Scores of every item: `scale · cos(s, e_i)`. `itemsT` is the normalised item table,
 * transposed (`[embed, numItems]`): the untransposed product is ~10× faster on tfjs-wasm.
 */
export function scoreItems(sessions: tf.Tensor2D, itemsT: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.mul(matMul(l2NormalizeRows(sessions), itemsT), scale);
}
