import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';
import { ReadoutScorer } from '../../../src/model/plain/readoutScorer';
import { emptySessionState } from '../../../src/model/plain/sessionState';
import { SessionModel } from '../../../src/model/tfjs/sessionModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomModel(config: ModelConfig, seed: number) {
  const rng = new Random(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 0.8);
  const items = r(config.numItems * config.embedDim);
  const dense = new Map(denseShapes(config).map(([name, shape]) => [name, r(shape.reduce((a, b) => a * b, 1))]));
  return { items, dense };
}

describe('ReadoutScorer (plain JS) equals the tfjs read-out', () => {
  for (const attnDim of [4, 0]) {
    it(`attnDim ${attnDim}`, () => {
      const config: ModelConfig = { numItems: 30, embedDim: 8, hiddenDim: 6, attnDim, scale: 12, maxLen: 5 };
      const { items, dense } = randomModel(config, 7 + attnDim);
      const model = new SessionModel(config, items, dense);
      const js = new ReadoutScorer(config, dense, items);
      let state = emptySessionState();
      expect(js.score(state, [1, 2])).toBeNull();
      const candidates = Int32Array.from({ length: 30 }, (_, i) => i);
      for (const item of [3, 17, 3, 29, 0, 12, 5]) {
        state = model.advance(state, item); // through the window slide (maxLen 5)
        const expected = model.scoreState(state, candidates)!;
        const actual = js.score(state, candidates)!;
        for (let i = 0; i < candidates.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 4);
      }
      model.dispose();
    });
  }
});
