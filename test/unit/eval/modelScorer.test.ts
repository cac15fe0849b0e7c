import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelScorer } from '../../../models/eval/modelScorers';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';
import { SessionModel } from '../../../src/model/tfjs/sessionModel';

const config: ModelConfig = { numItems: 4, embedDim: 3, hiddenDim: 3, attnDim: 2, scale: 5, maxLen: 5 };
const rng = new Random(1);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
let model: SessionModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = new SessionModel(config, rand(12), new Map(denseShapes(config).map(([n, s]) => [n, rand(s.reduce((a, b) => a * b, 1))])));
});
const modelVocab = ['a', 'b', 'c', 'd'];

describe('ModelScorer', () => {
  it('passes scores straight through when the vocabularies agree', () => {
    const s = new ModelScorer('m', model, modelVocab, modelVocab);
    const out = new Float32Array(4);
    s.scoreBatch([Int32Array.of(0, 2)], out);
    expect(Array.from(out)).toEqual(Array.from(model.scorePrefixes([Int32Array.of(0, 2)]).dataSync()));
  });

  it('maps another vocabulary order into the model and back; unknown items score -Infinity', () => {
    const dataVocab = ['c', 'zz', 'a', 'd', 'b'];
    const s = new ModelScorer('m', model, modelVocab, dataVocab);
    const out = new Float32Array(5);
    s.scoreBatch([Int32Array.of(2, 1, 0)], out); // a, zz (unknown: dropped), c
    const direct = model.scorePrefixes([Int32Array.of(0, 2)]).dataSync();
    expect(out[0]).toBeCloseTo(direct[2]!); // c
    expect(out[1]).toBe(-Infinity); // zz
    expect(out[2]).toBeCloseTo(direct[0]!); // a
    expect(out[3]).toBeCloseTo(direct[3]!); // d
    expect(out[4]).toBeCloseTo(direct[1]!); // b
  });
});
