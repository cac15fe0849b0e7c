import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';
import { ReadoutScorer } from '../../../src/model/plain/readoutScorer';
import { causalRepeatMask, repeatLogitsAllPositions } from '../../../src/model/tfjs/repeatMixture';
import { mixRepeat, REPEAT_CAP, repeatLogits } from '../../../src/model/plain/repeatScores';
import { emptySessionState } from '../../../src/model/plain/sessionState';
import { SessionModel } from '../../../src/model/tfjs/sessionModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config: ModelConfig = { numItems: 30, embedDim: 6, hiddenDim: 5, attnDim: 4, scale: 10, maxLen: 8, repeat: 'mixture' };
const rng = new Random(11);
const rand = (n: number, s = 0.5): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * s);
const dense = new Map(denseShapes(config).map(([n, shape]) => [n, rand(shape.reduce((a, b) => a * b, 1))] as const));
dense.set(
  'repeat/recency',
  Float32Array.from({ length: config.maxLen }, (_, k) => 9 - k),
); // recent items weigh more
const items = rand(config.numItems * config.embedDim, 1);

describe('repeat path', () => {
  it('adds the repeat tensors to the model only when config.repeat is set', () => {
    const names = denseShapes(config).map(([n]) => n);
    expect(names.filter((n) => n.startsWith('repeat/'))).toEqual(['repeat/query', 'repeat/key', 'repeat/recency']);
    expect(
      denseShapes({ ...config, repeat: undefined })
        .map(([n]) => n)
        .filter((n) => n.startsWith('repeat/')),
    ).toEqual([]);
  });

  it('mixes log(exp(z) + Σ exp β) into the scores of window items only (hand-computed)', () => {
    const row = Float32Array.of(1, 2, 3, 4);
    // window: item 2, item 0, item 2 with β 0.5, 1, 2
    mixRepeat(row, 0, [2, 0, 2], [0.5, 1, 2], (i) => i);
    expect(row[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(1)), 5);
    expect(row[1]).toBe(2);
    expect(row[2]).toBeCloseTo(Math.log(Math.exp(3) + Math.exp(0.5) + Math.exp(2)), 5);
    expect(row[3]).toBe(4);
    // Huge logits stay finite (log-sum-exp with a shift).
    const big = Float32Array.of(25);
    mixRepeat(big, 0, [0, 0], [29, 29], (i) => i);
    expect(big[0]).toBeCloseTo(29 + Math.log(2 + Math.exp(-4)), 4);
    // An item without a column (not a candidate) is skipped.
    const cands = Float32Array.of(7);
    mixRepeat(cands, 0, [3], [5], () => -1);
    expect(cands[0]).toBe(7);
    // Exclusive (repeat/explore): a window item's own score no longer counts.
    const ex = Float32Array.of(1, 2, 3);
    mixRepeat(ex, 0, [2, 2], [0.5, 1], (i) => i, true);
    expect(ex[2]).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(1)), 5);
    expect(ex[0]).toBe(1);
  });

  it('soft-caps β and reads recency from the end of the window', () => {
    const hidden = [Float32Array.of(1, 0), Float32Array.of(0, 1)];
    const w = { query: [2, 3], key: [1, -1], recency: [100, 0.5] };
    const beta = repeatLogits(hidden, w);
    // β_0 = q·h_last + k·h_0 + r_1 = 3 + 1 + 0.5; β_1 = 3 − 1 + r_0 (capped)
    expect(beta[0]).toBeCloseTo(REPEAT_CAP * Math.tanh(4.5 / REPEAT_CAP), 6);
    expect(beta[1]).toBeCloseTo(REPEAT_CAP * Math.tanh(102 / REPEAT_CAP), 6);
    expect(beta[1]).toBeLessThan(REPEAT_CAP);
  });

  it('training logits equal the inference logits at every position', () => {
    const batch = 2;
    const steps = 4;
    const h = 3;
    const hs = rand(batch * steps * h);
    const w = { query: rand(h), key: rand(h), recency: rand(6, 3) };
    const all = repeatLogitsAllPositions(tf.tensor3d(hs, [batch, steps, h]), {
      query: tf.tensor2d(w.query, [h, 1]),
      key: tf.tensor2d(w.key, [h, 1]),
      recency: tf.tensor1d(w.recency),
    }).arraySync();
    const mask = causalRepeatMask(batch, steps);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < steps; t++) {
        const hidden = Array.from({ length: t + 1 }, (_, j) => hs.subarray((b * steps + j) * h, (b * steps + j + 1) * h));
        const beta = repeatLogits(hidden, w);
        for (let j = 0; j < steps; j++) {
          expect(mask[(b * steps + t) * steps + j]).toBe(j <= t ? 1 : 0);
          if (j <= t) expect(all[b * steps + t]![j]).toBeCloseTo(beta[j]!, 4);
        }
      }
    }
  });

  it.each(['mixture', 'exclusive'] as const)('%s: batch, incremental and plain-JS scoring agree; only window items change', (mode) => {
    const c: ModelConfig = { ...config, repeat: mode };
    const model = new SessionModel(c, items, dense);
    const plain = new ReadoutScorer(c, dense, items);
    const noRepeat = new SessionModel(
      { ...config, repeat: undefined },
      items,
      new Map([...dense].filter(([n]) => !n.startsWith('repeat/'))),
    );
    const session = Int32Array.of(3, 14, 3, 27, 8, 19, 2, 11, 14, 5); // longer than maxLen 8
    const candidates = Int32Array.of(14, 0, 5, 29, 3);
    let state = emptySessionState();
    for (let t = 0; t < session.length; t++) {
      state = model.advance(state, session[t]!);
      const prefix = session.subarray(0, t + 1);
      const batchRow = model.scorePrefixes([prefix, Int32Array.of(1)]).arraySync()[0]!;
      const inc = model.scoreState(state)!;
      inc.forEach((v, i) => expect(v).toBeCloseTo(batchRow[i]!, 3));
      const some = model.scoreState(state, candidates)!;
      const js = plain.score(state, candidates)!;
      candidates.forEach((item, j) => {
        expect(some[j]).toBeCloseTo(batchRow[item]!, 3);
        expect(js[j]).toBeCloseTo(some[j]!, 3);
      });
      const base = noRepeat.scorePrefixes([prefix]).arraySync()[0]!;
      const window = new Set(prefix.subarray(Math.max(0, prefix.length - config.maxLen)));
      base.forEach((z, i) => {
        if (!window.has(i)) expect(batchRow[i]!).toBeCloseTo(z, 4);
        else if (mode === 'mixture') expect(batchRow[i]!).toBeGreaterThan(z);
      });
    }
    model.dispose();
    noRepeat.dispose();
  });
});
