import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sketchSeed } from '../../../src/federated/announcedSketch';
import { decodeUpdate, updateLayout } from '../../../src/federated/modelUpdate';
import { generateHelperKeys } from '../../../src/federated/secureAggregation/helperEncryption';
import { SECURE_REPORT_CONTENT_TYPE } from '../../../src/federated/secureAggregation/secureReport';
import { toBase64Url } from '../../../src/federated/participationChallenge';
import { readModelDir } from '../../../src/node/modelDir';
import { HelperAggregator } from '../../../src/server/secureAggregation/helperAggregator';
import { localHelperClient } from '../../../src/server/secureAggregation/helperClient';
import { MemoryHelperStore } from '../../../src/server/secureAggregation/helperStore';
import type { AggregationServerOptions } from '../../../src/server/serverOptions';
import { deviceUpload } from './deviceUpdates';
import { startServer, type Harness } from './serverHarness';
import { CONFIG, MODEL_DIR } from './updateFixtures';

/** Rounds with an item sketch: announced, appended by every device, read only summed, ranking later rounds' rows. */

const base = readModelDir(join(MODEL_DIR, 'float')).weights;
const d = CONFIG.embedDim;
const BUCKETS = 8192;
const ROWS = 8;
const rowsOf = (ranges: Array<[number, number]>): number[] =>
  ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, k) => a + k));

/**
 * Items every device views (far from the first round's rows, 0-7, so that the rows' own updates
 * cannot point to them: only the sketch can), and a few each views alone.
 */
const SHARED = [300, 1201, 2050, 3100];
const SESSIONS = [
  [
    [300, 1201, 2050, 3100],
    [41, 42, 300],
  ],
  [
    [2050, 3100, 1201, 300],
    [900, 901],
  ],
  [
    [3100, 300, 1201, 2050, 77],
    [1500, 1501],
  ],
];

let servers: Harness[] = [];
afterEach(async () => {
  for (const h of servers) await h.server.close().catch(() => undefined);
  servers = [];
});

async function secureOptions(): Promise<Partial<AggregationServerOptions>> {
  const keys = await generateHelperKeys();
  const aggregator = new HelperAggregator({ privateKey: keys.privateKey, store: new MemoryHelperStore(), minCohort: 2, maxCohort: 1000 });
  return { minUpdates: 2, secureAggregation: { helper: localHelperClient(aggregator), helperPublicKey: toBase64Url(keys.publicKey) } };
}

async function start(o: Partial<AggregationServerOptions>): Promise<Harness> {
  const h = await startServer({ targetUpdates: 3, rowsPerRound: ROWS, sketchBuckets: BUCKETS, noiseMultiplier: 0, ...o });
  servers.push(h);
  return h;
}

async function closed(h: Harness, rounds: number): Promise<Record<string, any>> {
  let s = await h.status();
  for (let i = 0; i < 200 && s.roundsClosed < rounds; i++) {
    await new Promise((r) => setTimeout(r, 25));
    s = await h.status();
  }
  expect(s.roundsClosed).toBe(rounds);
  return s;
}

const popularity = (h: Harness): number[] => JSON.parse(readFileSync(join(h.dataDir, 'state.json'), 'utf8')).rows.schedule.popularity;
const topItems = (p: number[], k: number): number[] => [...p.keys()].sort((a, b) => p[b]! - p[a]! || a - b).slice(0, k);

