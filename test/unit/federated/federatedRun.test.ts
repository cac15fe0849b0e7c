import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate as evaluateCases } from '../../../models/eval/evaluate';
import { scorerFromWeights } from '../../../models/eval/modelScorers';
import type { ModelWeights } from '../../../src/node/modelDir';
import { growItemTable, runFederated } from '../../../models/federated/federatedRun';
import { clipParts, dpfKeyBytes, ownRows, ownRowsCoverage, pickCoordinates } from '../../../models/federated/deviceRows';
import { l2Norm } from '../../../src/federated/modelUpdate';
import { DEFAULT_SIMULATION, type SimulationSettings } from '../../../models/federated/simulationSettings';
import { trainableVector } from '../../../src/server/fedAvg';
import { maxReportBytes } from '../../../src/server/secureAggregation/leaderShares';
import { shareBits } from '../../../src/federated/secureAggregation/additiveShares';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A catalogue of 60 items, of which the last 10 are new: the start model knows only 50.
const NUM = 60;
const OLD = 50;
const config: ModelConfig = { numItems: OLD, embedDim: 8, hiddenDim: 10, attnDim: 4, scale: 10, maxLen: 8 };
const rng = new Random(4);
const items = Float32Array.from({ length: OLD * config.embedDim }, () => rng.normal());
const dense = new Map(
  denseShapes(config).map(
    ([n, shape]) =>
      [n, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (shape.length === 2 ? rng.normal() * 0.3 : 0))] as const,
  ),
);
// Shoppers walk the catalogue i → i+1 → i+2…: a pattern to learn, new items included.
const session = (): Int32Array => {
  const start = rng.int(NUM);
  return Int32Array.from({ length: 3 + rng.int(3) }, (_, k) => (start + k) % NUM);
};
const devices = Array.from({ length: 60 }, () => [session(), session(), session()]);
const cases = Array.from({ length: 200 }, () => {
  const s = session();
  return { prefix: s.subarray(0, 2), target: s[2]! };
});
const newCases = cases.filter((c) => c.target >= OLD);

const vocab = Array.from({ length: NUM }, (_, i) => `i${i}`);
const evaluate = async (w: ModelWeights, on = cases): Promise<{ recall20: number; mrr20: number }> => {
  const scorer = scorerFromWeights('t', w, vocab);
  const r = await evaluateCases(scorer, on, NUM);
  scorer.model.dispose();
  return r;
};

describe('runFederated (a simulation of CI size)', () => {
  for (const sigma of [0, 0.5]) {
    it(`learns dense tensors and announced rows, new items first, and beats its start on held-out cases (σ=${sigma})`, async () => {
      const start = growItemTable({ config, items, dense }, NUM, 9);
      const before = tf.memory().numTensors;
      const r = await runFederated({
        name: 't',
        settings: {
          ...DEFAULT_SIMULATION,
          rounds: 12,
          clientsPerRound: 20,
          sessionsPerDevice: 3,
          rowsPerRound: 20,
          rowServerLr: 2,
          sketchBuckets: 64,
          clipNorm: 1,
          localLr: 0.5,
          localEpochs: 2,
        },
        noiseMultiplier: sigma,
        start,
        firstItems: OLD,
        devices,
        evaluate,
        log: () => {},
      });
      expect(tf.memory().numTensors).toBe(before);
      // Every device uploads the same length: the dense tensors and 20 rows; all 10 new rows in round 1.
      expect(r.rows.map((x) => x.rows)).toEqual(Array(12).fill(20));
      expect(r.rows[0]!.newRows).toBe(10);
      expect(r.updateBytes).toBeGreaterThan(0);
      if (sigma > 0) expect(r.rows[11]!.epsilon).toBeGreaterThan(r.rows[0]!.epsilon);
      else expect(r.rows[11]!.epsilon).toBe(Infinity);
      // The frozen dense tensors did not move; the item table did.
      for (const name of ['gru/Wz', 'attn/query', 'out/context']) expect(r.weights.dense.get(name)).toEqual(dense.get(name));
      expect(r.weights.items).not.toEqual(start.items);
      const s0 = await evaluate(start);
      const s1 = await evaluate(r.weights);
      expect(s1.mrr20).toBeGreaterThan(s0.mrr20 + 0.05);
      const n0 = await evaluate(start, newCases);
      const n1 = await evaluate(r.weights, newCases);
      expect(n1.mrr20).toBeGreaterThan(n0.mrr20 + 0.05);
    });
  }
});

