import { AggregateRefused, type AggregateRequest, type AggregateResponse, type HelperAggregator } from './helperAggregator';
import { HELPER_PROTOCOL } from './helperServer';

/** What the leader asks of the helper: its share of a round's sum (see HelperAggregator). */
export interface HelperClient {
  /**
   * Resolves with the helper's answer; rejects with {@link HelperRefusal} when the helper refused
   * the request for good (a 4xx: the round must be abandoned), or with any other error when it
   * could not be asked (network, 5xx, timeout: the leader asks again later, the same request).
   */
  aggregate(request: AggregateRequest): Promise<AggregateResponse>;
}

/** The helper's answer to `GET /v1/helper`. */
export interface HelperInfo {
  protocol: string;
  publicKey: string;
  minCohort: number;
  maxCohort: number;
}

/** The helper refused an aggregation (its `error` reason and message): asking again cannot help. */
export class HelperRefusal extends Error {
  override name = 'HelperRefusal';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the helper's key and cohort bounds (`GET <helperUrl>/v1/helper`), retrying for up to
 * `waitMs` while it starts (the demo starts both processes at once). Throws with what failed.
 */
export async function fetchHelperInfo(helperUrl: string, waitMs = 15_000): Promise<HelperInfo> {
  const url = `${helperUrl.replace(/\/+$/, '')}/v1/helper`;
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const info = (await res.json()) as HelperInfo;
      if (info.protocol !== HELPER_PROTOCOL) throw new Error(`the helper speaks ${String(info.protocol)}, not ${HELPER_PROTOCOL}`);
      if (typeof info.publicKey !== 'string' || !Number.isInteger(info.minCohort) || !Number.isInteger(info.maxCohort))
        throw new Error('the answer lacks publicKey, minCohort or maxCohort');
      return info;
    } catch (err) {
      if (Date.now() >= until) throw new Error(`cannot read the helper at ${url}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The helper over HTTP (`POST <helperUrl>/v1/helper/aggregate` with the leader's bearer secret). */
export function httpHelperClient(helperUrl: string, leaderToken: string, timeoutMs = 60_000): HelperClient {
  const url = `${helperUrl.replace(/\/+$/, '')}/v1/helper/aggregate`;
  return {
    async aggregate(request) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${leaderToken}` },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await res.json().catch(() => null)) as (AggregateResponse & { error?: string; message?: string }) | null;
      if (res.status === 200 && body) return body;
      // 401 is the leader's misconfiguration, not the round's: ask again once it is fixed.
      if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 429)
        throw new HelperRefusal(body?.error ?? `http_${res.status}`, body?.message ?? `HTTP ${res.status}`);
      throw new Error(`the helper answered HTTP ${res.status}${body?.message ? `: ${body.message}` : ''}`);
    },
  };
}

/**
 * A helper in the same process (the e2e fixture server, benches, tests), answering as it would
 * over HTTP: its refusals as {@link HelperRefusal}. Not for a shop: the promise needs the helper
 * run by another party.
 */
export function localHelperClient(helper: Pick<HelperAggregator, 'aggregate'>): HelperClient {
  return {
    aggregate: (request) =>
      helper.aggregate(request).catch((err: unknown) => {
        throw err instanceof AggregateRefused ? new HelperRefusal(err.reason, err.message) : err;
      }),
  };
}
