import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../models/random';
import { planEpoch } from '../../../models/train/planEpoch';
import { buildBatch, windowSessions } from '../../../src/model/tfjs/sessionLoss';
import { SessionTrainer } from '../../../models/train/sessionTrainer';
import { DEFAULT_SETTINGS, MAX_STEP_SCORES, stepScoreEntries, type TrainSettings } from '../../../models/train/trainSettings';
import { NegativeSampler } from '../../../models/train/negativeSampler';
import { chooseOffset, withRepeatOffset } from '../../../models/train/repeatCalibration';
import { SessionModel } from '../../../src/model/tfjs/sessionModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Trains a tiny model (40 items, E = H = 8) on `sessions` for `epochs`; returns the mean loss per epoch. */
function trainTiny(
  sessions: Int32Array[],
  extra: Partial<TrainSettings>,
  epochs: number,
): { trainer: SessionTrainer; epochLoss: number[] } {
  const counts = new Float64Array(40);
  for (const s of sessions) for (const i of s) counts[i]!++;
  const settings = {
    ...DEFAULT_SETTINGS,
    embedDim: 8,
    hiddenDim: 8,
    attnDim: 4,
    batchSize: 20,
    negatives: 16,
    lr: 0.02,
    seed: 1,
    ...extra,
  };
  const trainer = new SessionTrainer(settings, 40, counts);
  const windows = windowSessions(sessions, settings.maxLen);
  const epochLoss: number[] = [];
  for (let e = 0; e < epochs; e++) {
    let sum = 0;
    const plan = planEpoch(windows, settings.batchSize, trainer.rng);
    for (const b of plan) sum += trainer.step(buildBatch(b));
    epochLoss.push(sum / plan.length);
  }
  return { trainer, epochLoss };
}

describe('epoch plan', () => {
  it('plans every window once per epoch, reproducibly from the seed', () => {
    const windows = Array.from({ length: 50 }, (_, i) => Int32Array.from({ length: 2 + (i % 5) }, (_, k) => i + k));
    const p1 = planEpoch(windows, 8, new Random(1));
    const p2 = planEpoch(windows, 8, new Random(1));
    expect(p1.flat().length).toBe(50);
    expect(new Set(p1.flat()).size).toBe(50);
    expect(p1.map((b) => b.map((s) => s[0]))).toEqual(p2.map((b) => b.map((s) => s[0])));
  });
});

describe('negative sampler', () => {
  it('samples in proportion to popularity^alpha', () => {
    const s = new NegativeSampler(Float64Array.of(1, 4, 16, 0), 0.5);
    const draws = s.sample(20000, new Random(2));
    const freq = [0, 0, 0, 0];
    for (const d of draws) freq[d]!++;
    expect(freq[3]).toBe(0);
    expect(freq[1]! / freq[0]!).toBeGreaterThan(1.8);
    expect(freq[1]! / freq[0]!).toBeLessThan(2.2);
    expect(freq[2]! / freq[1]!).toBeGreaterThan(1.8);
  });
});

describe('training', () => {
  it('a tiny run measurably lowers the loss on sessions with a learnable pattern', () => {
    // 40 items; each session walks i → i+1 → i+2 …: the next item is fully predictable.
    const rng = new Random(9);
    const sessions = Array.from({ length: 200 }, () => {
      const start = rng.int(30);
      return Int32Array.from({ length: 3 + rng.int(5) }, (_, k) => (start + k) % 40);
    });
    const { trainer, epochLoss } = trainTiny(sessions, {}, 8);
    expect(epochLoss[7]!).toBeLessThan(epochLoss[0]! * 0.6);
    expect(tf.memory().numTensors).toBeLessThan(200); // no tensors leak per step
    trainer.dispose();
  });
});

describe('step size', () => {
  it("counts the longest step's [rows × candidates] scores; the full softmax at batch 128 over DIGINETICA is over the limit", () => {
    const s = { batchSize: 128, maxLen: 20 };
    expect(stepScoreEntries({ ...s, negatives: 8192 }, 43097)).toBe(2432 * (8192 + 2432));
    expect(stepScoreEntries({ ...s, negatives: 16384 }, 43097)).toBeLessThan(MAX_STEP_SCORES); // measured: trains
    expect(stepScoreEntries({ ...s, negatives: 43097 }, 43097)).toBe(2432 * 43097);
    expect(stepScoreEntries({ ...s, negatives: 43097 }, 43097)).toBeGreaterThan(MAX_STEP_SCORES); // measured: aborts
    expect(stepScoreEntries({ ...s, negatives: 100 }, 50)).toBe(2432 * 50); // never more candidates than items
  });
});

