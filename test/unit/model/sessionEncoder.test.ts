import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gruStep, projectGruInputs, type GruWeights } from '../../../src/model/tfjs/gruCell';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';
import { encodeAllPositions, encodePrefixes, l2NormalizeRows, networkWeights } from '../../../src/model/tfjs/sessionEncoder';
import { normalizeRows, SessionModel } from '../../../src/model/tfjs/sessionModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config: ModelConfig = { numItems: 30, embedDim: 6, hiddenDim: 5, attnDim: 4, scale: 10, maxLen: 8 };
const rng = new Random(5);
const rand = (n: number, s = 0.5): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * s);
const dense = new Map(denseShapes(config).map(([n, shape]) => [n, rand(shape.reduce((a, b) => a * b, 1))] as const));
const items = rand(config.numItems * config.embedDim, 1);

describe('GRU cell', () => {
  it('computes the reset-before GRU of Cho et al. (checked against a plain-JS reference)', () => {
    const d = 3,
      h = 2;
    const w = Object.fromEntries(
      ['Wz', 'Wr', 'Wh', 'Uz', 'Ur', 'Uh', 'bz', 'br', 'bh'].map((k) => {
        const shape = k.startsWith('W') ? [d, h] : k.startsWith('U') ? [h, h] : [h];
        return [k, Array.from(rand(shape.reduce((a, b) => a * b, 1)))];
      }),
    ) as Record<string, number[]>;
    const x = [0.3, -1.2, 0.7];
    const hPrev = [0.1, -0.4];
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const lin = (W: number[], v: number[], col: number, n: number): number => v.reduce((s, vi, i) => s + vi * W[i * n + col]!, 0);
    const z = [0, 1].map((j) => sig(lin(w.Wz!, x, j, h) + w.bz![j]! + lin(w.Uz!, hPrev, j, h)));
    const r = [0, 1].map((j) => sig(lin(w.Wr!, x, j, h) + w.br![j]! + lin(w.Ur!, hPrev, j, h)));
    const rh = hPrev.map((v, j) => v * r[j]!);
    const c = [0, 1].map((j) => Math.tanh(lin(w.Wh!, x, j, h) + w.bh![j]! + lin(w.Uh!, rh, j, h)));
    const expected = [0, 1].map((j) => (1 - z[j]!) * hPrev[j]! + z[j]! * c[j]!);

    const gw = Object.fromEntries(
      Object.entries(w).map(([k, v]) => [k, tf.tensor(v, k.startsWith('b') ? [h] : k.startsWith('W') ? [d, h] : [h, h])]),
    ) as unknown as GruWeights;
    const out = gruStep(projectGruInputs(tf.tensor2d([x]), gw), tf.tensor2d([hPrev]), gw).arraySync()[0]!;
    out.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 5));
  });
});

