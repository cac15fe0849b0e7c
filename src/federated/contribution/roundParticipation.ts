import type { FederatedState } from '../federatedState';
import { oneShotWorker } from './oneShotWorker';
import { secureUniform } from '../randomSource';
import type { ContributionResult } from './types';
import type { ServerModelInfo } from './serverModel';

/**
 * Whether this device takes part in the server's open round; null if it does, else why not.
 * At most once per round (the rounds it contributed to are remembered), and only if its draw for
 * the round came out: each device takes part with probability `round.samplingRate` (q), drawn
 * once per round and remembered in `state`, so a reload cannot draw again. The server's privacy
 * accounting (amplification by sampling) assumes exactly this; an honest device enforces it.
 */
export function roundParticipation(state: FederatedState, server: ServerModelInfo, uniform: () => number = secureUniform()): string | null {
  const round = server.round.id;
  if (state.contributedRounds?.includes(round)) return `already contributed to round ${round}`;
  if (state.roundDraw?.roundId !== round) {
    const q = server.round.samplingRate;
    const rate = typeof q === 'number' && q > 0 && q <= 1 ? q : 1;
    state.roundDraw = { roundId: round, join: rate >= 1 || uniform() < rate };
  }
  return state.roundDraw.join
    ? null
    : `not sampled for round ${round} (each device takes part with probability ${server.round.samplingRate})`;
}

/**
 * A participation token for the server's open round (Privacy Pass, see participationToken.ts;
 * its chunk is loaded only here): the `Authorization` value, or why not. A refusal for this round
 * (the address's allowance is taken, e.g. by another device behind the same NAT) skips the round;
 * a network failure is retried later.
 */
export async function participationAuthorization(
  endpoint: string,
  server: ServerModelInfo,
  fetchFn: typeof fetch,
  /** Whether to run the exchange in a Worker of its own (the browser's fetch only). */
  ownWorker: boolean,
): Promise<string | ContributionResult> {
  const p = server.participation!;
  const issuer = { issuerName: p.issuerName, publicKey: p.publicKey, tokenKeyId: p.tokenKeyId, roundId: server.round.id };
  try {
    // In a Worker of its own where the browser allows it (the token code's evaluation would hold
    // up this Worker's ranks), else here (and always with an injected fetch: the tests').
    const got = ownWorker ? await tokenInWorker(endpoint, issuer) : null;
    if (got !== null) return got;
    const { obtainToken } = await import('../participationToken');
    return await obtainToken(endpoint, issuer, fetchFn);
  } catch (err) {
    const e = err as Error & { status?: number; reason?: string };
    if (e.name === 'TokenRefusedError' && e.status !== undefined && e.status < 500) {
      return { outcome: 'skipped', reason: `no participation token for round ${server.round.id}: ${e.reason ?? e.message}` };
    }
    return { outcome: 'retry_later', reason: `participation token: ${e.message}` };
  }
}

/**
 * Runs the token exchange in `edge-personalize.tokens-worker.js` beside this chunk
 * ({@link oneShotWorker}): null when that Worker cannot start, and the caller runs the exchange
 * itself. Rejects with the exchange's own error.
 */
async function tokenInWorker(endpoint: string, issuer: Record<string, unknown>): Promise<string | null> {
  const url = new URL('./edge-personalize.tokens-worker.js', import.meta.url);
  const answer = await oneShotWorker<{ authorization: string }>(url, 'edge-personalize-tokens', { endpoint, issuer }, 60_000);
  return answer?.authorization ?? null;
}
