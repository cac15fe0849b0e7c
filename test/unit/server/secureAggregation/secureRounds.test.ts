import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeShare, encodeShare } from '../../../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys } from '../../../../src/federated/secureAggregation/helperEncryption';
import {
  decodeSecureReport,
  encodeSecureReport,
  makeSecureReport,
  SECURE_REPORT_CONTENT_TYPE,
  type SecureRoundInfo,
} from '../../../../src/federated/secureAggregation/secureReport';
import { toBase64Url } from '../../../../src/federated/participationChallenge';
import { readModelDir } from '../../../../src/node/modelDir';
import { trainableVector } from '../../../../src/server/fedAvg';
import { HelperAggregator, type AggregateRequest } from '../../../../src/server/secureAggregation/helperAggregator';
import { localHelperClient, type HelperClient } from '../../../../src/server/secureAggregation/helperClient';
import { MemoryHelperStore } from '../../../../src/server/secureAggregation/helperStore';
import { Random } from '../../../../models/random';
import { startServer, type Harness } from '../serverHarness';
import { makeUpdate, MODEL_DIR } from '../updateFixtures';

const base = readModelDir(MODEL_DIR);
const config = base.weights.config;
const baseVector = trainableVector(base.weights.dense, config);

/** An in-process helper (the real HelperAggregator), reachable or not, counting its requests. */
async function makeHelper(minCohort = 2) {
  const keys = await generateHelperKeys();
  const aggregator = new HelperAggregator({ privateKey: keys.privateKey, store: new MemoryHelperStore(), minCohort, maxCohort: 1000 });
  const local = localHelperClient(aggregator);
  const helper: { up: boolean; requests: AggregateRequest[]; publicKey: string; client: HelperClient } = {
    up: true,
    requests: [] as AggregateRequest[],
    publicKey: toBase64Url(keys.publicKey),
    client: {
      aggregate(request: AggregateRequest) {
        helper.requests.push(request);
        return helper.up ? local.aggregate(request) : Promise.reject(new Error('connect ECONNREFUSED'));
      },
    },
  };
  return helper;
}

let servers: Harness[] = [];
afterEach(async () => {
  for (const s of servers) await s.server.close().catch(() => undefined);
  servers = [];
});

async function leader(helper: Awaited<ReturnType<typeof makeHelper>>, o: Record<string, unknown> = {}): Promise<Harness> {
  let now = 1_000_000;
  const h = await startServer({
    targetUpdates: 4,
    minUpdates: 3,
    secureAggregation: { helper: helper.client, helperPublicKey: helper.publicKey },
    now: () => now,
    ...o,
  });
  (h as Harness & { advance(ms: number): void }).advance = (ms) => (now += ms);
  servers.push(h);
  return h;
}

async function model(h: Harness): Promise<any> {
  return (await fetch(`${h.url}/v1/model`)).json();
}

const rand = new Random(11);
/** A device's report for the server's open round, with its pre-masking codes. */
async function report(h: Harness) {
  const m = await model(h);
  const s = m.secureAggregation;
  const round: SecureRoundInfo = { roundId: s.roundId, helperPublicKey: s.helperPublicKey, bits: s.bits, step: s.step };
  const after = new Map([...base.weights.dense].map(([n, a]) => [n, Float32Array.from(a, (x) => x + rand.normal() * 0.001)]));
  return makeSecureReport({
    before: base.weights.dense,
    after,
    config,
    modelVersion: m.modelVersion,
    round,
    clipNorm: m.privacy.clipNorm,
    noiseStd: m.privacy.noiseStd,
  });
}

