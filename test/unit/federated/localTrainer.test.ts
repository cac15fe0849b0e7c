import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalTrainer } from '../../../src/federated/localTrainer';
import { FEDERATED_TENSORS } from '../../../src/federated/modelUpdate';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';
import { encodeAllPositions, networkWeights } from '../../../src/model/tfjs/sessionEncoder';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config: ModelConfig = { numItems: 40, embedDim: 8, hiddenDim: 12, attnDim: 6, scale: 10, maxLen: 8 };
const rng = new Random(21);
const items = Float32Array.from({ length: config.numItems * config.embedDim }, () => rng.normal());
const dense = new Map(
  denseShapes(config).map(([n, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return [n, Float32Array.from({ length: size }, () => (shape.length === 2 ? rng.normal() * 0.3 : 0))] as const;
  }),
);
// One device's sessions, each walking i → i+1 → i+2: a learnable pattern.
const sessions = Array.from({ length: 5 }, () => {
  const start = rng.int(30);
  return Array.from({ length: 3 + rng.int(4) }, (_, k) => (start + k) % 40);
});

describe('LocalTrainer', () => {
  it('lowers the loss on the device data, changes only the federated tensors and leaks no tensors', async () => {
    const trainer = new LocalTrainer(config, items);
    const tensorsBefore = tf.memory().numTensors;
    const frozenCopy = new Map([...dense].map(([n, a]) => [n, Float32Array.from(a)]));
    const lossBefore = trainer.meanLoss(dense, sessions);
    let yields = 0;
    const r = await trainer.train(dense, sessions, {
      epochs: 20,
      lr: 0.5,
      yieldFn: () => {
        yields++;
      },
    });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(r.examples).toBe(sessions.reduce((n, s) => n + s.length - 1, 0));
    expect(r.steps).toBe(20);
    expect(yields).toBe(20);
    expect([...r.weights.keys()]).toEqual([...FEDERATED_TENSORS]);
    const after = new Map([...dense, ...r.weights]);
    const lossAfter = trainer.meanLoss(after, sessions);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(lossAfter).toBeLessThan(lossBefore * 0.8);
    expect(r.firstEpochLoss).toBeCloseTo(lossBefore, 4);
    // The input weights were not modified, and every non-federated tensor is bit-identical.
    for (const [n, a] of dense) expect(Buffer.from(a.buffer).equals(Buffer.from(frozenCopy.get(n)!.buffer))).toBe(true);
    for (const n of FEDERATED_TENSORS) expect(r.weights.get(n)).not.toEqual(dense.get(n));
    trainer.dispose();
  });

  it('with announced rows: the same loss before training, and rows the device used move while the others barely do', async () => {
    const used = new Set(sessions.flat());
    const unused = Array.from({ length: config.numItems }, (_, i) => i).filter((i) => !used.has(i));
    const announced = Int32Array.from([...[...used].slice(0, 3), ...unused.slice(0, 3)]).sort();
    const plain = new LocalTrainer(config, items);
    const withRows = new LocalTrainer(config, items, { rows: announced });
    // The loss is one function of the weights: announcing rows changes what is trained, not the loss.
    expect(withRows.meanLoss(dense, sessions)).toBeCloseTo(plain.meanLoss(dense, sessions), 5);
    const tensorsBefore = tf.memory().numTensors;
    const r = await withRows.train(dense, sessions, { epochs: 10, lr: 0.5 });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const d = config.embedDim;
    expect(r.rows).toHaveLength(announced.length * d);
    const moved = [...announced].map((item, k) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (r.rows![k * d + j]! - items[item * d + j]!) ** 2;
      return { item, norm: Math.sqrt(s) };
    });
    const usedMove = Math.min(...moved.filter((m) => used.has(m.item)).map((m) => m.norm));
    const unusedMove = Math.max(...moved.filter((m) => !used.has(m.item)).map((m) => m.norm));
    expect(usedMove).toBeGreaterThan(0);
    expect(unusedMove).toBeLessThan(usedMove);
    // A small step on the rows as well lowers the device's loss more than on the dense tensors
    // alone (first order: the rows' gradient adds to the descent; their gradient is checked
    // against finite differences below).
    const small = await withRows.train(dense, sessions, { epochs: 2, lr: 0.05 });
    const dOnly = await plain.train(dense, sessions, { epochs: 2, lr: 0.05 });
    const grown = Float32Array.from(items);
    announced.forEach((item, k) => grown.set(small.rows!.subarray(k * d, k * d + d), item * d));
    const after = new LocalTrainer(config, grown);
    expect(after.meanLoss(new Map([...dense, ...small.weights]), sessions)).toBeLessThan(
      plain.meanLoss(new Map([...dense, ...dOnly.weights]), sessions),
    );
    for (const t of [plain, withRows, after]) t.dispose();
  });

  it("gives the announced rows the loss's gradient (checked against central differences)", async () => {
    const row = [...new Set(sessions.flat())][0]!;
    const trainer = new LocalTrainer(config, items, { rows: Int32Array.from([row]) });
    const lr = 1e-3;
    // One epoch is one step here (five sessions, one batch): rows = start − lr · gradient.
    const r = await trainer.train(dense, sessions, { epochs: 1, lr, trainTensors: [] });
    expect(r.steps).toBe(1);
    const d = config.embedDim;
    for (const j of [0, 3, 7]) {
      const analytic = (items[row * d + j]! - r.rows![j]!) / lr;
      const at = (h: number): number => {
        const t = Float32Array.from(items);
        t[row * d + j] = t[row * d + j]! + h;
        const tr = new LocalTrainer(config, t);
        const loss = tr.meanLoss(dense, sessions);
        tr.dispose();
        return loss;
      };
      const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
      expect(Math.abs(analytic - numeric)).toBeLessThan(0.05 * Math.abs(numeric) + 2e-3);
    }
    trainer.dispose();
  });

  it('refuses announced rows outside the table or announced twice', () => {
    expect(() => new LocalTrainer(config, items, { rows: Int32Array.from([0, 40]) })).toThrow(/not an item/);
    expect(() => new LocalTrainer(config, items, { rows: Int32Array.from([3, 3]) })).toThrow(/twice/);
  });

  it('changes only the tensors of trainTensors when given (the others keep their values)', async () => {
    const trainer = new LocalTrainer(config, items);
    const r = await trainer.train(dense, sessions, { epochs: 5, lr: 0.5, trainTensors: ['out/last', 'out/item'] });
    trainer.dispose();
    for (const name of FEDERATED_TENSORS) {
      const moved = r.weights.get(name)!.some((v, i) => v !== dense.get(name)![i]);
      expect(moved, name).toBe(name === 'out/last' || name === 'out/item');
    }
  });

  it('trains with Adam too, and skips sessions with fewer than two items', async () => {
    const trainer = new LocalTrainer(config, items);
    const tensorsBefore = tf.memory().numTensors;
    const r = await trainer.train(dense, [...sessions, [3]], { epochs: 10, lr: 0.02, optimizer: 'adam' });
    expect(r.lastEpochLoss).toBeLessThan(r.firstEpochLoss);
    expect(r.examples).toBe(sessions.reduce((n, s) => n + s.length - 1, 0));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    trainer.dispose();
  });

  it('matches the full-softmax cross-entropy computed in plain JS for a one-item prefix', () => {
    const trainer = new LocalTrainer(config, items);
    const loss = trainer.meanLoss(dense, [[4, 9]]);
    // The session vector after one item, then the softmax over all 40 items by hand.
    const norm = (v: number[]): number[] => {
      const s = Math.hypot(...v);
      return v.map((x) => x / s);
    };
    const row = (i: number): number[] => norm(Array.from(items.subarray(i * 8, i * 8 + 8)));
    const s = tf.tidy(() => {
      const named = Object.fromEntries([...dense].map(([n, a]) => [n, tf.tensor(a, denseShapes(config).find(([m]) => m === n)![1])]));
      const x = tf.tensor2d([row(4)]);
      return Array.from(encodeAllPositions(x, 1, 1, networkWeights(named)).dataSync());
    });
    const sn = norm(s);
    const logits = Array.from({ length: 40 }, (_, i) => 10 * row(i).reduce((a, v, k) => a + v * sn[k]!, 0));
    const expected = Math.log(logits.reduce((a, z) => a + Math.exp(z), 0)) - logits[9]!;
    expect(loss).toBeCloseTo(expected, 4);
    trainer.dispose();
  });

  it.each(['mixture', 'exclusive'] as const)(
    'with the %s repeat path, trains on the distribution the model scores with (loss = −log softmax of the scores)',
    async (mode) => {
      const { SessionModel } = await import('../../../src/model/tfjs/sessionModel');
      const c: ModelConfig = { ...config, repeat: mode };
      const w = new Map(
        denseShapes(c).map(([n, shape]) => {
          const size = shape.reduce((a, b) => a * b, 1);
          return [
            n,
            Float32Array.from({ length: size }, () => (n === 'repeat/recency' ? 4 : shape.length === 2 ? rng.normal() * 0.3 : 0)),
          ] as const;
        }),
      );
      const session = [5, 11, 5, 20, 11, 11];
      const model = new SessionModel(c, items, w);
      let expected = 0;
      for (let t = 1; t < session.length; t++) {
        const z = model.scorePrefixes([Int32Array.from(session.slice(0, t))]).arraySync()[0]!;
        const m = Math.max(...z);
        expected += m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[session[t]!]!;
      }
      model.dispose();
      const trainer = new LocalTrainer(c, items);
      expect(trainer.meanLoss(w, [session])).toBeCloseTo(expected / (session.length - 1), 3);
      const r = await trainer.train(w, [session, [1, 2, 1, 2]], { epochs: 10, lr: 0.02, optimizer: 'adam' });
      expect(r.lastEpochLoss).toBeLessThan(r.firstEpochLoss);
      trainer.dispose();
    },
  );
});
