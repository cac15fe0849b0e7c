import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../models/random';
import { planEpoch } from '../../../models/train/planEpoch';
import { buildBatch, windowSessions } from '../../../src/model/tfjs/sessionLoss';
import { SessionTrainer } from '../../../models/train/sessionTrainer';
import { DEFAULT_SETTINGS, type TrainSettings } from '../../../models/train/trainSettings';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Per-step losses of a tiny run on predictable sessions (i → i+1 → …). */
function losses(settings: TrainSettings, epochs: number): number[] {
  const rng = new Random(9);
  const sessions = Array.from({ length: 200 }, () => {
    const start = rng.int(30);
    return Int32Array.from({ length: 3 + rng.int(5) }, (_, k) => (start + k) % 40);
  });
  const counts = new Float64Array(40);
  for (const s of sessions) for (const i of s) counts[i]!++;
  const trainer = new SessionTrainer(settings, 40, counts);
  const windows = windowSessions(sessions, settings.maxLen);
  const out: number[] = [];
  for (let e = 0; e < epochs; e++) {
    for (const b of planEpoch(windows, settings.batchSize, trainer.rng)) out.push(trainer.step(buildBatch(b)));
  }
  for (const v of trainer.dense.values()) v.dispose(); // frees the variable names for the next trainer
  trainer.optimizer.dispose();
  return out;
}

describe('training dropout', () => {
  // Temperature 12 without the repeat path: the model the pre-dropout reference loss was taken with.
  const base = {
    ...DEFAULT_SETTINGS,
    embedDim: 8,
    hiddenDim: 8,
    attnDim: 4,
    batchSize: 20,
    negatives: 16,
    lr: 0.02,
    seed: 1,
    scale: 12,
    repeat: 0,
  };

  it('is off by default, and 0 (or absent, as in old checkpoints) gives exactly the dropout-free steps', () => {
    expect(DEFAULT_SETTINGS.dropout).toBe(0);
    const { dropout: _, ...old } = base;
    const a = losses({ ...base, dropout: 0 }, 2);
    expect(losses(old as TrainSettings, 2)).toEqual(a);
    // First step's loss with the pre-dropout trainer (same backend, same seed).
    expect(a[0]).toBeCloseTo(9.70611, 4);
  });

  it('> 0 changes the loss, reproducibly, and still trains', () => {
    const a = losses({ ...base, dropout: 0.2 }, 8);
    expect(losses({ ...base, dropout: 0.2 }, 8)).toEqual(a);
    expect(a.slice(0, 10)).not.toEqual(losses({ ...base, dropout: 0 }, 1));
    const per = a.length / 8;
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(a.slice(-per))).toBeLessThan(mean(a.slice(0, per)) * 0.6);
  });
});
