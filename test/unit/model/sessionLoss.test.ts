import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../models/random';
import { SessionTrainer } from '../../../models/train/sessionTrainer';
import { DEFAULT_SETTINGS } from '../../../models/train/trainSettings';
import { LocalTrainer } from '../../../src/federated/localTrainer';
import { buildBatch, gatherRows, lossRows, windowSessions } from '../../../src/model/tfjs/sessionLoss';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('batch layout', () => {
  it('cuts long sessions into windows that predict every target exactly once', () => {
    const s = Int32Array.from({ length: 10 }, (_, i) => i);
    const w = windowSessions([s, Int32Array.of(5)], 4);
    expect(w.map((x) => Array.from(x))).toEqual([
      [0, 1, 2, 3],
      [3, 4, 5, 6],
      [6, 7, 8, 9],
    ]);
    const targets = w.flatMap((x) => Array.from(x.subarray(1)));
    expect(targets).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Plain arrays (a device's sessions) give the same windows; sessions of one item none.
    expect(windowSessions([Array.from(s), [5], []], 4).map((x) => Array.from(x))).toEqual(w.map((x) => Array.from(x)));
  });

  it('lays a batch out time-major with targets shifted by one and padding marked -1', () => {
    const b = buildBatch([Int32Array.of(1, 2, 3), Int32Array.of(4, 5)]);
    expect(b.steps).toBe(2);
    expect(Array.from(b.items)).toEqual([1, 4, 2, -1]);
    expect(Array.from(b.targets)).toEqual([2, 5, 3, -1]);
  });

  it('lists the loss rows batch-major, with the repeat masks of each mode', () => {
    // Window 0: 7 3 7 (targets 3, 7: the second is a repeat of input 0); window 1: 4 4 (target 4, a repeat).
    const b = buildBatch([Int32Array.of(7, 3, 7), Int32Array.of(4, 4)]);
    const plain = lossRows(b, undefined);
    expect(Array.from(plain.target)).toEqual([3, 7, 4, -1]);
    expect(Array.from(plain.mask)).toEqual([1, 1, 1, 0]);
    expect(plain.positives).toBe(3);
    expect([plain.matches, plain.firstInWindow, plain.isRepeat]).toEqual([null, null, null]);
    const mixture = lossRows(b, 'mixture');
    // Row r, column j (j ≤ t): input j of the row's window is its target.
    expect(Array.from(mixture.matches!)).toEqual([0, 0, 1, 0, 1, 0, 0, 0]);
    expect([mixture.firstInWindow, mixture.isRepeat]).toEqual([null, null]);
    const exclusive = lossRows(b, 'exclusive');
    expect(Array.from(exclusive.matches!)).toEqual(Array.from(mixture.matches!));
    expect(Array.from(exclusive.firstInWindow!)).toEqual([1, 0, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(exclusive.isRepeat!)).toEqual([0, 1, 1, 0]);
  });

  it('gathers table rows in index order, zeros for padding', () => {
    const table = Float32Array.of(1, 2, 3, 4, 5, 6);
    expect(Array.from(gatherRows(Int32Array.of(2, -1, 0), table, 2))).toEqual([5, 6, 0, 0, 1, 2]);
  });
});

describe('one training loss', () => {
  it.each([0, 1, 2])(
    '--repeat %i: the central trainer (full softmax) and the device trainer give the same loss on the same model and sessions',
    (repeat) => {
      const rng = new Random(8);
      const sessions = Array.from({ length: 12 }, () => Int32Array.from({ length: 2 + rng.int(6) }, () => rng.int(30)));
      const counts = Float64Array.from({ length: 30 }, (_, i) => 1 + i * i);
      const central = new SessionTrainer(
        { ...DEFAULT_SETTINGS, embedDim: 8, hiddenDim: 8, attnDim: 4, maxLen: 5, negatives: 30, repeat, seed: 6 },
        30,
        counts,
      );
      const dense = central.denseData();
      const device = new LocalTrainer(central.config, central.items);
      // The same windows, one batch on both sides (the device batches 32 windows, here all 12).
      const deviceLoss = device.meanLoss(dense, sessions);
      device.dispose();
      const centralLoss = central.step(buildBatch(windowSessions(sessions, central.config.maxLen)));
      central.dispose();
      expect(Number.isFinite(deviceLoss)).toBe(true);
      expect(deviceLoss).toBeCloseTo(centralLoss, 4);
    },
  );
});
