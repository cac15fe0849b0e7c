import type { FederatedState } from '../federatedState';
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
    const inWorker = ownWorker ? tokenInWorker(endpoint, issuer) : null;
    const got = inWorker ? await inWorker : null;
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
 * Runs the token exchange in `edge-personalize.tokens-worker.js` beside this chunk. Null when no
 * such Worker can start here (no nested Workers, a CSP, the SDK served from another origin) or it
 * fails to load: the caller then runs the exchange itself. Rejects with the exchange's own error.
 */
function tokenInWorker(endpoint: string, issuer: Record<string, unknown>): Promise<string | null> | null {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./edge-personalize.tokens-worker.js', import.meta.url), {
      type: 'module',
      name: 'edge-personalize-tokens',
    });
  } catch {
    return null;
  }
  return new Promise<string | null>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      worker.terminate();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the token Worker did not answer within 60 s'));
    }, 60_000);
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      done();
      resolve(null); // could not load (blocked, missing): the exchange runs in this Worker
    });
    worker.addEventListener('message', (e: MessageEvent<{ authorization?: string; error?: Record<string, unknown> }>) => {
      done();
      if (typeof e.data.authorization === 'string') return resolve(e.data.authorization);
      const { name, message, ...extra } = e.data.error ?? {};
      reject(Object.assign(new Error(String(message ?? 'the token exchange failed')), { name: String(name ?? 'Error') }, extra));
    });
    worker.postMessage({ endpoint, issuer });
  });
}