/** The small runs' settings: 20 devices a round, no sketch. */
const SMALL: SimulationSettings = {
  ...DEFAULT_SIMULATION,
  clientsPerRound: 20,
  sessionsPerDevice: 3,
  rowServerLr: 2,
  sketchBuckets: 0,
  clipNorm: 1,
  localEpochs: 2,
};

/** One run of `settings` from `start` on the test's devices (noise-free unless σ is given). */
const runWith = (settings: SimulationSettings, start: ModelWeights, noiseMultiplier = 0) =>
  runFederated({ name: 't', settings, noiseMultiplier, start, firstItems: OLD, devices, evaluate, log: () => {} });

/** The items whose row differs between two tables. */
const movedRows = (a: Float32Array, b: Float32Array, d: number): Set<number> => {
  const moved = new Set<number>();
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) moved.add(Math.floor(i / d));
  return moved;
};

describe('subsampled rows (rowDims)', () => {
  it('pickCoordinates draws distinct coordinates per row, all of them over rounds', () => {
    const r = new Random(1);
    const seen = new Set<number>();
    for (let round = 0; round < 20; round++) {
      const c = pickCoordinates(5, 8, 3, r);
      expect(c.length).toBe(15);
      for (let j = 0; j < 5; j++) {
        const row = Array.from(c.subarray(j * 3, j * 3 + 3));
        expect(new Set(row).size).toBe(3);
        for (const v of row) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThan(8);
          seen.add(v);
        }
      }
    }
    expect(seen.size).toBe(8);
  });

  it('uploads as many bytes as whole rows at rowDims/embedDim of the rows, moves only picked coordinates, and learns', async () => {
    const start = growItemTable({ config, items, dense }, NUM, 9);
    const base = { ...SMALL, rounds: 1 };
    const run = (extra: Partial<SimulationSettings>) => runWith({ ...base, ...extra }, start);
    const whole = await run({ rowsPerRound: 10 });
    const sub = await run({ rowsPerRound: 40, rowDims: 2 });
    expect(sub.updateBytes).toBe(whole.updateBytes);
    // Per moved row at most 2 of its 8 coordinates changed in one round, and more rows moved.
    const d = config.embedDim;
    let movedRows = 0;
    for (let i = 0; i < NUM; i++) {
      let changed = 0;
      for (let c = 0; c < d; c++) if (sub.weights.items[i * d + c] !== start.items[i * d + c]) changed++;
      expect(changed).toBeLessThanOrEqual(2);
      if (changed > 0) movedRows++;
    }
    expect(movedRows).toBeGreaterThan(10);
    const many = await run({ rounds: 12, rowsPerRound: 40, rowDims: 2 });
    expect((await evaluate(many.weights)).mrr20).toBeGreaterThan((await evaluate(start)).mrr20 + 0.05);
  });

  it('with a rank-2 row basis (rowBasis) uploads the rows as 2 coordinates each plus their moment, and learns', async () => {
    const start = growItemTable({ config, items, dense }, NUM, 9);
    const settings = { ...SMALL, rounds: 12, rowsPerRound: 40, rowBasis: 2 };
    const r = await runWith(settings, start);
    const whole = await runWith({ ...settings, rounds: 1, rowsPerRound: 10, rowBasis: 0 }, start);
    // 40 rows × 2 + the 8×8 moment's 36 values = 116 values against 10 rows × 8 = 80.
    expect(r.updateBytes).toBeGreaterThan(whole.updateBytes);
    const denseSize = trainableVector(dense, config).length;
    expect(r.updateBytes).toBe(maxReportBytes(denseSize + 40 * 2 + 36, shareBits(20)));
    expect(whole.updateBytes).toBe(maxReportBytes(denseSize + 10 * 8, shareBits(20)));
    expect((await evaluate(r.weights)).mrr20).toBeGreaterThan((await evaluate(start)).mrr20 + 0.05);
    await expect(runWith({ ...settings, rowDims: 2 }, start)).rejects.toThrow(/pick one/);
    // Beyond the row size (8) or not an integer: refused, not silently whole rows.
    await expect(runWith({ ...settings, rowBasis: 9 }, start)).rejects.toThrow(/rowBasis must be an integer in \[0, 8\]/);
    await expect(runWith({ ...settings, rowBasis: 0, rowDims: 2.5 }, start)).rejects.toThrow(/rowDims must be/);
  });
});