describe('session encoder', () => {
  it('gives the same session vector at training position t as the inference path on the prefix of length t+1', () => {
    const sessions = [
      [3, 7, 7, 12, 4],
      [9, 1, 28],
    ];
    const steps = 5;
    const batch = sessions.length;
    const d = config.embedDim;
    const x = new Float32Array(steps * batch * d);
    sessions.forEach((s, b) => s.forEach((item, t) => x.set(items.subarray(item * d, item * d + d), (t * batch + b) * d)));
    const net = networkWeights(Object.fromEntries(denseShapes(config).map(([n, shape]) => [n, tf.tensor(dense.get(n)!, shape)])));
    const all = encodeAllPositions(tf.tensor2d(x, [steps * batch, d]), steps, batch, net).arraySync();

    const normed = normalizeRows(items, config.numItems, d);
    for (const [b, t] of [
      [0, 0],
      [0, 3],
      [0, 4],
      [1, 2],
    ] as const) {
      const prefix = sessions[b]!.slice(0, t + 1);
      const px = new Float32Array(prefix.length * d);
      prefix.forEach((item, k) => px.set(normed.subarray(item * d, item * d + d), k * d));
      const one = encodePrefixes(tf.tensor2d(px, [prefix.length, d]), Int32Array.of(prefix.length), prefix.length, 1, net).arraySync()[0]!;
      one.forEach((v, k) => expect(v).toBeCloseTo(all[b * steps + t]![k]!, 4));
    }
  });

  it('scores with SessionModel match scale · cosine, and padding does not change a prefix’s scores', () => {
    const model = new SessionModel(config, items, dense);
    const a = model.scorePrefixes([Int32Array.of(3, 7)]).arraySync()[0]!;
    const both = model.scorePrefixes([Int32Array.of(3, 7), Int32Array.of(1, 2, 5, 6, 8)]).arraySync()[0]!;
    a.forEach((v, i) => expect(both[i]).toBeCloseTo(v, 4));
    expect(Math.max(...a)).toBeLessThanOrEqual(config.scale + 1e-4);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-config.scale - 1e-4);
    model.dispose();
  });

  it('reads only the last maxLen items of a long prefix', () => {
    const model = new SessionModel(config, items, dense);
    const long = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 30);
    const [full, tail] = model.scorePrefixes([long, long.slice(-config.maxLen)]).arraySync();
    full!.forEach((v, i) => expect(tail![i]).toBeCloseTo(v, 5));
    model.dispose();
  });

  it('l2NormalizeRows gives unit rows', () => {
    const n = l2NormalizeRows(
      tf.tensor2d([
        [3, 4],
        [0, 2],
      ]),
    ).arraySync();
    expect(n[0]![0]).toBeCloseTo(0.6);
    expect(n[1]![1]).toBeCloseTo(1);
  });
});

describe('incremental session state (the Worker path)', () => {
  it('advancing item by item scores exactly like the batch path on every prefix, past maxLen too', async () => {
    const { emptySessionState } = await import('../../../src/model/plain/sessionState');
    const model = new SessionModel(config, items, dense);
    const session = Int32Array.from({ length: 12 }, (_, i) => (i * 11 + 3) % 30); // maxLen is 8
    let state = emptySessionState();
    expect(model.scoreState(state)).toBeNull();
    const candidates = Int32Array.of(5, 0, 29, 17);
    for (let t = 0; t < session.length; t++) {
      state = model.advance(state, session[t]!);
      expect(state.items.length).toBe(Math.min(t + 1, config.maxLen));
      const batch = model.scorePrefixes([session.subarray(0, t + 1)]).dataSync();
      const inc = model.scoreState(state)!;
      inc.forEach((v, i) => expect(v).toBeCloseTo(batch[i]!, 4));
      const some = model.scoreState(state, candidates)!;
      candidates.forEach((item, j) => expect(some[j]).toBeCloseTo(batch[item]!, 4));
    }
    // The state is plain data: it survives JSON (IndexedDB, postMessage) unchanged.
    const copy = JSON.parse(JSON.stringify(state)) as typeof state;
    expect(Array.from(model.scoreState(copy)!)).toEqual(Array.from(model.scoreState(state)!));
    model.dispose();
  });
});

describe('model without attention (attnDim = 0)', () => {
  it('has no attention tensors and keeps the batch and incremental paths equal', async () => {
    const { emptySessionState } = await import('../../../src/model/plain/sessionState');
    const c: ModelConfig = { ...config, attnDim: 0 };
    const shapes = denseShapes(c);
    expect(shapes.map(([n]) => n).filter((n) => n.startsWith('attn/') || n === 'out/context')).toEqual([]);
    const w = new Map(shapes.map(([n, shape]) => [n, rand(shape.reduce((a, b) => a * b, 1))] as const));
    const model = new SessionModel(c, items, w);
    let state = emptySessionState();
    for (const item of [4, 9, 9, 21]) state = model.advance(state, item);
    const batch = model.scorePrefixes([Int32Array.of(4, 9, 9, 21)]).dataSync();
    model.scoreState(state)!.forEach((v, i) => expect(v).toBeCloseTo(batch[i]!, 4));
    model.dispose();
  });
});
