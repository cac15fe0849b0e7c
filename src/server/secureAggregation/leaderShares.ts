import { addShare, maxCohortFor, MAX_CODE, recombine, decodeShare, type ShareBits } from '../../federated/secureAggregation/additiveShares';
import {
  decodeSecureReport,
  SECURE_REPORT_CONTENT_TYPE,
  SecureReportFormatError,
  type SecureReport,
} from '../../federated/secureAggregation/secureReport';
import { toBase64Url } from '../../federated/participationChallenge';
import type { AggregateRequest, AggregateResponse } from './helperAggregator';
import type { HelperClient } from './helperClient';
import { HELPER_PROTOCOL } from './helperServer';
import type { UpdateRejection } from '../validateUpdate';

/** A leader's secure-aggregation settings, resolved at start (see serverOptions.ts). */
export interface SecureAggregation {
  helper: HelperClient;
  /** The helper's HPKE public key, base64url: devices seal their seeds to it. */
  helperPublicKey: string;
  /** Fewer reports than this are never summed (the helper enforces its own minimum too). */
  minCohort: number;
  bits: ShareBits;
  /** The fixed quantization step, (clipNorm + 4·noiseStd) / 127 (see secureStep). */
  step: number;
}

/** What a device reads on `GET /v1/model` in a secure round. */
export function announce(s: SecureAggregation, roundId: number): Record<string, unknown> {
  return {
    protocol: HELPER_PROTOCOL,
    roundId: String(roundId),
    helperPublicKey: s.helperPublicKey,
    bits: s.bits,
    step: s.step,
    minCohort: s.minCohort,
  };
}

/** A secure report that passed the leader's checks. */
export interface AcceptedReport {
  ok: true;
  report: SecureReport;
  staleness: number;
}

/** What the leader's checks need to know about the server now. */
export interface SecureContext {
  length: number;
  clipNorm: number;
  noiseStd: number;
  secure: SecureAggregation;
  versionIndex: (version: string) => number | undefined;
  currentIndex: number;
  maxStaleness: number;
  openRound: number;
  hasNonce: (id: string) => boolean;
}

/** The largest body a secure report of `length` values can have at `bits`. */
export function maxReportBytes(length: number, bits: ShareBits): number {
  return 8 + 4096 + 65 + 48 + length * (bits / 8);
}

const same = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const reject = (status: number, reason: string, message: string): UpdateRejection =>
  ({ ok: false, status, reason, message }) as UpdateRejection;

/**
 * The leader's checks of one report: content type, layout, the round's parameters, version,
 * round and report id. The leader cannot check the update's norm (its share is uniformly random
 * alone): what bounds a dishonest device is the sum's check in {@link combine} and the cohort.
 */
export function validateSecureReport(
  body: Uint8Array,
  contentType: string | undefined,
  ctx: SecureContext,
): AcceptedReport | UpdateRejection {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== SECURE_REPORT_CONTENT_TYPE)
    return reject(415, 'content_type', `this server runs secure aggregation: Content-Type must be ${SECURE_REPORT_CONTENT_TYPE}`);
  let report: SecureReport;
  try {
    report = decodeSecureReport(body, ctx.length);
  } catch (err) {
    if (err instanceof SecureReportFormatError) return reject(400, 'bad_header', `not a report for this model: ${err.message}`);
    throw err;
  }
  const h = report.header;
  if (h.bits !== ctx.secure.bits || !same(h.step, ctx.secure.step) || !same(h.clipNorm, ctx.clipNorm) || !same(h.noiseStd, ctx.noiseStd))
    return reject(
      400,
      'wrong_privacy_parameters',
      `bits must be ${ctx.secure.bits}, step ${ctx.secure.step}, clipNorm ${ctx.clipNorm} and noiseStd ${ctx.noiseStd} (see GET /v1/model)`,
    );
  const index = ctx.versionIndex(h.modelVersion);
  if (index === undefined) return reject(409, 'unknown_version', `model version ${h.modelVersion} was never published here`);
  const staleness = ctx.currentIndex - index;
  if (staleness > ctx.maxStaleness)
    return reject(
      409,
      'stale_version',
      `model version ${h.modelVersion} is ${staleness} versions old; at most ${ctx.maxStaleness} are accepted`,
    );
  // A report's seed is sealed to its round (the HPKE context): it can only be summed in that round.
  if (h.roundId !== String(ctx.openRound))
    return reject(409, 'round_closed', `a secure report must be for the open round ${ctx.openRound}, not ${h.roundId}`);
  if (ctx.hasNonce(h.reportId)) return reject(409, 'replayed_nonce', 'a report with this id was already received');
  return { ok: true, report, staleness };
}

/** The helper's part of the reports, in log order: what the leader relays. */
export function helperRequest(roundId: number, length: number, bits: ShareBits, reports: readonly SecureReport[]): AggregateRequest {
  return {
    roundId: String(roundId),
    length,
    bits,
    reports: reports.map((r) => ({ reportId: r.header.reportId, enc: toBase64Url(r.enc), ciphertext: toBase64Url(r.sealedSeed) })),
  };
}

/** The leader's sum of the leader shares of `reports` (mod 2^bits). */
export function leaderSum(reports: readonly SecureReport[], length: number, bits: ShareBits): Uint32Array {
  const sum = new Uint32Array(length);
  for (const r of reports) addShare(sum, r.leaderShare, bits);
  return sum;
}

/** The ids the helper accepted, checked against those sent: all known, none twice, enough, not too many. */
export function acceptedIds(
  sent: ReadonlySet<string>,
  answer: AggregateResponse,
  o: { roundId: number; bits: ShareBits; minCohort: number },
): string[] {
  if (answer.roundId !== String(o.roundId)) throw new Error(`the helper answered for round ${answer.roundId}, not ${o.roundId}`);
  if (answer.accepted.some((id) => !sent.has(id)) || new Set(answer.accepted).size !== answer.accepted.length)
    throw new Error('the helper accepted a report the leader did not send');
  const n = answer.accepted.length;
  if (n < o.minCohort) throw new Error(`${n} reports summed, fewer than the minimum cohort ${o.minCohort}`);
  if (n > maxCohortFor(o.bits)) throw new Error(`${n} reports overflow a sum mod 2^${o.bits}`);
  return answer.accepted;
}

/**
 * The round's sum of updates: the leader's sum over exactly the reports the helper accepted,
 * recombined with the helper's, times the step. Throws when the sum is out of the range
 * `summed` honest devices can produce (|Σ code| ≤ 127·n per value): without range proofs this
 * is the one check of the devices' inputs; a wrap-around or a device that sent values outside
 * int8 shows here, one that stays within int8 does not.
 */
export function combine(
  leader: Uint32Array,
  answer: AggregateResponse,
  o: { length: number; bits: ShareBits; step: number; summed: number },
): Float64Array {
  const helper = decodeShare(Buffer.from(answer.sum, 'base64url'), o.length, o.bits);
  const codes = recombine(leader, helper, o.bits);
  const limit = MAX_CODE * o.summed;
  const sum = new Float64Array(o.length);
  for (let i = 0; i < o.length; i++) {
    const c = codes[i]!;
    if (c > limit || c < -limit)
      throw new Error(`value ${i} of the sum is ${c}, outside ±${limit} (127 × ${o.summed} reports): a device sent values outside int8`);
    sum[i] = c * o.step;
  }
  return sum;
}
