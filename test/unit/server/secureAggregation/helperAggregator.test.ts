import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addShare,
  decodeShare,
  leaderShare,
  maxCohortFor,
  recombine,
  SHARE_SEED_BYTES,
  type ShareBits,
} from '../../../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys, reportContext, sealSeed } from '../../../../src/federated/secureAggregation/helperEncryption';
import { AggregateRefused, HelperAggregator, type HelperReport } from '../../../../src/server/secureAggregation/helperAggregator';
import { FileHelperStore, MemoryHelperStore, type HelperStore } from '../../../../src/server/secureAggregation/helperStore';

const D = 300;
const b64 = (x: Uint8Array): string => Buffer.from(x).toString('base64url');

/** A device's report for `roundId`: its codes (random unless given), the leader's share, and the helper's part. */
async function report(helperPublicKey: Uint8Array, roundId: string, o: { codes?: Int8Array; bits?: ShareBits } = {}) {
  const codes = o.codes ?? new Int8Array(D).map(() => Math.floor(Math.random() * 255) - 127);
  const reportId = b64(new Uint8Array(randomBytes(16)));
  const seed = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
  const context = reportContext(roundId, reportId);
  const sealed = await sealSeed(helperPublicKey, seed, context);
  const helper: HelperReport = { reportId, enc: b64(sealed.enc), ciphertext: b64(sealed.ciphertext) };
  return { codes, reportId, leader: leaderShare(codes, seed, context, o.bits ?? 16), helper };
}

/** The leader's sum of `reports` recombined with the helper's answer, against the plain sum of their codes. */
function recombined(reports: Array<{ codes: Int8Array; leader: Uint32Array }>, helperSum: string, bits: ShareBits = 16) {
  const d = reports[0]!.codes.length;
  const leaderSum = new Uint32Array(d);
  const plain = new Array<number>(d).fill(0);
  for (const r of reports) {
    addShare(leaderSum, r.leader, bits);
    r.codes.forEach((v, i) => (plain[i]! += v));
  }
  return { sum: Array.from(recombine(leaderSum, decodeShare(Buffer.from(helperSum, 'base64url'), d, bits), bits)), plain };
}

async function setup(minCohort = 8, store: HelperStore = new MemoryHelperStore()) {
  const keys = await generateHelperKeys();
  return { keys, helper: new HelperAggregator({ privateKey: keys.privateKey, store, minCohort, maxCohort: 258 }), store };
}

const refusal = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AggregateRefused);
    return (err as AggregateRefused).reason;
  }
  throw new Error('the request was not refused');
};

