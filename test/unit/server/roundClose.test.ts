import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../../../src/node/modelDir';
import { fetchModelFiles } from '../../../src/model/plain/modelFiles';
import { trainableVector } from '../../../src/server/fedAvg';
import { epsilonFor } from '../../../src/server/privacyAccountant';
import { startServer } from './serverHarness';
import { BASE_VERSION, CONFIG, MODEL_DIR, makeUpdate } from './updateFixtures';

describe('closing a round', () => {
  it('publishes the next version, moved by serverLr × Σ w Δ / W, readable by the trainer and the browser loader', async () => {
    const target = 3;
    const serverLr = 0.5;
    const noiseStd = 1 / Math.sqrt(target);
    const h = await startServer({ targetUpdates: target, serverLr, exampleCap: 16 });
    try {
      const updates = [16, 8, 64].map((exampleBucket, i) => makeUpdate({ noiseStd, exampleBucket, seed: i + 1 }));
      for (const u of updates.slice(0, 2)) expect((await h.post(u.bytes)).status).toBe(202);
      expect((await h.status()).versions as string[]).toEqual([BASE_VERSION]);
      const last = await h.post(updates[2]!.bytes);
      expect(last.body).toEqual({ accepted: true, roundId: '1', received: 3, target: 3 });

      const version = `${BASE_VERSION}-r1`;
      const status = await h.status();
      expect(status).toMatchObject({
        modelVersion: version,
        versions: [BASE_VERSION, version],
        roundsClosed: 1,
        round: { id: '2', received: 0 },
      });
      expect(JSON.parse(readFileSync(join(h.dataDir, 'current.json'), 'utf8'))).toEqual({ modelVersion: version });
      // The round's own ε, from its effective noise multiplier σ·‖w without the largest‖/(√m · max w)
      // with weights 1, 0.5, 1, and q = target / population.
      const expected = epsilonFor({ noiseMultiplier: Math.sqrt(1.25 / 3), samplingRate: 3 / 10_000, rounds: 1, delta: 1e-6 }).epsilon;
      expect(status.privacy.lastRound.epsilon).toBeCloseTo(expected, 9);
      expect(status.privacy.cumulative.epsilon).toBeCloseTo(expected, 9);
      expect(status.privacy.cumulativeWithoutSampling.epsilon).toBeGreaterThan(expected);
      expect(h.logs.some((l) => /round 1 closed with 3 updates: published .*-r1; ε \d/.test(l))).toBe(true);

      // Weights 1, 0.5 and 1 (bucket 64 is capped at 16); W = target × 1.
      const weights = [1, 0.5, 1];
      const base = trainableVector(readModelDir(join(MODEL_DIR, 'float')).weights.dense, CONFIG);
      const dir = join(h.dataDir, 'versions', version);
      const master = trainableVector(readModelDir(join(dir, 'float')).weights.dense, CONFIG);
      const served = readModelDir(dir);
      expect(served.manifest.modelVersion).toBe(version);
      const int8 = trainableVector(served.weights.dense, CONFIG);
      let maxErr = 0;
      let maxMove = 0;
      for (let i = 0; i < base.length; i++) {
        const step = (serverLr * weights.reduce((s, w, k) => s + w * updates[k]!.delta[i]!, 0)) / target;
        maxErr = Math.max(maxErr, Math.abs(master[i]! - (base[i]! + step)));
        maxMove = Math.max(maxMove, Math.abs(step));
      }
      expect(maxErr).toBeLessThan(1e-5);
      expect(maxMove).toBeGreaterThan(1e-3);
      // The served int8 copy is the master quantized per column: within a quantization step.
      const quantErr = Math.max(...Array.from(int8, (x, i) => Math.abs(x - master[i]!)));
      expect(quantErr).toBeLessThan(0.05);
      // Frozen tensors (embeddings, input weights) are untouched.
      expect(served.weights.items).toEqual(readModelDir(MODEL_DIR).weights.items);
      // The browser's loader reads the published version over HTTP.
      const model = (await (await fetch(`${h.url}/v1/model`)).json()) as { modelUrl: string; modelVersion: string };
      expect(model.modelVersion).toBe(version);
      const files = await fetchModelFiles(`${h.url}${model.modelUrl}`);
      expect(files.manifest.modelVersion).toBe(version);
      expect(files.vocab.length).toBe(CONFIG.numItems);
      // The aggregated round's individual updates are gone; only their nonces remain.
      expect(existsSync(join(h.dataDir, 'rounds', '1.log'))).toBe(false);
      expect(
        readFileSync(join(h.dataDir, 'rounds', '1.nonces'), 'utf8')
          .trim()
          .split('\n'),
      ).toEqual(updates.map((u) => u.header.nonce));
      // Old versions stay downloadable.
      expect((await fetch(`${h.url}/v1/models/${BASE_VERSION}/weights.bin`)).status).toBe(200);
    } finally {
      await h.server.close();
    }
  });

  it('at the deadline closes with the minimum number of updates, else extends it', async () => {
    let now = Date.now();
    const h = await startServer({ targetUpdates: 10, minUpdates: 2, roundDeadlineMs: 60_000, now: () => now });
    try {
      const noiseStd = 1 / Math.sqrt(10);
      expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
      now += 61_000;
      await new Promise((r) => setTimeout(r, 1200)); // one tick of the round timer
      let s = await h.status();
      expect(s.round).toMatchObject({ id: '1', received: 1 });
      expect(Date.parse(s.round.deadline)).toBeGreaterThan(now);
      expect(h.logs.some((l) => /deadline reached with 1\/2 updates; deadline extended/.test(l))).toBe(true);
      expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
      now += 61_000;
      await new Promise((r) => setTimeout(r, 1200));
      s = await h.status();
      expect(s).toMatchObject({ roundsClosed: 1, round: { id: '2', received: 0 } });
      // Two updates of a target of ten: the round's noise multiplier is σ·√(1/10), and ε says so.
      expect(s.privacy.rounds[0].noiseMultiplier).toBeCloseTo(Math.sqrt(1 / 10), 9);
    } finally {
      await h.server.close();
    }
  });
});
