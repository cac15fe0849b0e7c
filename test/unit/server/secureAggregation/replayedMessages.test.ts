import { describe, expect, it } from 'vitest';
import { addShare, decodeShare, recombine } from '../../../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys } from '../../../../src/federated/secureAggregation/helperEncryption';
import { decodeSecureReport, makeSecureReport, secureStep } from '../../../../src/federated/secureAggregation/secureReport';
import { federatedSize } from '../../../../src/federated/modelUpdate';
import { toBase64Url } from '../../../../src/federated/participationChallenge';
import { denseShapes, type ModelConfig } from '../../../../src/model/plain/modelConfig';
import {
  AggregateRefused,
  HelperAggregator,
  type AggregateResponse,
  type HelperReport,
} from '../../../../src/server/secureAggregation/helperAggregator';
import { MemoryHelperStore } from '../../../../src/server/secureAggregation/helperStore';
import { Random } from '../../../../models/random';

/**
 * Devices' real reports (EPS1 bytes from makeSecureReport), read by the leader and relayed to the
 * helper, replayed or altered on the way: the helper refuses each with a reason, and what it does
 * sum still recombines to the exact sum of the reports it accepted.
 */
const rand = new Random(11);
const config: ModelConfig = { numItems: 20, embedDim: 8, hiddenDim: 8, attnDim: 0, scale: 12, maxLen: 10 };
const d = federatedSize(config);
const MIN_COHORT = 4;

async function setup() {
  const keys = await generateHelperKeys();
  const store = new MemoryHelperStore();
  const helper = new HelperAggregator({ privateKey: keys.privateKey, store, minCohort: MIN_COHORT, maxCohort: 258 });
  const helperPublicKey = toBase64Url(keys.publicKey);
  /** A device's report for `roundId`: the bytes it posts and the codes they carry. */
  const device = async (roundId: string) => {
    const before = new Map(
      denseShapes(config).map(([n, s]) => [n, Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rand.normal() * 0.1)]),
    );
    const after = new Map([...before].map(([n, a]) => [n, Float32Array.from(a, (x) => x + rand.normal() * 0.01)]));
    const round = { roundId, helperPublicKey, bits: 16 as const, step: secureStep(0.5) };
    return makeSecureReport({ before, after, config, modelVersion: 'v1', round, clipNorm: 0.5, noiseStd: 0.05 });
  };
  return { helper, store, device };
}

/** What the leader relays for one report it received. */
function relay(bytes: Uint8Array): HelperReport {
  const r = decodeSecureReport(bytes, d);
  return { reportId: r.header.reportId, enc: toBase64Url(r.enc), ciphertext: toBase64Url(r.sealedSeed) };
}

/** The leader's side once the helper answered: its sum over the accepted reports, recombined, and the plain sum of their codes. */
function complete(reports: Array<{ bytes: Uint8Array; codes: Int8Array }>, answer: AggregateResponse) {
  const leaderSum = new Uint32Array(d);
  const plain = new Array<number>(d).fill(0);
  for (const r of reports) {
    const decoded = decodeSecureReport(r.bytes, d);
    if (!answer.accepted.includes(decoded.header.reportId)) continue;
    addShare(leaderSum, decoded.leaderShare, 16);
    r.codes.forEach((v, i) => (plain[i]! += v));
  }
  return { sum: Array.from(recombine(leaderSum, decodeShare(Buffer.from(answer.sum, 'base64url'), d, 16), 16)), plain };
}

async function refusal(p: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AggregateRefused);
    return { reason: (err as AggregateRefused).reason, message: (err as Error).message };
  }
  throw new Error('the request was not refused');
}

