import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { matMul } from '../../../src/model/tfjs/matMul';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const close = (a: tf.Tensor, b: tf.Tensor): void => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  x.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 4));
};

describe('matMul with transpose-free gradient', () => {
  for (const [name, sa, sb] of [
    ['2-D', [5, 3], [3, 4]],
    ['batched 3-D', [2, 5, 3], [2, 3, 4]],
  ] as const) {
    it(`matches tf.matMul in value and gradient (${name})`, () => {
      const a = tf.randomNormal([...sa]);
      const b = tf.randomNormal([...sb]);
      const w = tf.randomNormal([...sa.slice(0, -1), 4]); // weights the output so the gradient is not all ones
      const loss = (f: typeof tf.matMul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), w));
      close(matMul(a, b), tf.matMul(a, b));
      const [ga, gb] = tf.grads(loss(matMul as typeof tf.matMul))([a, b]);
      const [ra, rb] = tf.grads(loss(tf.matMul))([a, b]);
      close(ga!, ra!);
      close(gb!, rb!);
    });
  }
});
