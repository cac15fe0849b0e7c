import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matMul';

/**
 * The GRU cell of Cho et al. (2014) as used by GRU4Rec (Hidasi et al., ICLR 2016), with the reset
 * gate applied *before* the recurrent product ("reset_after = false", the form tfjs `GRUCell`
 * also implements):
 *
 *   z  = σ(x·Wz + bz + h·Uz)
 *   r  = σ(x·Wr + br + h·Ur)
 *   h̃ = tanh(x·Wh + bh + (r ⊙ h)·Uh)
 *   h' = (1 − z) ⊙ h + z ⊙ h̃
 *
 * Written with plain tfjs ops so that the Node trainer and the browser Worker run the very same
 * computation. Gates keep separate weight matrices: slicing one fused matrix is slow on the cpu
 * backend (see PLATFORM.md).
 */
export interface GruWeights {
  Wz: tf.Tensor2D;
  Wr: tf.Tensor2D;
  Wh: tf.Tensor2D;
  Uz: tf.Tensor2D;
  Ur: tf.Tensor2D;
  Uh: tf.Tensor2D;
  bz: tf.Tensor1D;
  br: tf.Tensor1D;
  bh: tf.Tensor1D;
}

/** Input projections `x·W + b` for the three gates, computed for many rows at once. */
export interface GruInputs {
  z: tf.Tensor2D;
  r: tf.Tensor2D;
  h: tf.Tensor2D;
}

/** Projects inputs `x` ([rows, embedDim]) for all three gates in three matrix products. */
export function projectGruInputs(x: tf.Tensor2D, w: GruWeights): GruInputs {
  return {
    z: tf.add(matMul(x, w.Wz), w.bz),
    r: tf.add(matMul(x, w.Wr), w.br),
    h: tf.add(matMul(x, w.Wh), w.bh),
  };
}

/** One GRU step from projected inputs (`[batch, hidden]` each) and the previous state `h`. */
export function gruStep(xin: GruInputs, h: tf.Tensor2D, w: GruWeights): tf.Tensor2D {
  const z = tf.sigmoid(tf.add(xin.z, matMul(h, w.Uz)));
  const r = tf.sigmoid(tf.add(xin.r, matMul(h, w.Ur)));
  const cand = tf.tanh(tf.add(xin.h, matMul(tf.mul(r, h), w.Uh)));
  return tf.add(h, tf.mul(z, tf.sub(cand, h)));
}

/**
 * Runs the GRU over time-major inputs: `x` is `[steps * batch, embedDim]`, rows of step `t` at
 * `t*batch … (t+1)*batch-1`. Starts from a zero state and returns the state after every step.
 */
export function runGru(x: tf.Tensor2D, steps: number, batch: number, w: GruWeights): tf.Tensor2D[] {
  const proj = projectGruInputs(x, w);
  const hidden = w.Uz.shape[0];
  // Unstack along time (contiguous, time-major): its gradient is a cheap stack, whereas the
  // gradient of one `slice` per step pads to the full tensor every step.
  // With one step the gradient of `unstack` breaks (tfjs hands its Unpack gradient a tensor, not
  // an array), and there is nothing to split anyway.
  const perStep = (m: tf.Tensor2D): tf.Tensor2D[] =>
    steps === 1 ? [m] : (tf.unstack(tf.reshape(m, [steps, batch, hidden])) as tf.Tensor2D[]);
  const z = perStep(proj.z);
  const r = perStep(proj.r);
  const c = perStep(proj.h);
  let h: tf.Tensor2D = tf.zeros([batch, hidden]);
  const states: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    h = gruStep({ z: z[t]!, r: r[t]!, h: c[t]! }, h, w);
    states.push(h);
  }
  return states;
}
