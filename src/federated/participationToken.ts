// The two modules of the token library a type-2 client needs, not its index: the index also
// loads the type-1 (VOPRF) client with a second copy of sjcl, ~60 KB the Worker evaluated in one
// task (≥ 50 ms of a busy Worker at the first contribution, see README Limits).
import { AuthorizationHeader } from '@cloudflare/privacypass-ts/lib/src/auth_scheme/private_token.js';
import * as publicVerif from '@cloudflare/privacypass-ts/lib/src/pub_verif_token.js';
import { fromBase64Url, roundTokenChallenge, TOKEN_REQUEST_CONTENT_TYPE, TOKEN_RESPONSE_CONTENT_TYPE } from './participationChallenge';

/**
 * The device's side of participation tokens: one anonymous, unlinkable Privacy Pass token
 * (RFC 9578 token type 2, blind RSA) per round, shown with the update it allows. The issuer
 * signs a *blinded* message, so it cannot tell which of the tokens it signed a later update
 * carries; the token only proves "the issuer allowed one update in this round". Loaded lazily
 * in the Worker, only when the device contributes; runs in Node 20 too (WebCrypto, fetch).
 */

/** What the device needs to know about the issuer, from the server's `GET /v1/model` (`participation`). */
export interface TokenIssuerParams {
  /** The issuer's name (a host name), part of every challenge. */
  issuerName: string;
  /** The issuer's public key: base64url of its RSASSA-PSS SubjectPublicKeyInfo (RFC 9578 §6.5). */
  publicKey: string;
  /** The round the token is for: it will redeem for this round only. */
  roundId: string;
  /**
   * Optional pin: the hex SHA-256 of the public key the device expects (`token_key_id`). A
   * server that hands each device its own key could link tokens to devices (RFC 9576 §6.3, key
   * consistency); a device that pins the key, e.g. from the SDK's configuration, refuses that.
   */
  tokenKeyId?: string;
}

/** Why `obtainToken` failed; `err.name` says which kind. */
export type TokenErrorName =
  /** The issuer information cannot work (bad key encoding, wrong key id, bad name): retrying will not help. */
  | 'TokenConfigError'
  /** The issuer could not be reached. */
  | 'TokenNetworkError'
  /** The issuer answered with an error status (`status`, `reason`, maybe `retryAfterSeconds`), e.g. 429 `token_limit`. */
  | 'TokenRefusedError'
  /** The issuer's answer is not a valid signature for this request under its public key. */
  | 'TokenResponseError';

/** The one error type `obtainToken` throws. */
export class ParticipationTokenError extends Error {
  override readonly name: TokenErrorName;
  /** HTTP status, for `TokenRefusedError`. */
  readonly status?: number;
  /** The issuer's `reason`, for `TokenRefusedError` (e.g. `token_limit`). */
  readonly reason?: string;
  /** From `Retry-After`, for `TokenRefusedError`. */
  readonly retryAfterSeconds?: number;

  constructor(
    name: TokenErrorName,
    message: string,
    extra: { status?: number; reason?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = name;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.reason !== undefined) this.reason = extra.reason;
    if (extra.retryAfterSeconds !== undefined) this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** A blind-RSA signature is exactly the modulus length, 2048 bits (RFC 9578 §6: Nk = 256). */
const RESPONSE_BYTES = 256;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Obtains a participation token for `issuer.roundId` and returns the `Authorization` header
 * value to send with the update (`PrivateToken token="<base64url>"`, RFC 9577 §2.2).
 *
 * Builds the round's TokenChallenge itself, blinds a TokenRequest for it (fresh random nonce and
 * blinding factor, kept only in this call), POSTs it to `${endpoint}/v1/tokens?round=<id>`
 * without cookies, Referer or cache, and unblinds the response, which the library checks is a
 * valid signature under `issuer.publicKey` (so a misbehaving issuer cannot hand out a token that
 * will not redeem, or one that is tied to this request). Throws `ParticipationTokenError`.
 */
export async function obtainToken(
  endpoint: string,
  issuer: TokenIssuerParams,
  fetchFn: typeof fetch = (input, init) => fetch(input, init),
): Promise<string> {
  const publicKey = fromBase64Url(issuer.publicKey);
  if (!publicKey || publicKey.length === 0) throw new ParticipationTokenError('TokenConfigError', 'the issuer public key is not base64url');
  if (issuer.tokenKeyId !== undefined && (await sha256Hex(publicKey)) !== issuer.tokenKeyId.toLowerCase()) {
    throw new ParticipationTokenError('TokenConfigError', 'the issuer public key is not the pinned one (token key id differs)');
  }
  const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
  let requestBytes: Uint8Array;
  try {
    const challenge = await roundTokenChallenge(issuer.issuerName, issuer.roundId);
    requestBytes = (await client.createTokenRequest(challenge, publicKey)).serialize();
  } catch (err) {
    throw new ParticipationTokenError('TokenConfigError', `cannot build a token request: ${(err as Error).message}`, { cause: err });
  }

  const url = `${endpoint}/v1/tokens?round=${encodeURIComponent(issuer.roundId)}`;
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'Content-Type': TOKEN_REQUEST_CONTENT_TYPE, Accept: TOKEN_RESPONSE_CONTENT_TYPE },
      body: requestBytes as Uint8Array<ArrayBuffer>,
      // The token must not be linkable to the shopper: no cookie, no Referer, no cached answer.
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
    });
  } catch (err) {
    throw new ParticipationTokenError('TokenNetworkError', `cannot reach ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status !== 200) throw await refused(res);

  const type = res.headers.get('content-type');
  if (type !== null && type.split(';')[0]!.trim().toLowerCase() !== TOKEN_RESPONSE_CONTENT_TYPE) {
    throw new ParticipationTokenError('TokenResponseError', `the issuer answered ${type}, not ${TOKEN_RESPONSE_CONTENT_TYPE}`);
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new ParticipationTokenError('TokenNetworkError', `reading the token response failed: ${(err as Error).message}`, { cause: err });
  }
  if (body.length !== RESPONSE_BYTES)
    throw new ParticipationTokenError('TokenResponseError', `a token response has ${RESPONSE_BYTES} bytes, not ${body.length}`);
  try {
    const token = await client.finalize(client.deserializeTokenResponse(body));
    return new AuthorizationHeader(token).toString(true);
  } catch (err) {
    throw new ParticipationTokenError('TokenResponseError', `the token response is not a valid signature: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function refused(res: Response): Promise<ParticipationTokenError> {
  let reason: string | undefined;
  let message = `HTTP ${res.status}`;
  try {
    const j = (await res.json()) as { reason?: unknown; message?: unknown };
    if (typeof j.reason === 'string') reason = j.reason;
    if (typeof j.message === 'string') message = `HTTP ${res.status}: ${j.message}`;
  } catch {
    /* no JSON body */
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ParticipationTokenError('TokenRefusedError', message, {
    status: res.status,
    ...(reason === undefined ? {} : { reason }),
    ...(res.headers.has('retry-after') && Number.isFinite(retry) && retry >= 0 ? { retryAfterSeconds: retry } : {}),
  });
}
