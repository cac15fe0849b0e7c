/**
 * The participation-token exchange in a Worker of its own (`edge-personalize.tokens-worker.js`),
 * started by the SDK's Worker for one token and ended after it. The token code (blind RSA,
 * ASN.1, ~115 KB) takes ~40-80 ms to evaluate on a slow machine, in one task that cannot be split:
 * run in the SDK's Worker, a rank asked meanwhile waited that long (see README, Limits). Here it
 * evaluates on another thread. Message in: `{ endpoint, issuer }`; out: `{ authorization }` or
 * `{ error: { name, message, status?, reason?, retryAfterSeconds? } }`.
 */
import { obtainToken, type ParticipationTokenError, type TokenIssuerParams } from './participationToken';

addEventListener('message', (e: MessageEvent<{ endpoint: string; issuer: TokenIssuerParams }>) => {
  obtainToken(e.data.endpoint, e.data.issuer).then(
    (authorization) => postMessage({ authorization }),
    (err: ParticipationTokenError) =>
      postMessage({
        error: {
          name: err?.name ?? 'Error',
          message: err?.message ?? String(err),
          status: err?.status,
          reason: err?.reason,
          retryAfterSeconds: err?.retryAfterSeconds,
        },
      }),
  );
});