describe("a device's own rows (privateRows, simulation of a sparse secure aggregation)", () => {
  it('ownRows keeps the most frequent distinct items, ties by first appearance', () => {
    const sessions = [Int32Array.from([5, 3, 5, 9]), Int32Array.from([3, 7, 5])];
    expect(Array.from(ownRows(sessions, 10))).toEqual([5, 3, 9, 7]);
    expect(Array.from(ownRows(sessions, 2))).toEqual([5, 3]);
    const c = ownRowsCoverage([sessions], 2);
    expect(c).toEqual({ meanDistinct: 4, p99Distinct: 4, maxDistinct: 4, keptShare: 5 / 7 });
  });

  it('dpfKeyBytes grows with log N and the row, not with N', () => {
    // 16 levels for 43,097 rows: 16 + 260 + 128 + 16 bytes for a 64-value row of 16-bit shares.
    expect(dpfKeyBytes(43_097, 64, 16)).toBe(420);
    expect(dpfKeyBytes(65_536, 64, 16)).toBe(420);
    expect(dpfKeyBytes(65_537, 64, 16)).toBe(437);
  });

  it('trains only rows of items the sampled devices hold, every device the same upload, and learns', async () => {
    const start = growItemTable({ config, items, dense }, NUM, 9);
    const settings = { ...SMALL, rounds: 12, rowsPerRound: 0, privateRows: 6 };
    const before = tf.memory().numTensors;
    const r = await runWith(settings, start);
    expect(tf.memory().numTensors).toBe(before);
    const denseSize = trainableVector(dense, config).length;
    expect(r.updateBytes).toBe(maxReportBytes(denseSize, shareBits(20)) + 6 * dpfKeyBytes(NUM, config.embedDim, shareBits(20)));
    // Every row that moved is an item some device's sessions hold (here every item is held).
    const one = await runWith({ ...settings, rounds: 1, clientsPerRound: 1 }, start);
    const moved = movedRows(one.weights.items, start.items, config.embedDim);
    expect(moved.size).toBeGreaterThan(0);
    expect(moved.size).toBeLessThanOrEqual(6);
    expect((await evaluate(r.weights)).mrr20).toBeGreaterThan((await evaluate(start)).mrr20 + 0.05);
    expect((await evaluate(r.weights, newCases)).mrr20).toBeGreaterThan((await evaluate(start, newCases)).mrr20 + 0.05);
    await expect(runWith({ ...settings, rowsPerRound: 10 }, start)).rejects.toThrow(/privateRows replaces/);
    await expect(runWith({ ...settings, privateRows: 2.5 }, start)).rejects.toThrow(/privateRows must be a non-negative integer/);
  });

  it('clipParts clips the whole update, or the rows and the dense values each to their share', () => {
    // Dense values of norm 5 (3, 4), rows of norm 13 (5, 12): whole norm √194.
    const v = (): Float32Array => Float32Array.from([3, 4, 5, 12]);
    const whole = v();
    expect(clipParts(whole, 2, 1, 0)).toEqual({ dense: 5, rows: 13, norm: Math.hypot(5, 13), clipped: true });
    expect(l2Norm(whole)).toBeCloseTo(1, 6);
    // One clip keeps the parts' ratio: the rows get 13/√194 of the norm.
    expect(l2Norm(whole.subarray(2))).toBeCloseTo(13 / Math.hypot(5, 13), 6);
    const split = v();
    expect(clipParts(split, 2, 1, 0.8).clipped).toBe(true);
    expect(l2Norm(split.subarray(0, 2))).toBeCloseTo(0.6, 6);
    expect(l2Norm(split.subarray(2))).toBeCloseTo(0.8, 6);
    expect(l2Norm(split)).toBeCloseTo(1, 6);
    // A part already under its share is left as it is; the whole stays within the clip.
    const small = Float32Array.from([0.3, 0.4, 5, 12]);
    clipParts(small, 2, 1, 0.6);
    expect(Array.from(small.subarray(0, 2))).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    expect(l2Norm(small)).toBeLessThanOrEqual(1 + 1e-6);
    const under = Float32Array.from([0.1, 0, 0, 0.1]);
    expect(clipParts(under, 2, 1, 0.5).clipped).toBe(false);
    expect(() => clipParts(v(), 2, 1, 1)).toThrow(/rowShare must be in \[0, 1\)/);
  });

  it('rowClipShare gives the rows a fixed share of the clip norm, with the same upload, and learns', async () => {
    const start = growItemTable({ config, items, dense }, NUM, 9);
    const settings = { ...SMALL, rounds: 12, rowsPerRound: 0, privateRows: 6 };
    const plain = await runWith(settings, start);
    const split = await runWith({ ...settings, rowClipShare: 0.9 }, start);
    expect(split.updateBytes).toBe(plain.updateBytes);
    // The norms before clipping are logged by part; the whole is their root sum of squares.
    for (const r of split.rows) expect(r.deltaNorm).toBeCloseTo(Math.hypot(r.denseNorm, r.rowNorm), 1);
    const moved = (w: Float32Array): number => l2Norm(w.map((x, i) => x - start.items[i]!));
    // With 0.9 of the norm the rows move further than under one clip that gives them less.
    expect(moved(split.weights.items)).toBeGreaterThan(moved(plain.weights.items));
    expect((await evaluate(split.weights)).mrr20).toBeGreaterThan((await evaluate(start)).mrr20 + 0.05);
  });

  it('under DP the noise moves every row, and rowThreshold leaves the rows of noise alone', async () => {
    const start = growItemTable({ config, items, dense }, NUM, 9);
    const settings = { ...SMALL, rounds: 1, clientsPerRound: 1, rowsPerRound: 0, privateRows: 6 };
    const d = config.embedDim;
    // One device, holding at most 6 rows.
    const one = devices.slice(0, 1);
    const mine = new Set(ownRows(one[0]!, 6));
    const run = async (rowThreshold: number, sigma: number): Promise<Set<number>> => {
      const r = await runFederated({
        name: 't',
        settings: { ...settings, rowThreshold },
        noiseMultiplier: sigma,
        start,
        firstItems: OLD,
        devices: one,
        evaluate,
        log: () => {},
      });
      return movedRows(r.weights.items, start.items, d);
    };
    // Without the threshold the noise moves all 60 rows.
    expect((await run(0, 0.02)).size).toBe(NUM);
    // With it, only the device's rows can move (a row of noise alone clears the bar with
    // probability ~1e-4 at z = 6 and 8 values a row); its rows that changed most clear it.
    const kept = await run(6, 0.02);
    expect(kept.size).toBeGreaterThan(0);
    for (const i of kept) expect(mine.has(i)).toBe(true);
    // At far more noise than signal nothing clears the bar.
    expect((await run(6, 50)).size).toBe(0);
    await expect(runWith({ ...SMALL, rounds: 1, rowsPerRound: 20, rowThreshold: 3, rowAccumulate: 1 }, start)).rejects.toThrow(
      /rowAccumulate applies to the own rows/,
    );
    await expect(runWith({ ...SMALL, rounds: 1, rowsPerRound: 20, rowThreshold: 3, rowCountOracle: 1 }, start)).rejects.toThrow(
      /cannot gate rows averaged by rowCountOracle/,
    );
  });

  it('rowThreshold gates the announced rows too: under DP only rows above the noise move', async () => {
    const start = growItemTable({ config, items, dense }, NUM, 9);
    const settings = { ...SMALL, rounds: 1, rowsPerRound: 20, exploitShare: 0 };
    // One round announces 20 rows (the 10 new ones first); without the gate the noise moves all.
    const plain = await runWith(settings, start, 0.5);
    expect(movedRows(plain.weights.items, start.items, config.embedDim).size).toBe(20);
    // With the gate and noise far above the signal, none.
    const drowned = await runWith({ ...settings, rowThreshold: 6 }, start, 50);
    expect(movedRows(drowned.weights.items, start.items, config.embedDim).size).toBe(0);
    // Without noise the gate lets every row through, unshrunk: the same model as no gate.
    const free = await runWith({ ...settings, rowThreshold: 6 }, start, 0);
    expect(free.weights.items).toEqual((await runWith(settings, start, 0)).weights.items);
    // At little noise the announced rows the devices moved most still move.
    const some = movedRows((await runWith({ ...settings, rowThreshold: 6 }, start, 0.01)).weights.items, start.items, config.embedDim);
    expect(some.size).toBeGreaterThan(0);
    expect(some.size).toBeLessThanOrEqual(20);
  });
});
