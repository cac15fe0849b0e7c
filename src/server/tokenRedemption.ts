import { constants, createHash, verify as verifySignature } from 'node:crypto';
import { Token, TOKEN_TYPES, WWWAuthenticateHeader } from '@cloudflare/privacypass-ts';
import { challengeFromContext, checkIssuerName, fromBase64Url, roundContextMessage } from '../federated/participationChallenge';
import type { TokenIssuerKey } from './tokenIssuerKey';

/** Why a token was refused. */
export type TokenRedeemReason = 'token_missing' | 'token_invalid' | 'token_wrong_round' | 'token_spent';

/** The outcome of `TokenRedeemer.redeem`. */
export type TokenRedemption =
  /** `tokenId`: hex of the token's 32-byte nonce; store it with the update and refuse it a second time. */
  { ok: true; tokenId: string } | { ok: false; status: 401 | 409; reason: TokenRedeemReason; message: string };

/** Whether a token id was already used (by an accepted update, in memory or on disk). */
export type IsSpent = (tokenId: string) => boolean;

/** Token type 2: token_type (2), nonce (32), challenge_digest (32), token_key_id (Nid = 32), authenticator (Nk = 256). */
const TOKEN_BYTES = 2 + 32 + 32 + TOKEN_TYPES.BLIND_RSA.Nid + TOKEN_TYPES.BLIND_RSA.Nk;
/** RFC 9578 §6: RSABSSA-SHA384-PSS-Deterministic, salt length 48. */
const SALT_BYTES = 48;

/**
 * `PrivateToken token="…"` or `PrivateToken token=…` (RFC 9577 §2.2; the scheme is
 * case-insensitive; `token` is the only parameter this token type has).
 */
const AUTHORIZATION = /^\s*privatetoken\s+token\s*=\s*(?:"([A-Za-z0-9_-]+={0,2})"|([A-Za-z0-9_-]+={0,2}))\s*$/i;

/**
 * Checks the participation token an update carries in its `Authorization` header: a genuine
 * token type 2 token under this server's issuer key (RFC 9578 §6.4), for the round the update
 * claims, not used before. Needs only the public key, so the issuer may run elsewhere (e.g. in
 * the shop's backend). The token is parsed by the Privacy Pass library; its RSA-PSS signature
 * is checked by OpenSSL (`node:crypto.verify`), which keeps `redeem` synchronous: the caller can
 * check `isSpent`, accept the update and record its token id in one step, with no other request
 * in between.
 */
export class TokenRedeemer {
  private readonly digests = new Map<string, Uint8Array>();

  constructor(
    private readonly key: Pick<TokenIssuerKey, 'tokenKeyId' | 'publicKeyObject' | 'publicKeyBytes'>,
    private readonly issuerName: string,
  ) {
    checkIssuerName(issuerName);
  }

  /**
   * Redeems `authorization` (the request's `Authorization` header value) for round `roundId`:
   * `token_missing` (401) without a PrivateToken credential; `token_invalid` (401) for a bad
   * encoding, another key or a bad signature; `token_wrong_round` (401) for a genuine token of
   * another round or issuer name; `token_spent` (409) when `isSpent(tokenId)` says so.
   *
   * Synchronous: the caller must record the token id (e.g. in `RoundManager.accept`) before it
   * awaits anything, else two requests with one token could both pass `isSpent`.
   */
  redeem(authorization: string | undefined, roundId: string, isSpent: IsSpent): TokenRedemption {
    if (authorization === undefined || !/^\s*privatetoken(\s|$)/i.test(authorization)) {
      return {
        ok: false,
        status: 401,
        reason: 'token_missing',
        message: 'this update needs a participation token: Authorization: PrivateToken token="…"',
      };
    }
    const m = AUTHORIZATION.exec(authorization);
    const bytes = m ? fromBase64Url((m[1] ?? m[2])!) : null;
    if (!bytes || bytes.length !== TOKEN_BYTES)
      return invalid(`the PrivateToken credential is not a base64url token of ${TOKEN_BYTES} bytes`);
    let token: Token;
    try {
      token = Token.deserialize(TOKEN_TYPES.BLIND_RSA, bytes);
    } catch (err) {
      return invalid(`not a token type 2 token: ${(err as Error).message}`);
    }
    if (!equalBytes(token.authInput.tokenKeyId, this.key.tokenKeyId))
      return invalid("the token was issued under another key than this server's");
    const signed = verifySignature(
      'sha384',
      token.authInput.serialize(),
      { key: this.key.publicKeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT_BYTES },
      token.authenticator,
    );
    if (!signed) return invalid('the token signature does not verify');
    const digest = typeof roundId === 'string' && roundId !== '' ? this.digest(roundId) : null;
    if (!digest || !equalBytes(token.authInput.challengeDigest, digest)) {
      return {
        ok: false,
        status: 401,
        reason: 'token_wrong_round',
        message: `the token is not for round ${roundId} of issuer ${this.issuerName}`,
      };
    }
    const tokenId = Buffer.from(token.authInput.nonce).toString('hex');
    if (isSpent(tokenId)) return { ok: false, status: 409, reason: 'token_spent', message: 'this token was already used' };
    return { ok: true, tokenId };
  }

  /**
   * The `WWW-Authenticate` value to send with a 401 (RFC 9577 §2.1): the round's challenge and
   * the issuer key, so a client can tell what to fetch.
   */
  challengeHeader(roundId: string): string {
    return new WWWAuthenticateHeader(this.challenge(roundId), this.key.publicKeyBytes).toString(true);
  }

  private challenge(roundId: string) {
    const context = createHash('sha256').update(roundContextMessage(this.issuerName, roundId)).digest();
    return challengeFromContext(this.issuerName, context);
  }

  /** The challenge digest of a round, computed once per round (the last few are kept). */
  private digest(roundId: string): Uint8Array {
    let d = this.digests.get(roundId);
    if (!d) {
      d = new Uint8Array(createHash('sha256').update(this.challenge(roundId).serialize()).digest());
      this.digests.set(roundId, d);
      if (this.digests.size > 8) this.digests.delete(this.digests.keys().next().value!);
    }
    return d;
  }
}

function invalid(message: string): TokenRedemption {
  return { ok: false, status: 401, reason: 'token_invalid', message };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