describe('training with the full softmax', () => {
  it.each([0, 1])('--negatives ≥ item count, --repeat %i: the step loss is the exact cross-entropy of the inference scores', (repeat) => {
    const rng = new Random(5);
    const sessions = Array.from({ length: 20 }, () => Int32Array.from({ length: 2 + rng.int(5) }, () => rng.int(40)));
    const counts = Float64Array.from({ length: 40 }, (_, i) => 1 + i * i); // skewed: sampled negatives would miss items and log-Q would not be 0
    const trainer = new SessionTrainer(
      { ...DEFAULT_SETTINGS, embedDim: 8, hiddenDim: 8, attnDim: 4, negatives: 40, repeat, seed: 3 },
      40,
      counts,
    );
    // Expected: mean over every prefix of −log softmax(scores)[next item], scored by the inference model.
    const model = new SessionModel(trainer.config, trainer.items, trainer.denseData());
    const prefixes: Int32Array[] = [];
    const next: number[] = [];
    for (const s of sessions)
      for (let t = 1; t < s.length; t++) {
        prefixes.push(s.subarray(0, t));
        next.push(s[t]!);
      }
    const scores = model.scorePrefixes(prefixes).arraySync();
    model.dispose();
    let expected = 0;
    scores.forEach((row, r) => {
      const max = Math.max(...row);
      const logZ = max + Math.log(row.reduce((a, z) => a + Math.exp(z - max), 0));
      expected += (logZ - row[next[r]!]!) / prefixes.length;
    });
    expect(trainer.step(buildBatch(sessions))).toBeCloseTo(expected, 4);
    trainer.dispose();
  });
});

describe('training with the repeat path', () => {
  it.each([
    [1, 'mixture'],
    [2, 'exclusive'],
  ] as const)('--repeat %i (%s): the loss falls and a session item that always returns ranks first', (repeat, mode) => {
    // Sessions a, b, a, c, a, d …: item a comes back every other step, the others are random.
    const rng = new Random(4);
    const sessions = Array.from({ length: 300 }, () => {
      const a = rng.int(40);
      return Int32Array.from({ length: 6 + rng.int(4) }, (_, k) => (k % 2 === 0 ? a : rng.int(40)));
    });
    const { trainer, epochLoss } = trainTiny(sessions, { repeat }, 6);
    expect(trainer.config.repeat).toBe(mode);
    expect(epochLoss[5]!).toBeLessThan(epochLoss[0]! * 0.8);
    const model = new SessionModel(trainer.config, trainer.items, trainer.denseData());
    const scores = model.scorePrefixes([Int32Array.of(7, 30, 7, 12)]).arraySync()[0]!;
    expect(scores.indexOf(Math.max(...scores))).toBe(7);
    model.dispose();
    trainer.dispose();
  });
});

describe('repeat-offset calibration', () => {
  it('adds the offset to every repeat logit and picks the best Recall@20 + MRR@20 (ties: smaller |offset|)', () => {
    const w = {
      config: { numItems: 2, embedDim: 2, hiddenDim: 2, attnDim: 0, scale: 9, maxLen: 3, repeat: 'mixture' as const },
      items: new Float32Array(4),
      dense: new Map([['repeat/recency', Float32Array.of(1, 2, 3)]]),
    };
    expect(Array.from(withRepeatOffset(w, 1.5).dense.get('repeat/recency')!)).toEqual([2.5, 3.5, 4.5]);
    expect(Array.from(w.dense.get('repeat/recency')!)).toEqual([1, 2, 3]); // a copy, not in place
    expect(() => withRepeatOffset({ ...w, config: { ...w.config, repeat: undefined } }, 1)).toThrow(/no repeat path/);
    expect(
      chooseOffset([
        { offset: -1, recall20: 0.5, mrr20: 0.2 },
        { offset: 2, recall20: 0.51, mrr20: 0.21 },
        { offset: 1, recall20: 0.51, mrr20: 0.21 },
        { offset: 0, recall20: 0.52, mrr20: 0.18 },
      ]).offset,
    ).toBe(1);
  });
});