describe('the helper aggregator', () => {
  it('answers its share of a cohort; with the leader’s sum it recombines to the plain sum of the accepted reports', async () => {
    const { keys, helper } = await setup();
    const reports = await Promise.all(Array.from({ length: 10 }, () => report(keys.publicKey, '3')));
    // One report's sealed seed altered in transit: rejected, not summed.
    const tampered = reports[4]!.helper;
    tampered.ciphertext = b64(Buffer.from(tampered.ciphertext, 'base64url').map((v, i) => (i === 0 ? v ^ 1 : v)));
    const answer = await helper.aggregate({ roundId: '3', length: D, bits: 16, reports: reports.map((r) => r.helper) });
    expect(answer.accepted).toHaveLength(9);
    expect(answer.rejected.map((r) => r.reportId)).toEqual([tampered.reportId]);
    const leaderSum = new Uint32Array(D);
    const plain = new Int32Array(D);
    for (const r of reports) {
      if (!answer.accepted.includes(r.reportId)) continue;
      addShare(leaderSum, r.leader, 16);
      r.codes.forEach((v, i) => (plain[i]! += v));
    }
    expect(Array.from(recombine(leaderSum, decodeShare(Buffer.from(answer.sum, 'base64url'), D, 16), 16))).toEqual(Array.from(plain));
  });

  it('refuses a cohort below the minimum (counting only reports that open), and remembers nothing then', async () => {
    const { keys, helper, store } = await setup(8);
    const reports = await Promise.all(Array.from({ length: 7 }, () => report(keys.publicKey, '1')));
    expect(await refusal(helper.aggregate({ roundId: '1', length: D, bits: 16, reports: reports.map((r) => r.helper) }))).toBe(
      'cohort_too_small',
    );
    // Eight listed, but one sealed for another round: seven open.
    const stray = await report(keys.publicKey, '2');
    expect(await refusal(helper.aggregate({ roundId: '1', length: D, bits: 16, reports: [...reports, stray].map((r) => r.helper) }))).toBe(
      'cohort_too_small',
    );
    expect(store.answers()).toEqual([]);
  });

  it('dropout at the threshold: exactly minCohort reports are summed; one fewer is refused, spends nothing, and the round still closes with enough', async () => {
    const { keys, helper, store } = await setup(8);
    // Round 3: ten devices were sampled, two closed their tab before reporting; eight remain.
    const round3 = await Promise.all(Array.from({ length: 8 }, () => report(keys.publicKey, '3')));
    const answer3 = await helper.aggregate({ roundId: '3', length: D, bits: 16, reports: round3.map((r) => r.helper) });
    expect(answer3.accepted).toEqual(round3.map((r) => r.reportId));
    expect(answer3.rejected).toEqual([]);
    const { sum, plain } = recombined(round3, answer3.sum);
    expect(sum).toEqual(plain);
    // Round 4: three dropped out, seven remain: refused, and nothing about round 4 is recorded.
    const round4 = await Promise.all(Array.from({ length: 8 }, () => report(keys.publicKey, '4')));
    const seven = { roundId: '4', length: D, bits: 16 as const, reports: round4.slice(0, 7).map((r) => r.helper) };
    const refused = helper.aggregate(seven);
    await expect(refused).rejects.toThrow(/7 reports open, fewer than the minimum cohort of 8/);
    expect(await refusal(helper.aggregate(seven))).toBe('cohort_too_small');
    expect(store.answers().map((a) => a.roundId)).toEqual(['3']);
    // A late eighth report: the same seven plus it are summed (neither the round nor the seven were spent).
    const answer4 = await helper.aggregate({ ...seven, reports: round4.map((r) => r.helper) });
    expect(answer4.accepted).toHaveLength(8);
    const late = recombined(round4, answer4.sum);
    expect(late.sum).toEqual(late.plain);
    expect(store.answers().map((a) => a.roundId)).toEqual(['3', '4']);
  });

  it('at the largest cohort of 2^16 (258), every device at ±127 sums exactly through the helper; one report more is refused under every modulus', async () => {
    const keys = await generateHelperKeys();
    const store = new MemoryHelperStore();
    // The helper's own bound set far above the modulus's, so that only the modulus refuses.
    const helper = new HelperAggregator({ privateKey: keys.privateKey, store, minCohort: 2, maxCohort: 100_000_000 });
    const n = maxCohortFor(16);
    const extreme = new Int8Array([127, -127, 127, -127]);
    const reports = await Promise.all(Array.from({ length: n + 1 }, () => report(keys.publicKey, '1', { codes: extreme })));
    const over = helper.aggregate({ roundId: '1', length: 4, bits: 16, reports: reports.map((r) => r.helper) });
    await expect(over).rejects.toThrow(/259 reports: more than the cohort a sum mod 2\^16/);
    expect(await refusal(helper.aggregate({ roundId: '1', length: 4, bits: 16, reports: reports.map((r) => r.helper) }))).toBe(
      'bad_request',
    );
    expect(store.answers()).toEqual([]);
    const cohort = reports.slice(0, n);
    const answer = await helper.aggregate({ roundId: '1', length: 4, bits: 16, reports: cohort.map((r) => r.helper) });
    expect(answer.accepted).toHaveLength(n);
    const { sum, plain } = recombined(cohort, answer.sum);
    expect(plain).toEqual([127 * n, -127 * n, 127 * n, -127 * n]);
    expect(sum).toEqual(plain);
    // 2^24 and 2^32: one report over maxCohortFor(bits) is refused before any report is opened
    // (so the reports need not be sealed; for 2^32, 16.9 million of them, the list is left sparse).
    const fake = (i: number): HelperReport => ({ reportId: `fake-report-${String(i).padStart(10, '0')}`, enc: 'AA', ciphertext: 'AA' });
    for (const bits of [24, 32] as const) {
      const count = maxCohortFor(bits) + 1;
      const list = bits === 24 ? Array.from({ length: count }, (_, i) => fake(i)) : new Array<HelperReport>(count);
      const p = helper.aggregate({ roundId: '2', length: 4, bits, reports: list });
      await expect(p).rejects.toThrow(new RegExp(`${count} reports: more than the cohort a sum mod 2\\^${bits}`));
      await expect(p).rejects.toMatchObject({ reason: 'bad_request' });
    }
    expect(store.answers().map((a) => a.roundId)).toEqual(['1']);
  });

  it('sums each report once: an overlapping cohort or a second cohort for the round is refused; the same request gets the same answer', async () => {
    const { keys, helper } = await setup(8);
    const reports = await Promise.all(Array.from({ length: 10 }, () => report(keys.publicKey, '5')));
    const first = { roundId: '5', length: D, bits: 16 as const, reports: reports.slice(0, 8).map((r) => r.helper) };
    const answer = await helper.aggregate(first);
    expect(await helper.aggregate(structuredClone(first))).toEqual(answer);
    // Reports 1-8 (one new): the difference of the two sums would be one device's update.
    expect(await refusal(helper.aggregate({ ...first, roundId: '6', reports: reports.slice(1, 9).map((r) => r.helper) }))).toBe(
      'report_reused',
    );
    expect(await refusal(helper.aggregate({ ...first, reports: reports.slice(0, 9).map((r) => r.helper) }))).toBe('round_reused');
  });

  it('refuses malformed requests with a reason', async () => {
    const { keys, helper } = await setup(2);
    const [a, b] = await Promise.all([report(keys.publicKey, '1'), report(keys.publicKey, '1')]);
    const ok = { roundId: '1', length: D, bits: 16 as const, reports: [a!.helper, b!.helper] };
    for (const bad of [
      { ...ok, roundId: '../1' },
      { ...ok, length: 0 },
      { ...ok, bits: 8 },
      { ...ok, reports: [a!.helper, a!.helper] },
      { ...ok, reports: [{ ...a!.helper, reportId: 'short' }] },
      { ...ok, reports: Array(259).fill(a!.helper) },
    ]) {
      expect(await refusal(helper.aggregate(bad as never)), JSON.stringify(bad).slice(0, 80)).toBe('bad_request');
    }
  });

  it('remembers what it summed across a restart (file store, written before it answers)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'helper-store-'));
    const { keys, helper } = await setup(2, new FileHelperStore(dir));
    const reports = await Promise.all(Array.from({ length: 3 }, () => report(keys.publicKey, '9')));
    const request = { roundId: '9', length: D, bits: 16 as const, reports: reports.slice(0, 2).map((r) => r.helper) };
    const answer = await helper.aggregate(request);
    const restarted = new HelperAggregator({ privateKey: keys.privateKey, store: new FileHelperStore(dir), minCohort: 2, maxCohort: 258 });
    expect(await restarted.aggregate(request)).toEqual(answer);
    expect(await refusal(restarted.aggregate({ ...request, roundId: '10', reports: [reports[1]!.helper, reports[2]!.helper] }))).toBe(
      'report_reused',
    );
  });
});
