import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeUpdate, updateLayout } from '../../../src/federated/modelUpdate';
import { readModelDir } from '../../../src/node/modelDir';
import { trainableVector } from '../../../src/server/fedAvg';
import { deviceUpload } from './deviceUpdates';
import { generateHelperKeys } from '../../../src/federated/secureAggregation/helperEncryption';
import { SECURE_REPORT_CONTENT_TYPE } from '../../../src/federated/secureAggregation/secureReport';
import { toBase64Url } from '../../../src/federated/participationChallenge';
import { HelperAggregator } from '../../../src/server/secureAggregation/helperAggregator';
import { localHelperClient } from '../../../src/server/secureAggregation/helperClient';
import { MemoryHelperStore } from '../../../src/server/secureAggregation/helperStore';
import { getJson, kill9, postBytes, spawnCli, TEST_FLAGS } from './reviewHelpers';
import { startServer, type Harness } from './serverHarness';
import { CONFIG, editHeaderText, MODEL_DIR } from './updateFixtures';

/** Rounds that train item rows: announced, applied, observed by the schedule, and durable. */

const base = readModelDir(join(MODEL_DIR, 'float')).weights;
const d = CONFIG.embedDim;
const rowsOf = (ranges: Array<[number, number]>): number[] =>
  ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, k) => a + k));

/** Three devices' sessions over items 0-59, the rows the first rounds announce among them. */
const SESSIONS = [
  [
    [3, 4, 5, 6],
    [10, 11, 3],
  ],
  [[5, 6, 7, 30, 31]],
  [
    [50, 51, 52],
    [4, 5, 6, 7],
  ],
];

let servers: Harness[] = [];
afterEach(async () => {
  for (const h of servers) await h.server.close().catch(() => undefined);
  servers = [];
});