describe('rounds with an item sketch', () => {
  for (const mode of ['plain', 'secure'] as const)
    it(`${mode}: every upload appends the round's sketch (same length); the close ranks the items the devices viewed first, and applies nothing of the sketch`, async () => {
      const h = await start(mode === 'secure' ? await secureOptions() : {});
      const m = (await (await fetch(`${h.url}/v1/model`)).json()) as any;
      expect(m.round.sketch).toEqual({ buckets: BUCKETS, seed: sketchSeed(1) });
      expect(m.round.rows).toEqual([[0, ROWS - 1]]);
      const layout = updateLayout(CONFIG, ROWS, BUCKETS);
      const uploads = [];
      for (const sessions of SESSIONS) uploads.push(await deviceUpload(h.url, sessions));
      expect(new Set(uploads.map((u) => u.bytes.length)).size).toBe(1);
      if (mode === 'secure') for (const u of uploads) expect(u.codes).toHaveLength(layout.length);
      else for (const u of uploads) expect(decodeUpdate(u.bytes, layout).delta).toHaveLength(layout.length);
      for (const u of uploads) {
        const res = await h.post(u.bytes, mode === 'secure' ? SECURE_REPORT_CONTENT_TYPE : undefined);
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      }
      const s = await closed(h, 1);
      // The items all three devices viewed lead the popularity, and take the next round's exploit share.
      const p = popularity(h);
      expect(p).toHaveLength(CONFIG.numItems);
      expect(topItems(p, SHARED.length).sort((a, b) => a - b)).toEqual(SHARED);
      for (const i of [41, 900, 1500]) expect(p[i]).toBeGreaterThan(0);
      const next = rowsOf(s.round.rows);
      expect(next).toHaveLength(ROWS);
      for (const i of SHARED) expect(next).toContain(i);
      expect(s.round.sketch).toEqual({ buckets: BUCKETS, seed: sketchSeed(2) });
      // Only the announced rows moved: the sketch's values were not added to anything.
      const items = readModelDir(join(h.dataDir, 'versions', s.modelVersion, 'float')).weights.items;
      expect(items.subarray(ROWS * d)).toEqual(base.items.subarray(ROWS * d));
    }, 60_000);

  it('a stale update adds its sketch under its own round’s hash', async () => {
    const h = await start({ maxStaleness: 2 });
    const early = await deviceUpload(h.url, [[2500, 2501, 2502]]); // for round 1
    for (const sessions of SESSIONS) expect((await h.post((await deviceUpload(h.url, sessions)).bytes)).status).toBe(202);
    await closed(h, 1);
    expect(popularity(h)[2500]).toBe(0);
    expect((await h.post(early.bytes)).status).toBe(202);
    for (const sessions of SESSIONS.slice(0, 2)) expect((await h.post((await deviceUpload(h.url, sessions)).bytes)).status).toBe(202);
    await closed(h, 2);
    const p = popularity(h);
    // Read with round 2's hash, its items would get another bucket's sum (mostly 0, else ±).
    for (const i of [2500, 2501, 2502]) expect(p[i]).toBeGreaterThan(0.01);
  }, 60_000);

  it('a restart keeps the popularity and the open round’s sketch; new settings apply from the next round', async () => {
    const h = await start({});
    for (const sessions of SESSIONS) expect((await h.post((await deviceUpload(h.url, sessions)).bytes)).status).toBe(202);
    const s1 = await closed(h, 1);
    const p1 = popularity(h);
    await h.server.close();
    servers = [];
    // Restarted without a sketch: round 2 was announced with one, and its updates are read with it.
    const again = await start({ dataDir: h.dataDir, sketchBuckets: 0 });
    const m = (await (await fetch(`${again.url}/v1/model`)).json()) as any;
    expect(m.round).toMatchObject({ id: '2', rows: s1.round.rows, sketch: { buckets: BUCKETS, seed: sketchSeed(2) } });
    expect(popularity(again)).toEqual(p1);
    const uploads = [];
    for (const sessions of SESSIONS.slice(0, 2)) uploads.push(await deviceUpload(again.url, sessions));
    expect(uploads[0]!.bytes.length).toBe(uploads[1]!.bytes.length);
    for (const u of uploads) expect((await again.post(u.bytes)).status).toBe(202);
    expect((await again.post((await deviceUpload(again.url, [[5, 6, 7]])).bytes)).status).toBe(202);
    const s2 = await closed(again, 2);
    // Round 2's sketch was observed on top of round 1's (decayed); round 3 has no sketch.
    const p2 = popularity(again);
    for (const i of SHARED) expect(p2[i]).toBeGreaterThan(p1[i]!);
    expect(topItems(p2, SHARED.length).sort((a, b) => a - b)).toEqual(SHARED);
    expect(s2.round.sketch).toBeUndefined();
    const state = JSON.parse(readFileSync(join(again.dataDir, 'state.json'), 'utf8')).rows;
    expect(Object.keys(state.sketches ?? {}).every((id) => Number(id) <= 2)).toBe(true);
  }, 60_000);

  it('refuses a sketch that is not a count of buckets, or one that leaves no room for the model, with one line', async () => {
    await expect(start({ sketchBuckets: 2.5 })).rejects.toThrow(/^sketchBuckets must be an integer ≥ 0 \(0: no item sketch\), got 2.5$/);
    await expect(start({ sketchBuckets: 300_000, rowsPerRound: 0 })).rejects.toThrow(
      /the model with its item sketch is too large to federate/,
    );
    await expect(start({ sketchBuckets: 240_000, rowsPerRound: 10 })).rejects.toThrow(
      /rowsPerRound 10 does not fit one upload: .* \+ 240000 sketch buckets.*; at most 3 rows fit beside the sketch$/,
    );
  });
});
