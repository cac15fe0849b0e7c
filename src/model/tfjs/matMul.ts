import * as tf from '@tensorflow/tfjs-core';

/**
 * `a · b` whose gradient avoids tfjs' transposed matrix products. The wasm backend runs
 * `matMul(x, y, transposeA | transposeB)` about 10× slower than the plain product (measured:
 * 2 vs 18-28 GFLOP/s for 512×64 · 64×43k), and the built-in gradient of `matMul` uses exactly
 * those forms. Here the operands are transposed explicitly (a cheap copy) and multiplied plainly.
 * Works for 2-D and batched 3-D operands; the forward value is the ordinary `tf.matMul`.
 */
export const matMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const t = (m: tf.Tensor): tf.Tensor => (m.rank === 3 ? tf.transpose(m, [0, 2, 1]) : tf.transpose(m));
      return [tf.matMul(dy, t(sb)), tf.matMul(t(sa), dy)];
    },
  };
}) as <T extends tf.Tensor>(a: T, b: tf.Tensor) => T;