describe('rounds with item rows', () => {
  it('announces the rows, applies the average of the devices’ row updates with the dense denominator at the row learning rate, and schedules the next', async () => {
    const target = 3;
    const serverLr = 0.5;
    const rowServerLr = 4;
    const h = await startServer({ targetUpdates: target, rowsPerRound: 64, noiseMultiplier: 0, serverLr, rowServerLr });
    servers.push(h);
    const m = (await (await fetch(`${h.url}/v1/model`)).json()) as any;
    // A fresh data directory: the catalogue cycle from row 0, compact as one range.
    expect(m.round.rows).toEqual([[0, 63]]);
    const uploads = [];
    for (const sessions of SESSIONS) uploads.push(await deviceUpload(h.url, sessions));
    // Every device's upload in the round has the same byte length.
    expect(new Set(uploads.map((u) => u.bytes.length)).size).toBe(1);
    expect(uploads[0]!.bytes.length).toBe(
      8 + (uploads[0]!.bytes.length - 8 - updateLayout(CONFIG, 64).length) + updateLayout(CONFIG, 64).length,
    );
    for (const u of uploads) {
      const res = await h.post(u.bytes);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    const s = await h.status();
    expect(s.roundsClosed).toBe(1);
    const master = readModelDir(join(h.dataDir, 'versions', s.modelVersion, 'float')).weights;
    const layout = updateLayout(CONFIG, 64);
    const deltas = uploads.map((u) => decodeUpdate(u.bytes, layout).delta);
    // FedAvg weights: example buckets of 4+ examples → 4/16 (cap 16); W = target × expectedWeight.
    const weights = uploads.map((u) => decodeUpdate(u.bytes, layout).header.exampleBucket / 16);
    let worst = 0;
    let moved = 0;
    for (let k = 0; k < 64; k++)
      for (let j = 0; j < d; j++) {
        const step = (rowServerLr * deltas.reduce((a, delta, i) => a + weights[i]! * delta[layout.denseSize + k * d + j]!, 0)) / target;
        worst = Math.max(worst, Math.abs(master.items[k * d + j]! - (base.items[k * d + j]! + step)));
        if (Math.abs(step) > 1e-4) moved++;
      }
    expect(worst).toBeLessThan(1e-6);
    expect(moved).toBeGreaterThan(100);
    // Rows the round did not announce are untouched, bit for bit.
    expect(master.items.subarray(64 * d)).toEqual(base.items.subarray(64 * d));
    // The dense tensors moved by the same rule (the first dense value as a witness).
    const dense0 = trainableVector(master.dense, CONFIG)[0]!;
    expect(dense0).toBeCloseTo(
      trainableVector(base.dense, CONFIG)[0]! + (serverLr * deltas.reduce((a, x, i) => a + weights[i]! * x[0]!, 0)) / target,
      6,
    );
    // The next round: the rows the aggregate found used (the devices' items) and the cycle's next rows.
    const next = rowsOf(s.round.rows);
    expect(next).toHaveLength(64);
    for (const r of [5, 6]) expect(next).toContain(r);
    expect(next).toContain(64);
    const state = JSON.parse(readFileSync(join(h.dataDir, 'state.json'), 'utf8'));
    expect(state.rows.announced['2']).toEqual(next);
    expect(state.rows.schedule.usage[5]).toBeGreaterThan(0);
    // Announced rows no device's session holds move too (as negatives of the full softmax), far less.
    expect(state.rows.schedule.usage[5]).toBeGreaterThan(100 * state.rows.schedule.usage[40]);
  }, 60_000);

  it('under DP the row gate (rowGate) leaves the rows of noise alone; without it the noise moves every announced row', async () => {
    const moved = async (rowGate: number, noiseMultiplier: number): Promise<{ rows: number; logs: string[] }> => {
      const h = await startServer({ targetUpdates: 3, rowsPerRound: 64, noiseMultiplier, rowServerLr: 4, rowGate });
      servers.push(h);
      for (const sessions of SESSIONS) expect((await h.post((await deviceUpload(h.url, sessions)).bytes)).status).toBe(202);
      const s = await h.status();
      expect(s.roundsClosed).toBe(1);
      const items = readModelDir(join(h.dataDir, 'versions', s.modelVersion, 'float')).weights.items;
      let rows = 0;
      for (let r = 0; r < 64; r++) if (items.subarray(r * d, r * d + d).some((v, j) => v !== base.items[r * d + j])) rows++;
      return { rows, logs: h.logs };
    };
    // σ 50: each device's noise (σ·C/√3 a value) is far above what its training moves a row by.
    expect((await moved(0, 50)).rows).toBe(64);
    const gated = await moved(4, 50);
    // A row of noise alone clears z = 4 with probability ~1e-3 or less: none or one of the 64.
    expect(gated.rows).toBeLessThanOrEqual(1);
    expect(gated.logs.some((l) => /round 1: [01] of 64 rows stood above the noise \(row gate z 4\)/.test(l))).toBe(true);
    // Without noise the gate has nothing to tell apart: it stays off, and the rows the devices moved
    // move. (The counts of two runs are compared loosely: each upload's int8 codes are rounded
    // stochastically, so a row a device moved by less than one code step moves in one run and not
    // in the other.)
    const clean = (await moved(0, 0)).rows;
    expect(clean).toBeGreaterThan(10);
    const cleanGated = await moved(4, 0);
    expect(cleanGated.logs.some((l) => /rows stood above the noise/.test(l))).toBe(false);
    expect(Math.abs(cleanGated.rows - clean)).toBeLessThanOrEqual(Math.ceil(clean / 10));
  }, 60_000);

  it('refuses an update built for another round’s rows; a stale update adds into its own round’s rows', async () => {
    const h = await startServer({ targetUpdates: 2, maxStaleness: 2, rowsPerRound: 32, noiseMultiplier: 0 });
    servers.push(h);
    const early = await deviceUpload(h.url, SESSIONS[0]!); // for round 1, rows 0-31
    for (const sessions of SESSIONS.slice(1)) expect((await h.post((await deviceUpload(h.url, sessions)).bytes)).status).toBe(202);
    const s1 = await h.status();
    expect(s1.round.id).toBe('2');
    const round2 = rowsOf(s1.round.rows);
    expect(round2).not.toEqual(early.rows);
    // The round-1 update arrives while round 2 is open: accepted with round 1's layout.
    const late = await h.post(early.bytes);
    expect(late.status, JSON.stringify(late.body)).toBe(202);
    const before = readModelDir(join(h.dataDir, 'versions', s1.modelVersion, 'float')).weights.items;
    expect((await h.post((await deviceUpload(h.url, SESSIONS[2]!)).bytes)).status).toBe(202);
    const s2 = await h.status();
    const after = readModelDir(join(h.dataDir, 'versions', s2.modelVersion, 'float')).weights.items;
    // Row 10 (in round 1's rows, in the late device's sessions only, not in round 2's) moved.
    expect(round2).not.toContain(10);
    let changed = 0;
    for (let j = 0; j < d; j++) if (after[10 * d + j] !== before[10 * d + j]) changed++;
    expect(changed).toBeGreaterThan(0);
    // Relabelled for a round never opened, it is read with the open round's layout and refused as unknown.
    const bogus = await deviceUpload(h.url, SESSIONS[0]!);
    const r = await h.post(editHeaderText(bogus.bytes, (json) => json.replace(`"roundId":"${bogus.roundId}"`, '"roundId":"9"')));
    expect(r.status).toBe(409);
    expect(r.body.reason).toBe('unknown_round');
  }, 60_000);

  it('a secure round with rows publishes the reports’ sum over the rows, and announces the length', async () => {
    const keys = await generateHelperKeys();
    const aggregator = new HelperAggregator({ privateKey: keys.privateKey, store: new MemoryHelperStore(), minCohort: 2, maxCohort: 1000 });
    const h = await startServer({
      targetUpdates: 3,
      minUpdates: 2,
      rowsPerRound: 16,
      secureAggregation: { helper: localHelperClient(aggregator), helperPublicKey: toBase64Url(keys.publicKey) },
    });
    servers.push(h);
    const uploads = [];
    for (const sessions of SESSIONS) uploads.push(await deviceUpload(h.url, sessions));
    expect(new Set(uploads.map((u) => u.bytes.length)).size).toBe(1);
    expect(uploads[0]!.codes).toHaveLength(updateLayout(CONFIG, 16).length);
    for (const u of uploads) expect((await h.post(u.bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    let s = await h.status();
    for (let i = 0; i < 100 && s.roundsClosed < 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = await h.status();
    }
    expect(s.privacy.rounds[0]).toMatchObject({ protocol: 'secure', updates: 3 });
    const items = readModelDir(join(h.dataDir, 'versions', s.modelVersion, 'float')).weights.items;
    const dense = updateLayout(CONFIG).denseSize;
    const step = s.aggregation.step as number;
    let worst = 0;
    for (let k = 0; k < 16; k++)
      for (let j = 0; j < d; j++) {
        const sum = uploads.reduce((a, u) => a + u.codes![dense + k * d + j]!, 0);
        worst = Math.max(worst, Math.abs(items[k * d + j]! - (base.items[k * d + j]! + (sum * step) / 3)));
      }
    expect(worst).toBeLessThan(1e-6);
    expect(items.subarray(16 * d)).toEqual(base.items.subarray(16 * d));
  }, 60_000);

  it('kill -9 at any point: the open round’s rows and the schedule come back as they were committed', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dataDir = mkdtempSync(join(tmpdir(), 'fl-rows-'));
    const args = ['--data', dataDir, ...TEST_FLAGS, '--target', '3', '--rows-per-round', '48', '--noise-multiplier', '0'];
    let run = spawnCli(args);
    let url = (await run.listening())!;
    const r1 = (await getJson(url, '/v1/model')).round.rows;
    expect(rowsOf(r1)).toHaveLength(48);
    const first = await deviceUpload(url, SESSIONS[0]!);
    expect((await postBytes(url, first.bytes)).status).toBe(202);
    await kill9(run);
    run = spawnCli(args);
    url = (await run.listening())!;
    // The same round, the same rows, its acknowledged update still in it.
    const m = await getJson(url, '/v1/model');
    expect(m.round).toMatchObject({ id: '1', received: 1, rows: r1 });
    for (const sessions of SESSIONS.slice(1)) expect((await postBytes(url, (await deviceUpload(url, sessions)).bytes)).status).toBe(202);
    const r2 = (await getJson(url, '/v1/model')).round;
    expect(r2.id).toBe('2');
    const schedule = JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).rows;
    await kill9(run);
    run = spawnCli(args);
    url = (await run.listening())!;
    expect((await getJson(url, '/v1/model')).round.rows).toEqual(r2.rows);
    expect(JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).rows).toEqual(schedule);
    // The published version holds all three devices' row updates (row 5 was touched by two).
    const s = await getJson(url, '/v1/status');
    const items = readModelDir(join(dataDir, 'versions', s.modelVersion, 'float')).weights.items;
    expect(items[5 * d]).not.toBe(base.items[5 * d]);
    await kill9(run);
  }, 120_000);
});
