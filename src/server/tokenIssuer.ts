import { constants, privateDecrypt, publicEncrypt } from 'node:crypto';
import { publicVerif, TOKEN_TYPES } from '@cloudflare/privacypass-ts';
import { checkIssuerName, PARTICIPATION_TOKEN_TYPE } from '../federated/participationChallenge';
import { AddressKeyer } from './clientAddressKey';
import type { TokenIssuerKey } from './tokenIssuerKey';

/** Why a token request was refused. */
export type TokenIssueReason = 'bad_token_request' | 'wrong_token_key' | 'token_limit' | 'signing_failure';

/** A refused token request: the HTTP status, a machine-readable reason and a sentence. */
export interface TokenIssueRefusal {
  ok: false;
  status: 400 | 429 | 500;
  reason: TokenIssueReason;
  message: string;
}

/** The outcome of `TokenIssuer.issue`: the TokenResponse body (`application/private-token-response`), or a refusal. */
export type TokenIssuance = { ok: true; response: Uint8Array } | TokenIssueRefusal;

/** Settings of the issuer. */
export interface TokenIssuerOptions {
  /** The issuer name in every challenge (a host name, e.g. the shop's); devices must use the same. */
  issuerName: string;
  /** Tokens one address may take per round (default 1). */
  tokensPerAddressPerRound?: number;
  /** IPv6 addresses count per prefix of this many bits (default 64, see `addressUnit`). */
  ipv6PrefixBits?: number;
}

/** What a client needs to know about the issuer: publish it (e.g. in `GET /v1/model` under `participation`). */
export interface TokenIssuerInfo {
  tokenType: number;
  issuerName: string;
  /** base64url of the RFC 9578 §6.5 public key encoding. */
  publicKey: string;
  /** Hex SHA-256 of that encoding (`token_key_id`): what a device may pin. */
  tokenKeyId: string;
}

/** TokenRequest for type 2: token_type (2 bytes), truncated_token_key_id (1), blinded_msg (Nk = 256). */
const REQUEST_BYTES = 3 + TOKEN_TYPES.BLIND_RSA.Nk;

/**
 * Issues participation tokens (RFC 9578 §6, token type 2) and bounds how many one client
 * address takes per round. Requests are blinded, so the issuer learns nothing it could match
 * to the token later shown with an update: only that this address asked for one in this round.
 *
 * The allowance counts are kept in memory only, keyed by an HMAC of the address (or IPv6 /64),
 * never logged or written, and all forgotten when the round changes.
 *
 * The blind signature itself (RSABSSA BlindSign, RFC 9474 §4.3: RSASP1, then the RSAVP1 check)
 * is OpenSSL's raw RSA through `node:crypto`; the token library's own signer is pure-JS
 * big-number code that takes ~200 ms on the event loop per token and is not constant-time,
 * which a network-facing signer must be. Everything else (formats, client, verification) is the
 * library's, and the tests check both signers give byte-identical signatures.
 */
export class TokenIssuer {
  private readonly issuerName: string;
  private readonly perRound: number;
  private readonly keyer: AddressKeyer;
  private round: string | null = null;
  private readonly taken = new Map<string, number>();

  constructor(
    private readonly key: TokenIssuerKey,
    options: TokenIssuerOptions,
  ) {
    checkIssuerName(options.issuerName);
    this.issuerName = options.issuerName;
    this.perRound = options.tokensPerAddressPerRound ?? 1;
    if (!Number.isInteger(this.perRound) || this.perRound < 1) throw new RangeError('tokensPerAddressPerRound must be a positive integer');
    this.keyer = new AddressKeyer(options.ipv6PrefixBits);
  }

  /** The public description of this issuer, for clients. */
  info(): TokenIssuerInfo {
    return {
      tokenType: PARTICIPATION_TOKEN_TYPE,
      issuerName: this.issuerName,
      publicKey: this.key.publicKey,
      tokenKeyId: this.key.tokenKeyIdHex,
    };
  }

  /**
   * Answers one TokenRequest (`body`, `application/private-token-request`) from `clientAddress`
   * while `roundId` is the open round. Refuses a malformed request or one for another key (400)
   * before counting it, and a request beyond the address's allowance for the round (429
   * `token_limit`). Synchronous, so two concurrent requests cannot both pass the allowance.
   */
  issue(body: Uint8Array, clientAddress: string, roundId: string): TokenIssuance {
    if (body.length !== REQUEST_BYTES)
      return refusal(400, 'bad_token_request', `a token request has ${REQUEST_BYTES} bytes, not ${body.length}`);
    let request: publicVerif.TokenRequest;
    try {
      request = publicVerif.TokenRequest.deserialize(TOKEN_TYPES.BLIND_RSA, body);
    } catch (err) {
      return refusal(400, 'bad_token_request', `not a token type ${PARTICIPATION_TOKEN_TYPE} request: ${(err as Error).message}`);
    }
    if (request.truncatedTokenKeyId !== this.key.tokenKeyId[this.key.tokenKeyId.length - 1]) {
      return refusal(400, 'wrong_token_key', "the request is for another issuer key; fetch the server's current key");
    }
    if (roundId !== this.round) {
      this.taken.clear();
      this.round = roundId;
    }
    const who = this.keyer.key(clientAddress);
    const count = this.taken.get(who) ?? 0;
    if (count >= this.perRound) {
      return refusal(
        429,
        'token_limit',
        `this address already took ${this.perRound === 1 ? 'its token' : `its ${this.perRound} tokens`} for round ${roundId}`,
      );
    }
    let signature: Buffer;
    try {
      signature = privateDecrypt({ key: this.key.privateKey, padding: constants.RSA_NO_PADDING }, request.blindedMsg);
    } catch {
      // OpenSSL refuses a blinded message that is not below the modulus.
      return refusal(400, 'bad_token_request', 'the blinded message is out of range for this key');
    }
    // RFC 9474 §4.3 steps 3-4: check the signature before it leaves (guards against faults).
    const check = publicEncrypt({ key: this.key.publicKeyObject, padding: constants.RSA_NO_PADDING }, signature);
    if (!check.equals(request.blindedMsg)) return refusal(500, 'signing_failure', 'the issuer could not sign; retry later');
    this.taken.set(who, count + 1);
    return { ok: true, response: new publicVerif.TokenResponse(new Uint8Array(signature)).serialize() };
  }

  /** Address units remembered for the open round (for tests and status). */
  addressesRemembered(): number {
    return this.taken.size;
  }
}

function refusal(status: TokenIssueRefusal['status'], reason: TokenIssueReason, message: string): TokenIssueRefusal {
  return { ok: false, status, reason, message };
}
