// Deep imports, not the library's index (it also loads the unused type-1 client: see participationToken.ts).
import { TokenChallenge } from '@cloudflare/privacypass-ts/lib/src/auth_scheme/private_token.js';
import { BLIND_RSA } from '@cloudflare/privacypass-ts/lib/src/pub_verif_token.js';

/** The token encoding (RFC 9577 uses base64url for keys and tokens), also imported from here by the server. */
export { fromBase64Url, toBase64Url } from './base64Url';

/**
 * What the device and the aggregation server must agree on, byte for byte, for a participation
 * token (Privacy Pass, RFC 9577/9578) to redeem: the token type, the media types and the
 * round-bound TokenChallenge. Shared by the device (`participationToken.ts`, in the Worker) and
 * the server (`src/server/tokenRedemption.ts`) so the two cannot drift apart. Browser-safe:
 * WebCrypto only, no Node built-ins.
 */

/**
 * Token type 2, "Blind RSA (2048-bit)" (RFC 9578 §6): publicly verifiable, so whoever redeems
 * tokens needs only the issuer's public key, and a shop can run the issuer in its own backend.
 */
export const PARTICIPATION_TOKEN_TYPE = BLIND_RSA.value;

/** Media type of a TokenRequest body (RFC 9578 §5.1, §8.3). */
export const TOKEN_REQUEST_CONTENT_TYPE = 'application/private-token-request';

/** Media type of a TokenResponse body (RFC 9578 §5.2, §8.3). */
export const TOKEN_RESPONSE_CONTENT_TYPE = 'application/private-token-response';

/** An issuer name is at most this long; RFC 9577 only caps it at 2^16-1 bytes, but it is a host name. */
const MAX_ISSUER_NAME = 255;

/**
 * Throws a `TypeError` unless `issuerName` is 1-255 printable ASCII characters (a host name,
 * RFC 9577 §2.1): the name is part of every challenge, so a typo must fail loudly, not produce
 * tokens that never redeem.
 */
export function checkIssuerName(issuerName: string): void {
  if (
    typeof issuerName !== 'string' ||
    issuerName.length === 0 ||
    issuerName.length > MAX_ISSUER_NAME ||
    !/^[\x21-\x7e]+$/.test(issuerName)
  ) {
    throw new TypeError(`issuer name must be 1-${MAX_ISSUER_NAME} printable ASCII characters without spaces`);
  }
}

/**
 * The message whose SHA-256 is round `roundId`'s 32-byte `redemption_context`: the UTF-8 JSON
 * text `["edge-personalize round", issuerName, roundId]` (JSON so that no issuer name and round
 * id can be spliced into another pair). A token carries the digest of its challenge, so a token
 * issued for round r redeems only for round r, and only under this issuer name.
 */
export function roundContextMessage(issuerName: string, roundId: string): Uint8Array {
  checkIssuerName(issuerName);
  if (typeof roundId !== 'string' || roundId.length === 0) throw new TypeError('round id must be a non-empty string');
  return new TextEncoder().encode(JSON.stringify(['edge-personalize round', issuerName, roundId]));
}

/**
 * The TokenChallenge (RFC 9577 §2.1) of a round, from its redemption context (SHA-256 of
 * `roundContextMessage`): token type 2, `issuerName`, no origin_info (the context already names
 * this protocol and issuer). `context` is copied, since the library serializes whole buffers.
 */
export function challengeFromContext(issuerName: string, context: Uint8Array): TokenChallenge {
  return new TokenChallenge(PARTICIPATION_TOKEN_TYPE, issuerName, new Uint8Array(context));
}

/**
 * The TokenChallenge for round `roundId`, hashed with WebCrypto (the device's side; the server
 * hashes the same message with `node:crypto`). The device builds it itself instead of receiving
 * it, so nothing per-device can be smuggled into it.
 */
export async function roundTokenChallenge(issuerName: string, roundId: string): Promise<TokenChallenge> {
  const message = roundContextMessage(issuerName, roundId) as Uint8Array<ArrayBuffer>;
  return challengeFromContext(issuerName, new Uint8Array(await crypto.subtle.digest('SHA-256', message)));
}