describe('replayed or altered protocol messages', () => {
  it('a report summed in one round, replayed in a request for the next: report_reused, naming it, and nothing recorded', async () => {
    const { helper, store, device } = await setup();
    const round1 = await Promise.all(Array.from({ length: MIN_COHORT }, () => device('1')));
    const answer1 = await helper.aggregate({ roundId: '1', length: d, bits: 16, reports: round1.map((r) => relay(r.bytes)) });
    expect(answer1.accepted).toHaveLength(MIN_COHORT);
    const round2 = await Promise.all(Array.from({ length: MIN_COHORT }, () => device('2')));
    const replayed = relay(round1[2]!.bytes);
    const refused = await refusal(
      helper.aggregate({ roundId: '2', length: d, bits: 16, reports: [...round2.map((r) => relay(r.bytes)), replayed] }),
    );
    expect(refused.reason).toBe('report_reused');
    expect(refused.message).toContain(replayed.reportId);
    expect(store.answers().map((a) => a.roundId)).toEqual(['1']);
    // Without the replayed report, round 2 is summed, exactly.
    const answer2 = await helper.aggregate({ roundId: '2', length: d, bits: 16, reports: round2.map((r) => relay(r.bytes)) });
    const { sum, plain } = complete(round2, answer2);
    expect(sum).toEqual(plain);
  });

  it('a report sealed for round 1 relayed in a request for round 2: its seed does not open (the context binds the round); with too few left, the request is refused', async () => {
    const { helper, store, device } = await setup();
    const stray = await device('1');
    const round2 = await Promise.all(Array.from({ length: MIN_COHORT }, () => device('2')));
    // With enough reports of round 2: the stray one is rejected with a reason, the others summed exactly.
    const all = [...round2, stray];
    const answer = await helper.aggregate({ roundId: '2', length: d, bits: 16, reports: all.map((r) => relay(r.bytes)) });
    expect(answer.accepted).toEqual(round2.map((r) => r.header.reportId));
    expect(answer.rejected).toEqual([{ reportId: stray.header.reportId, reason: expect.stringMatching(/^seed does not open/) }]);
    const { sum, plain } = complete(all, answer);
    expect(sum).toEqual(plain);
    // Round 3 with minCohort − 1 of its own reports and two of round 1: refused as a whole.
    const round3 = await Promise.all(Array.from({ length: MIN_COHORT - 1 }, () => device('3')));
    const strays = await Promise.all([device('1'), device('1')]);
    const refused = await refusal(
      helper.aggregate({ roundId: '3', length: d, bits: 16, reports: [...round3, ...strays].map((r) => relay(r.bytes)) }),
    );
    expect(refused.reason).toBe('cohort_too_small');
    expect(refused.message).toMatch(/3 reports open, fewer than the minimum cohort of 4/);
    expect(store.answers().map((a) => a.roundId)).toEqual(['2']);
  });

  it('a report whose reportId, encapsulated key or sealed seed was changed in transit: rejected, the rest summed exactly', async () => {
    const { helper, device } = await setup();
    const reports = await Promise.all(Array.from({ length: MIN_COHORT + 4 }, () => device('5')));
    // In the device's EPS1 header (same length, still a well-formed report: the leader cannot tell).
    const renamed = reports[0]!.bytes.slice();
    const h = new DataView(renamed.buffer).getUint32(4, true);
    const header = new TextDecoder().decode(renamed.subarray(8, 8 + h));
    const otherId = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    renamed.set(new TextEncoder().encode(header.replace(reports[0]!.header.reportId, otherId)), 8);
    expect(decodeSecureReport(renamed, d).header.reportId).toBe(otherId);
    // In the leader's request: another id, the encapsulated key of another report, a flipped ciphertext bit.
    const relayed = [relay(renamed), ...reports.slice(1).map((r) => relay(r.bytes))];
    relayed[1] = { ...relayed[1]!, reportId: toBase64Url(crypto.getRandomValues(new Uint8Array(16))) };
    relayed[2] = { ...relayed[2]!, enc: relayed[3]!.enc };
    const ct = Buffer.from(relayed[4]!.ciphertext, 'base64url');
    ct[ct.length - 1]! ^= 0x80;
    relayed[4] = { ...relayed[4]!, ciphertext: ct.toString('base64url') };
    const answer = await helper.aggregate({ roundId: '5', length: d, bits: 16, reports: relayed });
    expect(answer.rejected.map((r) => r.reportId)).toEqual([
      relayed[0]!.reportId,
      relayed[1]!.reportId,
      relayed[2]!.reportId,
      relayed[4]!.reportId,
    ]);
    for (const r of answer.rejected) expect(r.reason).toMatch(/^seed does not open: /);
    expect(answer.accepted).toEqual([3, 5, 6, 7].map((i) => reports[i]!.header.reportId));
    const { sum, plain } = complete(reports, answer);
    expect(sum).toEqual(plain);
  });
});
