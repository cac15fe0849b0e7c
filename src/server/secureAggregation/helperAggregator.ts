import { createHash } from 'node:crypto';
import { addShare, encodeShare, expandSeed, maxCohortFor, type ShareBits } from '../../federated/secureAggregation/additiveShares';
import { openSeed, reportContext } from '../../federated/secureAggregation/helperEncryption';
import type { HelperStore } from './helperStore';

/** One report's part for the helper, as the leader relays it. */
export interface HelperReport {
  reportId: string;
  /** HPKE encapsulated key, base64url. */
  enc: string;
  /** The sealed seed, base64url. */
  ciphertext: string;
}

/** The leader's request: sum these reports of this round. */
export interface AggregateRequest {
  roundId: string;
  /** Values per report. */
  length: number;
  bits: ShareBits;
  reports: HelperReport[];
}

export interface AggregateResponse {
  roundId: string;
  /** The helper's sum over the accepted reports, `bits/8` bytes per value, base64url. */
  sum: string;
  accepted: string[];
  /** Reports whose seed did not open (sealed for another key, round or report, or altered). */
  rejected: Array<{ reportId: string; reason: string }>;
}

/** A refused aggregation: nothing was summed or remembered. */
export class AggregateRefused extends Error {
  override name = 'AggregateRefused';
  constructor(
    readonly reason: 'bad_request' | 'cohort_too_small' | 'report_reused' | 'round_reused',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The helper: the second of the two aggregators. It holds the HPKE private key the devices seal
 * their share seeds to, and answers the leader's request for a round with its share of the sum,
 * never with anything about one report. What keeps the leader from learning one device's update
 * through the helper:
 * - a minimum cohort: fewer than `minCohort` reports that open are refused;
 * - each report at most once, across all aggregations (two overlapping sums would reveal the
 *   difference), and each round once;
 * - the same request again (a leader that crashed after asking) gets the same answer, from the
 *   store, so a crash never strands a round.
 * The store is written before the answer leaves.
 */
export class HelperAggregator {
  constructor(private readonly _o: { privateKey: Uint8Array; store: HelperStore; minCohort: number; maxCohort: number }) {
    if (_o.minCohort < 2 || _o.minCohort > _o.maxCohort) throw new RangeError('need 2 ≤ minCohort ≤ maxCohort');
  }

  async aggregate(request: AggregateRequest): Promise<AggregateResponse> {
    checkRequest(request, this._o.maxCohort);
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const answers = this._o.store.answers();
    const same = answers.find((a) => a.requestHash === requestHash);
    if (same) return same.response as AggregateResponse;
    if (answers.some((a) => a.roundId === request.roundId)) {
      throw new AggregateRefused('round_reused', `round ${request.roundId} was aggregated already, with other reports`);
    }
    const used = new Set(answers.flatMap((a) => a.reportIds));
    const reused = request.reports.find((r) => used.has(r.reportId));
    if (reused) throw new AggregateRefused('report_reused', `report ${reused.reportId} was summed in an earlier aggregation`);

    const sum = new Uint32Array(request.length);
    const accepted: string[] = [];
    const rejected: AggregateResponse['rejected'] = [];
    for (const r of request.reports) {
      const context = reportContext(request.roundId, r.reportId);
      let seed: Uint8Array;
      try {
        seed = await openSeed(
          this._o.privateKey,
          { enc: Buffer.from(r.enc, 'base64url'), ciphertext: Buffer.from(r.ciphertext, 'base64url') },
          context,
        );
        addShare(sum, expandSeed(seed, context, request.length, request.bits), request.bits);
      } catch (err) {
        rejected.push({ reportId: r.reportId, reason: `seed does not open: ${(err as Error).message}` });
        continue;
      }
      accepted.push(r.reportId);
    }
    if (accepted.length < this._o.minCohort) {
      throw new AggregateRefused(
        'cohort_too_small',
        `${accepted.length} reports open, fewer than the minimum cohort of ${this._o.minCohort}`,
      );
    }
    const response: AggregateResponse = {
      roundId: request.roundId,
      sum: Buffer.from(encodeShare(sum, request.bits)).toString('base64url'),
      accepted,
      rejected,
    };
    this._o.store.record({ roundId: request.roundId, requestHash, reportIds: request.reports.map((r) => r.reportId), response });
    return response;
  }
}

function checkRequest(r: AggregateRequest, maxCohort: number): void {
  const bad = (why: string): never => {
    throw new AggregateRefused('bad_request', why);
  };
  if (!r || typeof r.roundId !== 'string' || !/^[1-9]\d{0,15}$/.test(r.roundId)) bad('roundId must be a round number');
  if (!Number.isInteger(r.length) || r.length < 1 || r.length > 1 << 22) bad('length must be a positive integer');
  if (r.bits !== 16 && r.bits !== 24 && r.bits !== 32) bad('bits must be 16, 24 or 32');
  if (!Array.isArray(r.reports)) bad('reports must be a list');
  if (r.reports.length > maxCohort || r.reports.length > maxCohortFor(r.bits)) {
    bad(`${r.reports.length} reports: more than the cohort a sum mod 2^${r.bits} (or this helper) allows`);
  }
  const ids = new Set<string>();
  for (const x of r.reports) {
    if (!x || typeof x.reportId !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(x.reportId))
      bad('every report needs a reportId (16-64 base64url characters)');
    if (ids.has(x.reportId)) bad(`report ${x.reportId} is listed twice`);
    ids.add(x.reportId);
    if (typeof x.enc !== 'string' || typeof x.ciphertext !== 'string')
      bad(`report ${x.reportId}: enc and ciphertext must be base64url strings`);
  }
}
