import { TokenIssuer, type TokenIssuance, type TokenIssuerInfo } from './tokenIssuer';
import { openTokenIssuerKey, type TokenIssuerKey } from './tokenIssuerKey';
import { TokenRedeemer, type IsSpent, type TokenRedemption } from './tokenRedemption';

export { TOKEN_REQUEST_CONTENT_TYPE, TOKEN_RESPONSE_CONTENT_TYPE } from '../federated/participationChallenge';
export type { TokenIssuance, TokenIssueReason, TokenIssueRefusal, TokenIssuerInfo } from './tokenIssuer';
export type { IsSpent, TokenRedemption, TokenRedeemReason } from './tokenRedemption';

/** Settings of the participation tokens. */
export interface ParticipationTokenOptions {
  /** The issuer name in every challenge: a host name, e.g. the shop's. Devices get it from `info()`. */
  issuerName: string;
  /** Tokens one client address (IPv4, or IPv6 /64) may take per round; default 1. */
  tokensPerAddressPerRound?: number;
  /** IPv6 prefix length counted as one address; default 64. */
  ipv6PrefixBits?: number;
}

/**
 * Participation bounds without identifying shoppers: anonymous, unlinkable per-round Privacy
 * Pass tokens (RFC 9576/9577/9578, token type 2, blind RSA). A device takes one token per round
 * (`issue`, bounded per client address) and shows it with its update (`redeem`); the issuer
 * cannot tell which token it signed, so the update stays unlinked to the token request.
 */
export interface ParticipationTokens {
  /** The issuer key (public parts are what clients see). */
  readonly key: TokenIssuerKey;
  /** `{ tokenType, issuerName, publicKey, tokenKeyId }`, for `GET /v1/model` (`participation`). */
  info(): TokenIssuerInfo;
  /** `POST /v1/tokens`: see `TokenIssuer.issue`. The address is kept in memory only, for the open round. */
  issue(body: Uint8Array, clientAddress: string, roundId: string): TokenIssuance;
  /**
   * Checks an update's `Authorization` header for the round it claims: see `TokenRedeemer.redeem`.
   * Synchronous, so that checking `isSpent` and recording the token id can be one step.
   */
  redeem(authorization: string | undefined, roundId: string, isSpent: IsSpent): TokenRedemption;
  /** The `WWW-Authenticate` value for a 401 about round `roundId`. */
  challengeHeader(roundId: string): string;
}

/**
 * Opens (or on first start creates) the issuer key in `dataDir` (`token-issuer.json`, mode
 * 0600) and returns the issuer and the redeemer over it. Synchronous, like the server's start;
 * throws `DataDirError` for a damaged key file and `TypeError`/`RangeError` for bad options.
 */
export function openParticipationTokens(dataDir: string, options: ParticipationTokenOptions): ParticipationTokens {
  const key = openTokenIssuerKey(dataDir);
  const issuer = new TokenIssuer(key, options);
  const redeemer = new TokenRedeemer(key, options.issuerName);
  return {
    key,
    info: () => issuer.info(),
    issue: (body, clientAddress, roundId) => issuer.issue(body, clientAddress, roundId),
    redeem: (authorization, roundId, isSpent) => redeemer.redeem(authorization, roundId, isSpent),
    challengeHeader: (roundId) => redeemer.challengeHeader(roundId),
  };
}
