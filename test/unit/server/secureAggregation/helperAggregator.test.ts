import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addShare,
  decodeShare,
  leaderShare,
  recombine,
  SHARE_SEED_BYTES,
} from '../../../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys, reportContext, sealSeed } from '../../../../src/federated/secureAggregation/helperEncryption';
import { AggregateRefused, HelperAggregator, type HelperReport } from '../../../../src/server/secureAggregation/helperAggregator';
import { FileHelperStore, MemoryHelperStore, type HelperStore } from '../../../../src/server/secureAggregation/helperStore';

const D = 300;
const b64 = (x: Uint8Array): string => Buffer.from(x).toString('base64url');

/** A device's report for `roundId`: its codes, the leader's share, and the helper's part. */
async function report(helperPublicKey: Uint8Array, roundId: string) {
  const codes = new Int8Array(D).map(() => Math.floor(Math.random() * 255) - 127);
  const reportId = b64(new Uint8Array(randomBytes(16)));
  const seed = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
  const context = reportContext(roundId, reportId);
  const sealed = await sealSeed(helperPublicKey, seed, context);
  const helper: HelperReport = { reportId, enc: b64(sealed.enc), ciphertext: b64(sealed.ciphertext) };
  return { codes, reportId, leader: leaderShare(codes, seed, context, 16), helper };
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