/** Waits until the status says `pred`, for up to `ms`. */
async function until(h: Harness, pred: (s: any) => boolean, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await h.status();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`status never matched: ${JSON.stringify(s.round)} ${JSON.stringify(s.privacy.abandonedRounds)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('secure rounds (leader + helper, additive shares)', () => {
  it('announces the round; publishes the sum of the reports, within int8 rounding, and keeps no report once summed', async () => {
    const helper = await makeHelper();
    const h = await leader(helper);
    const m = await model(h);
    expect(m.secureAggregation).toMatchObject({ roundId: '1', bits: 16, minCohort: 3, helperPublicKey: helper.publicKey });
    expect(m.privacy.noiseStd).toBeCloseTo((1 * 1) / Math.sqrt(3), 12); // σ·C/√minCohort
    const codes: Int8Array[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await report(h);
      codes.push(r.codes);
      const res = await h.post(r.bytes, SECURE_REPORT_CONTENT_TYPE);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      if (i === 2) {
        // While the round is open, what the leader stored is its share: unrelated to the codes.
        const log = readFileSync(join(h.dataDir, 'rounds', '1.log'));
        expect(log.length).toBeGreaterThan(3 * codes[0]!.length * 2);
      }
    }
    const s = await until(h, (x) => x.roundsClosed === 1);
    expect(s.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: 4 });
    expect(s.aggregation).toMatchObject({ protocol: 'secure', minCohort: 3, bits: 16 });
    expect(helper.requests).toHaveLength(1);
    // The round's log (the shares) is gone; its ids stay, so a replay is refused.
    expect(existsSync(join(h.dataDir, 'rounds', '1.log'))).toBe(false);
    expect(readdirSync(join(h.dataDir, 'rounds'))).toContain('1.nonces');
    // The published version is the base plus the average of the devices' pre-masking values.
    const published = readModelDir(join(h.dataDir, 'versions', s.modelVersion));
    const got = trainableVector(published.weights.dense, config);
    const step = m.secureAggregation.step;
    let worst = 0;
    let moved = 0;
    for (let i = 0; i < got.length; i++) {
      let sum = 0;
      for (const c of codes) sum += c[i]!;
      const expected = baseVector[i]! + (sum * step) / 4;
      worst = Math.max(worst, Math.abs(got[i]! - expected));
      if (Math.abs(expected - baseVector[i]!) > 1e-3) moved++;
    }
    const maxAbs = got.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    expect(moved).toBeGreaterThan(100); // the update moved the model…
    expect(worst).toBeLessThan(maxAbs / 127); // …by what the devices sent, within int8 rounding of the published file
  });

  it("a stored report is the leader's share only: alone it matches the device's values no more than chance", async () => {
    const helper = await makeHelper();
    const h = await leader(helper);
    const r = await report(h);
    expect((await h.post(r.bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    const stored = readFileSync(join(h.dataDir, 'rounds', '1.log'));
    // The record holds the report's bytes as sent; find them and read the share back.
    const at = stored.indexOf(Buffer.from('EPS1'));
    const share = decodeSecureReport(stored.subarray(at, at + r.bytes.length), r.codes.length).leaderShare;
    let equal = 0;
    for (let i = 0; i < share.length; i++) if ((share[i]! << 16) >> 16 === r.codes[i]) equal++;
    expect(equal / share.length).toBeLessThan(0.01); // a code equals a uniform 16-bit value 1/65,536 of the time
  });

  it('a round below the minimum cohort at its deadline is abandoned and publishes nothing', async () => {
    const helper = await makeHelper();
    const h = (await leader(helper, { roundDeadlineMs: 60_000 })) as Harness & { advance(ms: number): void };
    for (let i = 0; i < 2; i++) expect((await h.post((await report(h)).bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    const late = await report(h); // built for round 1, posted after it was abandoned
    h.advance(61_000);
    const s = await until(h, (x) => x.round.id === '2');
    expect(s.roundsClosed).toBe(0);
    expect(s.versions).toHaveLength(1);
    expect(s.privacy.abandonedRounds[0]).toMatchObject({ id: 1, reports: 2 });
    expect(s.privacy.abandonedRounds[0].reason).toMatch(/fewer than the minimum cohort of 3/);
    expect(helper.requests).toHaveLength(0); // the helper never saw a cohort below the minimum
    expect(existsSync(join(h.dataDir, 'rounds', '1.log'))).toBe(false);
    const res = await h.post(late.bytes, SECURE_REPORT_CONTENT_TYPE);
    expect(res.status).toBe(409);
    expect(res.body.reason).toBe('round_closed');
  });

  it('reports the helper cannot open are left out; below the minimum the round is abandoned', async () => {
    const helper = await makeHelper();
    const h = await leader(helper);
    for (let i = 0; i < 4; i++) {
      const r = await report(h);
      let bytes = r.bytes;
      if (i >= 1) {
        // Sealed for another key: the leader cannot tell, the helper cannot open it.
        const other = await generateHelperKeys();
        const m = await model(h);
        const s = m.secureAggregation;
        const after = new Map([...base.weights.dense].map(([n, a]) => [n, Float32Array.from(a, (x) => x + 0.0001)]));
        bytes = (
          await makeSecureReport({
            before: base.weights.dense,
            after,
            config,
            modelVersion: m.modelVersion,
            round: { roundId: s.roundId, helperPublicKey: toBase64Url(other.publicKey), bits: s.bits, step: s.step },
            clipNorm: m.privacy.clipNorm,
            noiseStd: m.privacy.noiseStd,
          })
        ).bytes;
      }
      expect((await h.post(bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    }
    const s = await until(h, (x) => x.round.id === '2');
    expect(s.roundsClosed).toBe(0);
    expect(s.privacy.abandonedRounds[0].reason).toMatch(/the helper refused \(cohort_too_small/);
  });

  it('while the helper is down the round waits (nothing more accepted); once it is back the round is published', async () => {
    const helper = await makeHelper();
    const h = (await leader(helper)) as Harness & { advance(ms: number): void };
    helper.up = false;
    for (let i = 0; i < 4; i++) expect((await h.post((await report(h)).bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    await until(h, () => helper.requests.length >= 1);
    const refused = await h.post((await report(h)).bytes, SECURE_REPORT_CONTENT_TYPE);
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/being summed with the helper \(connect ECONNREFUSED\)/);
    expect((await h.status()).aggregation.helperFailure).toMatch(/ECONNREFUSED/);
    helper.up = true;
    h.advance(11_000);
    const s = await until(h, (x) => x.roundsClosed === 1);
    expect(s.privacy.rounds[0].updates).toBe(4);
  });

  it('a restart while summing asks the helper the same request again and publishes once', async () => {
    const helper = await makeHelper();
    const h = await leader(helper);
    helper.up = false;
    for (let i = 0; i < 4; i++) expect((await h.post((await report(h)).bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    await until(h, () => helper.requests.length >= 1);
    await h.server.close();
    servers = servers.filter((x) => x !== h);
    helper.up = true;
    const again = await leader(helper, { dataDir: h.dataDir });
    const s = await until(again, (x) => x.roundsClosed === 1);
    expect(s.privacy.rounds[0].updates).toBe(4);
    expect(JSON.stringify(helper.requests.at(-1))).toBe(JSON.stringify(helper.requests[0]));
  });

  it('refuses, with a reason, what does not belong in a secure round', async () => {
    const helper = await makeHelper();
    const h = await leader(helper);
    const plain = await h.post(makeUpdate().bytes);
    expect(plain.status).toBe(415);
    expect(plain.body.reason).toBe('content_type');
    const r = await report(h);
    expect((await h.post(r.bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    const replay = await h.post(r.bytes, SECURE_REPORT_CONTENT_TYPE);
    expect([replay.status, replay.body.reason]).toEqual([409, 'replayed_nonce']);
    const decoded = decodeSecureReport((await report(h)).bytes, baseVector.length);
    const wrongBits = encodeSecureReport({
      ...decoded,
      header: { ...decoded.header, bits: 24 },
      leaderShare: decoded.leaderShare,
    });
    const wb = await h.post(wrongBits, SECURE_REPORT_CONTENT_TYPE);
    expect([wb.status, wb.body.reason]).toEqual([413, 'too_large']); // 24-bit shares do not fit a 16-bit round's limit
    const wrongStep = encodeSecureReport({ ...decoded, header: { ...decoded.header, step: decoded.header.step * 2 } });
    const ws = await h.post(wrongStep, SECURE_REPORT_CONTENT_TYPE);
    expect([ws.status, ws.body.reason]).toEqual([400, 'wrong_privacy_parameters']);
    const otherRound = encodeSecureReport({ ...decoded, header: { ...decoded.header, roundId: '7' } });
    const or = await h.post(otherRound, SECURE_REPORT_CONTENT_TYPE);
    expect([or.status, or.body.reason]).toEqual([409, 'round_closed']);
    const truncated = await h.post(r.bytes.subarray(0, r.bytes.length - 10), SECURE_REPORT_CONTENT_TYPE);
    expect([truncated.status, truncated.body.reason]).toEqual([400, 'bad_header']);
  });

  it('a device that puts values outside int8 into its share makes the round abandoned, not published', async () => {
    const helper = await makeHelper();
    const h = await leader(helper);
    for (let i = 0; i < 4; i++) {
      let bytes = (await report(h)).bytes;
      if (i === 0) {
        const d = decodeSecureReport(bytes, baseVector.length);
        const share = decodeShare(encodeShare(d.leaderShare, 16), baseVector.length, 16);
        share[5] = (share[5]! + 20_000) & 0xffff; // +20,000 in value 5: far beyond 127
        bytes = encodeSecureReport({ ...d, leaderShare: share });
      }
      expect((await h.post(bytes, SECURE_REPORT_CONTENT_TYPE)).status).toBe(202);
    }
    const s = await until(h, (x) => x.round.id === '2');
    expect(s.roundsClosed).toBe(0);
    expect(s.privacy.abandonedRounds[0].reason).toMatch(/value 5 of the sum is .* outside ±508/);
  });
});
