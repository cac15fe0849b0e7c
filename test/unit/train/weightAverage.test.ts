import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../../models/train/checkpoint';
import { buildBatch } from '../../../src/model/tfjs/sessionLoss';
import { SessionTrainer } from '../../../models/train/sessionTrainer';
import { DEFAULT_SETTINGS } from '../../../models/train/trainSettings';
import { isSnapshotBatch, WeightAverage } from '../../../models/train/weightAverage';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('weight average', () => {
  it('is the element-wise mean of the snapshots', () => {
    const avg = new WeightAverage(2, [['w', 3]]);
    avg.add(Float32Array.of(1, 2), new Map([['w', Float32Array.of(0, 0, 3)]]));
    avg.add(Float32Array.of(3, 6), new Map([['w', Float32Array.of(2, 4, 3)]]));
    const w = avg.weights({ numItems: 1, embedDim: 2, hiddenDim: 2, attnDim: 0, scale: 1, maxLen: 2 });
    expect(Array.from(w.items)).toEqual([2, 4]);
    expect(Array.from(w.dense.get('w')!)).toEqual([1, 2, 3]);
    expect(() => avg.add(Float32Array.of(1), new Map([['w', Float32Array.of(0, 0, 0)]]))).toThrow(/1 values where 2/);
  });

  it('snapshots four times per epoch, only in the last epochs', () => {
    const at = (epoch: number) => Array.from({ length: 1395 }, (_, b) => b + 1).filter((b) => isSnapshotBatch(epoch, b, 1395, 8, 3));
    expect(at(4)).toEqual([]);
    expect(at(5)).toEqual([349, 698, 1047, 1395]);
    expect(at(7)).toEqual([349, 698, 1047, 1395]);
    expect(isSnapshotBatch(7, 1395, 1395, 8, 0)).toBe(false);
    expect([1, 2].filter((b) => isSnapshotBatch(0, b, 2, 1, 1))).toEqual([1, 2]); // tiny epochs: every batch, once
  });

  it('the trainer ships the average once it has snapshots, and a checkpoint keeps it', async () => {
    const settings = { ...DEFAULT_SETTINGS, embedDim: 4, hiddenDim: 4, attnDim: 0, negatives: 8, repeat: 0, averageEpochs: 1, seed: 2 };
    const trainer = new SessionTrainer(settings, 12, new Float64Array(12).fill(1));
    expect(trainer.shippedWeights().items).toBe(trainer.items); // no snapshot yet: the current weights
    const batch = buildBatch([Int32Array.of(1, 2, 3), Int32Array.of(4, 5)]);
    trainer.step(batch);
    trainer.snapshot();
    const first = Float32Array.from(trainer.items);
    trainer.step(batch);
    trainer.snapshot();
    const shipped = trainer.shippedWeights();
    expect(shipped.items[0]).toBeCloseTo((first[0]! + trainer.items[0]!) / 2, 6);
    expect(Array.from(shipped.items)).not.toEqual(Array.from(trainer.items));

    const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'c');
    await saveCheckpoint(dir, trainer, {
      epoch: 0,
      batch: 2,
      epochRngState: 0,
      rngState: trainer.rng.state,
      globalStep: 2,
      seconds: 0,
      history: [],
    });
    trainer.dispose();
    const restored = new SessionTrainer(settings, 12, new Float64Array(12).fill(1));
    await loadCheckpoint(dir, restored);
    expect(restored.average!.count).toBe(2);
    expect(Array.from(restored.shippedWeights().items)).toEqual(Array.from(shipped.items));
    restored.dispose();
  });
});
