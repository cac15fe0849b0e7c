import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate as evaluateCases } from '../../../models/eval/evaluate';
import { scorerFromWeights } from '../../../models/eval/modelScorers';
import type { ModelWeights } from '../../../src/node/modelDir';
import { runFederated } from '../../../models/federated/federatedRun';
import { DEFAULT_SIMULATION } from '../../../models/federated/simulationSettings';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config: ModelConfig = { numItems: 30, embedDim: 8, hiddenDim: 10, attnDim: 4, scale: 10, maxLen: 8 };
const rng = new Random(4);
const items = Float32Array.from({ length: config.numItems * config.embedDim }, () => rng.normal());
const dense = new Map(
  denseShapes(config).map(
    ([n, shape]) =>
      [n, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (shape.length === 2 ? rng.normal() * 0.3 : 0))] as const,
  ),
);
const session = (): Int32Array => {
  const start = rng.int(25);
  return Int32Array.from({ length: 3 + rng.int(3) }, (_, k) => start + k);
};
const devices = Array.from({ length: 40 }, () => [session(), session()]);
const cases = Array.from({ length: 60 }, () => {
  const s = session();
  return { prefix: s.subarray(0, 2), target: s[2]! };
});

const vocab = Array.from({ length: 30 }, (_, i) => `i${i}`);
const evaluate = async (w: ModelWeights): Promise<{ recall20: number; mrr20: number }> => {
  const scorer = scorerFromWeights('t', w, vocab);
  const r = await evaluateCases(scorer, cases, 30);
  scorer.model.dispose();
  return r;
};

describe('runFederated', () => {
  for (const sigma of [0, 1]) {
    it(`runs rounds through makeUpdate, validateUpdate and FedAvg with no rejected update (σ=${sigma})`, async () => {
      const before = tf.memory().numTensors;
      const r = await runFederated({
        name: 't',
        settings: { ...DEFAULT_SIMULATION, rounds: 3, clientsPerRound: 10, sessionsPerDevice: 2, clipNorm: 0.5, localLr: 0.5 },
        noiseMultiplier: sigma,
        start: { config, items, dense },
        devices,
        evaluate,
        log: () => {},
      });
      expect(r.rejected).toEqual({});
      expect(r.rows.map((x) => x.accepted)).toEqual([10, 10, 10]);
      expect(r.updateBytes).toBeGreaterThan(0);
      expect(tf.memory().numTensors).toBe(before);
      if (sigma > 0) {
        expect(r.rows[2]!.epsilon).toBeGreaterThan(r.rows[0]!.epsilon);
      } else {
        // Without noise the loss of the sampled devices falls as the shared model learns the walk.
        expect(r.rows[2]!.loss).toBeLessThan(r.rows[0]!.loss);
      }
      // Only the federated tensors moved.
      for (const name of ['gru/Wz', 'attn/query', 'out/context']) expect(r.weights.dense.get(name)).toBe(dense.get(name));
      expect(r.weights.dense.get('gru/Uz')).not.toEqual(dense.get('gru/Uz'));
    });
  }
});
