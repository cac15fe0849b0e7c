import { backoffMs, MAX_UPLOAD_LOG, type FederatedState } from '../federatedState';
import { SECURE_REPORT_CONTENT_TYPE, UPDATE_CONTENT_TYPE } from '../modelUpdate';
import type { ContributionResult } from './types';

/** Remembers that this device's update is in `roundId` (the newest {@link MAX_UPLOAD_LOG} rounds). */
function markContributed(state: FederatedState, roundId: string): void {
  state.contributedRounds = [...(state.contributedRounds ?? []), roundId].slice(-MAX_UPLOAD_LOG);
}

/**
 * Posts `state.pending` (if its backoff allows) to `POST {endpoint}/v1/updates` with its own
 * media type (an entry saved without one is a plain update), and records the outcome in `state`:
 * 202 logs the upload and clears it; a network error, 5xx or 429 keeps it with the next backoff;
 * any other answer is a refusal for good and drops it (the next round retrains). Only the body
 * and the participation token leave the device: no cookie, no Referer, nothing cached.
 */
export async function postPending(
  o: { endpoint: string; fetch: typeof fetch },
  state: FederatedState,
  now = Date.now(),
): Promise<ContributionResult> {
  const p = state.pending;
  if (!p) return { outcome: 'skipped', reason: 'nothing to upload' };
  if (now < p.nextAttemptAt) return { outcome: 'retry_later', reason: `next attempt in ${Math.ceil((p.nextAttemptAt - now) / 1000)} s` };
  const secure = p.contentType === SECURE_REPORT_CONTENT_TYPE;
  let res: Response | null = null;
  try {
    res = await o.fetch(`${o.endpoint}/v1/updates`, {
      method: 'POST',
      headers: {
        'Content-Type': secure ? SECURE_REPORT_CONTENT_TYPE : UPDATE_CONTENT_TYPE,
        ...(p.authorization ? { Authorization: p.authorization } : {}),
      },
      body: p.body as Uint8Array<ArrayBuffer>,
      credentials: 'omit',
      cache: 'no-store',
      // Nothing about the page either: no Referer (the Worker's URL is harmless, but say nothing).
      referrerPolicy: 'no-referrer',
    });
  } catch {
    res = null;
  }
  if (res && res.status === 202) {
    state.pending = null;
    markContributed(state, p.roundId);
    state.uploads.push({
      at: Date.now(),
      modelVersion: p.modelVersion,
      roundId: p.roundId,
      bytes: p.body.length,
      clipNorm: p.clipNorm,
      noiseStd: p.noiseStd,
      noiseMultiplier: p.noiseMultiplier,
      epsilon: null,
      ...(secure ? { secureAggregation: true as const } : {}),
    });
    if (state.uploads.length > MAX_UPLOAD_LOG) state.uploads.shift();
    return { outcome: 'uploaded', reason: 'accepted', bytes: p.body.length, roundId: p.roundId };
  }
  if (!res || res.status >= 500 || res.status === 429) {
    p.attempts += 1;
    p.nextAttemptAt = now + backoffMs(p.attempts);
    return { outcome: 'retry_later', reason: res ? `HTTP ${res.status}` : 'network error', roundId: p.roundId };
  }
  // Refused for good (stale version, closed round, bad update): drop it; the next round retrains.
  state.pending = null;
  let reason = `HTTP ${res.status}`;
  try {
    reason = ((await res.json()) as { reason?: string }).reason ?? reason;
  } catch {
    /* no JSON body */
  }
  // An earlier attempt was stored although its answer was lost: the round has this device's update.
  if (reason === 'replayed_nonce' || reason === 'token_spent') markContributed(state, p.roundId);
  return { outcome: 'rejected', reason, roundId: p.roundId };
}
