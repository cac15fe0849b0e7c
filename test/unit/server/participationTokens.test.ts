import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash, createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicVerif, Token, TOKEN_TYPES, WWWAuthenticateHeader } from '@cloudflare/privacypass-ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, roundTokenChallenge, toBase64Url } from '../../../src/federated/participationChallenge';
import { obtainToken, ParticipationTokenError, type TokenIssuerParams } from '../../../src/federated/participationToken';
import { addressUnit } from '../../../src/server/clientAddressKey';
import {
  openParticipationTokens,
  TOKEN_REQUEST_CONTENT_TYPE,
  TOKEN_RESPONSE_CONTENT_TYPE,
  type ParticipationTokens,
} from '../../../src/server/participationTokens';
import { TOKEN_KEY_FILE } from '../../../src/server/tokenIssuerKey';
import { DataDirError } from '../../../src/server/updateStore';

const ISSUER = 'shop.example';
const ENDPOINT = 'https://shop.example/fl';

interface Seen {
  url: URL;
  init: RequestInit;
  request: Uint8Array;
  response?: Uint8Array;
}

/** A `fetch` that hands the request to `tokens.issue` as the server would (client address, open round). */
function issuerFetch(tokens: ParticipationTokens, openRound: string, address: string, seen: Seen[] = []): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Uint8Array(init!.body as Uint8Array);
    const entry: Seen = { url: new URL(String(input)), init: init!, request };
    seen.push(entry);
    const r = tokens.issue(request, address, openRound);
    if (!r.ok) {
      return new Response(JSON.stringify({ reason: r.reason, message: r.message }), {
        status: r.status,
        headers: { 'Content-Type': 'application/json', ...(r.status === 429 ? { 'Retry-After': '120' } : {}) },
      });
    }
    entry.response = r.response;
    return new Response(r.response as Uint8Array<ArrayBuffer>, { status: 200, headers: { 'Content-Type': TOKEN_RESPONSE_CONTENT_TYPE } });
  }) as typeof fetch;
}

const infoFor = (tokens: ParticipationTokens, roundId: string): TokenIssuerParams => ({
  issuerName: tokens.info().issuerName,
  publicKey: tokens.info().publicKey,
  roundId,
});

/** Token bytes of an `Authorization` value made by `obtainToken`. */
function tokenBytes(header: string): Uint8Array {
  const m = /^PrivateToken token="([A-Za-z0-9_-]+)"$/.exec(header);
  expect(m, header).not.toBeNull();
  return fromBase64Url(m![1]!)!;
}
const headerOf = (bytes: Uint8Array): string => `PrivateToken token="${toBase64Url(bytes)}"`;
const neverSpent = (): boolean => false;

/** The TokenRequest bytes a device would send for `roundId`, without any issuer answering. */
async function captureRequest(tokens: ParticipationTokens, roundId: string): Promise<Uint8Array> {
  let body: Uint8Array | null = null;
  const capture = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    body = new Uint8Array(init!.body as Uint8Array);
    return new Response(null, { status: 503 });
  }) as typeof fetch;
  await obtainToken(ENDPOINT, infoFor(tokens, roundId), capture).catch(() => undefined);
  return body!;
}

/** Whether `a` and `b` share any run of `n` bytes. */
function shareRun(a: Uint8Array, b: Uint8Array, n: number): boolean {
  const runs = new Set<string>();
  for (let i = 0; i + n <= a.length; i++) runs.add(Buffer.from(a.subarray(i, i + n)).toString('hex'));
  for (let i = 0; i + n <= b.length; i++) if (runs.has(Buffer.from(b.subarray(i, i + n)).toString('hex'))) return true;
  return false;
}

async function expectTokenError(p: Promise<unknown>, name: string): Promise<ParticipationTokenError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParticipationTokenError);
  expect((err as Error).name, (err as Error).message).toBe(name);
  return err as ParticipationTokenError;
}

describe('participation tokens (Privacy Pass, RFC 9578 token type 2)', () => {
  let dirA: string;
  let a: ParticipationTokens;
  let b: ParticipationTokens;
  beforeAll(() => {
    dirA = mkdtempSync(join(tmpdir(), 'fl-tokens-a-'));
    a = openParticipationTokens(dirA, { issuerName: ISSUER });
    b = openParticipationTokens(mkdtempSync(join(tmpdir(), 'fl-tokens-b-')), { issuerName: ISSUER });
  });

  it('round trip: the device obtains a token through POST /v1/tokens and the server redeems it for that round', async () => {
    const seen: Seen[] = [];
    const header = await obtainToken(ENDPOINT, infoFor(a, '3'), issuerFetch(a, '3', '198.51.100.1', seen));
    expect(header).toMatch(/^PrivateToken token="[A-Za-z0-9_-]+"$/);
    expect(seen).toHaveLength(1);
    const { url, init } = seen[0]!;
    expect(url.pathname).toBe('/fl/v1/tokens');
    expect(url.searchParams.get('round')).toBe('3');
    expect(init).toMatchObject({ method: 'POST', credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store' });
    expect(new Headers(init.headers).get('content-type')).toBe(TOKEN_REQUEST_CONTENT_TYPE);

    const r = a.redeem(header, '3', neverSpent);
    expect(r).toEqual({ ok: true, tokenId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The token id is the token's nonce, and the library's own issuer accepts the token.
    const token = Token.deserialize(TOKEN_TYPES.BLIND_RSA, tokenBytes(header));
    expect(r.ok && r.tokenId).toBe(Buffer.from(token.authInput.nonce).toString('hex'));
    const pair = await libraryKeyPair(dirA);
    expect(await new publicVerif.Issuer(publicVerif.BlindRSAMode.PSS, ISSUER, pair.privateKey, pair.publicKey).verify(token)).toBe(true);
  });

  it("the OpenSSL blind signature is byte-identical to the library's RSABSSA BlindSign", async () => {
    const seen: Seen[] = [];
    await obtainToken(ENDPOINT, infoFor(a, '30'), issuerFetch(a, '30', '198.51.100.30', seen));
    const pair = await libraryKeyPair(dirA);
    const libraryIssuer = new publicVerif.Issuer(publicVerif.BlindRSAMode.PSS, ISSUER, pair.privateKey, pair.publicKey);
    const request = publicVerif.TokenRequest.deserialize(TOKEN_TYPES.BLIND_RSA, seen[0]!.request);
    const expected = (await libraryIssuer.issue(request)).serialize();
    expect(Buffer.from(seen[0]!.response!).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(await libraryIssuer.tokenKeyID()).toString('hex')).toBe(a.info().tokenKeyId);
  });

  it('a second redemption of the same token is refused (token_spent, via the caller’s isSpent)', async () => {
    const header = await obtainToken(ENDPOINT, infoFor(a, '3'), issuerFetch(a, '3', '198.51.100.2'));
    const spent = new Set<string>();
    const asked: string[] = [];
    const isSpent = (id: string): boolean => {
      asked.push(id);
      return spent.has(id);
    };
    const first = a.redeem(header, '3', isSpent);
    expect(first.ok).toBe(true);
    if (first.ok) spent.add(first.tokenId);
    const second = a.redeem(header, '3', isSpent);
    expect(second).toMatchObject({ ok: false, status: 409, reason: 'token_spent' });
    expect(asked).toEqual([...spent, ...spent]);
  });

  it('a token of round 3 fails for round 4 (token_wrong_round) and still redeems for round 3', async () => {
    const header = await obtainToken(ENDPOINT, infoFor(a, '3'), issuerFetch(a, '3', '198.51.100.3'));
    expect(a.redeem(header, '4', neverSpent)).toMatchObject({ ok: false, status: 401, reason: 'token_wrong_round' });
    expect(a.redeem(header, '33', neverSpent)).toMatchObject({ reason: 'token_wrong_round' });
    expect(a.redeem(header, '', neverSpent)).toMatchObject({ reason: 'token_wrong_round' });
    expect(a.redeem(header, '3', neverSpent).ok).toBe(true);
    // The issuer name is part of the challenge: same key, another name, no redemption.
    const other = openParticipationTokens(dirA, { issuerName: 'other.example' });
    expect(other.info().tokenKeyId).toBe(a.info().tokenKeyId);
    expect(other.redeem(header, '3', neverSpent)).toMatchObject({ reason: 'token_wrong_round' });
  });

  it('a token signed by another issuer key, or altered after signing, fails (token_invalid)', async () => {
    expect(b.info().tokenKeyId).not.toBe(a.info().tokenKeyId);
    const fromB = await obtainToken(ENDPOINT, infoFor(b, '3'), issuerFetch(b, '3', '198.51.100.4'));
    expect(b.redeem(fromB, '3', neverSpent).ok).toBe(true);
    expect(a.redeem(fromB, '3', neverSpent)).toMatchObject({ ok: false, status: 401, reason: 'token_invalid' });

    const good = tokenBytes(await obtainToken(ENDPOINT, infoFor(a, '3'), issuerFetch(a, '3', '198.51.100.5')));
    expect(a.redeem(headerOf(good), '3', neverSpent).ok).toBe(true);
    // B's signature over a token that names A's key: the key id matches, the signature does not.
    const forged = good.slice();
    forged.set(tokenBytes(fromB).subarray(98), 98);
    expect(a.redeem(headerOf(forged), '3', neverSpent)).toMatchObject({
      reason: 'token_invalid',
      message: expect.stringContaining('signature'),
    });
    for (const at of [2, 40, 80, 200, good.length - 1]) {
      const altered = good.slice();
      altered[at]! ^= 1;
      // The signature is checked before the round, so an altered challenge digest is invalid too.
      expect(a.redeem(headerOf(altered), '3', neverSpent), `byte ${at}`).toMatchObject({ ok: false, status: 401, reason: 'token_invalid' });
    }
  });

  it('garbage headers fail with the right reason', async () => {
    for (const h of [undefined, '', '   ', 'Bearer abc', 'Basic dXNlcjpwYXNz', 'PrivateTokens token="AAAA"']) {
      expect(a.redeem(h, '3', neverSpent), String(h)).toMatchObject({ ok: false, status: 401, reason: 'token_missing' });
    }
    const good = tokenBytes(await obtainToken(ENDPOINT, infoFor(a, '3'), issuerFetch(a, '3', '198.51.100.6')));
    const wrongType = good.slice();
    wrongType[1] = 1;
    const garbage = [
      'PrivateToken',
      'PrivateToken token=""',
      'PrivateToken token="!!!!"',
      'PrivateToken token="AAAA"',
      'PrivateToken token="A"',
      `PrivateToken token="${toBase64Url(good)}AA"`,
      `PrivateToken token="${toBase64Url(good.subarray(1))}"`,
      `PrivateToken token="${toBase64Url(new Uint8Array(good.length).fill(7))}"`,
      headerOf(wrongType),
      `PrivateToken token="${toBase64Url(good).slice(0, -1)}+"`,
      `PrivateToken challenge="${toBase64Url(good)}"`,
    ];
    for (const h of garbage)
      expect(a.redeem(h, '3', neverSpent), h.slice(0, 40)).toMatchObject({ ok: false, status: 401, reason: 'token_invalid' });
    // The same token, spelled as RFC 9577 allows: unquoted, any case of the scheme.
    expect(a.redeem(`privatetoken token=${toBase64Url(good)}`, '3', neverSpent).ok).toBe(true);
  });

  it('the per-address allowance: one token per address and round, reset by a new round, other addresses unaffected', async () => {
    const t = openParticipationTokens(dirA, { issuerName: ISSUER });
    const req = (roundId: string) => captureRequest(t, roundId);
    const body5 = await req('5');
    expect(t.issue(body5, '203.0.113.9', '5').ok).toBe(true);
    expect(t.issue(body5, '203.0.113.9', '5')).toMatchObject({ ok: false, status: 429, reason: 'token_limit' });
    expect(t.issue(body5, '::ffff:203.0.113.9', '5')).toMatchObject({ reason: 'token_limit' });
    expect(t.issue(body5, '203.0.113.10', '5').ok).toBe(true);
    // One IPv6 /64 is one address; the next /64 is another.
    expect(t.issue(body5, '2001:db8:1:2::1', '5').ok).toBe(true);
    expect(t.issue(body5, '2001:db8:1:2:ffff:0:0:7', '5')).toMatchObject({ reason: 'token_limit' });
    expect(t.issue(body5, '2001:db8:1:3::1', '5').ok).toBe(true);
    // A new round forgets everything.
    expect(t.issue(await req('6'), '203.0.113.9', '6').ok).toBe(true);

    // Malformed requests are refused before they count.
    expect(t.issue(body5.subarray(1), '203.0.113.11', '6')).toMatchObject({ status: 400, reason: 'bad_token_request' });
    const wrongType = body5.slice();
    wrongType[1] = 1;
    expect(t.issue(wrongType, '203.0.113.11', '6')).toMatchObject({ status: 400, reason: 'bad_token_request' });
    const wrongKey = body5.slice();
    wrongKey[2]! ^= 0xff;
    expect(t.issue(wrongKey, '203.0.113.11', '6')).toMatchObject({ status: 400, reason: 'wrong_token_key' });
    const outOfRange = body5.slice();
    outOfRange.fill(0xff, 3);
    expect(t.issue(outOfRange, '203.0.113.11', '6')).toMatchObject({ status: 400, reason: 'bad_token_request' });
    expect(t.issue(body5, '203.0.113.11', '6').ok).toBe(true);

    // Through the client: the refusal is a named error carrying the reason and Retry-After.
    const fetchFn = issuerFetch(a, '7', '192.0.2.77');
    await obtainToken(ENDPOINT, infoFor(a, '7'), fetchFn);
    const err = await expectTokenError(obtainToken(ENDPOINT, infoFor(a, '7'), fetchFn), 'TokenRefusedError');
    expect(err).toMatchObject({ status: 429, reason: 'token_limit', retryAfterSeconds: 120 });
  });

  it('tokensPerAddressPerRound allows more than one', async () => {
    const t = openParticipationTokens(dirA, { issuerName: ISSUER, tokensPerAddressPerRound: 2 });
    const seen: Seen[] = [];
    await obtainToken(ENDPOINT, infoFor(t, '1'), issuerFetch(t, '1', '192.0.2.1', seen));
    await obtainToken(ENDPOINT, infoFor(t, '1'), issuerFetch(t, '1', '192.0.2.1', seen));
    expect(t.issue(seen[0]!.request, '192.0.2.1', '1')).toMatchObject({ reason: 'token_limit' });
    expect(() => openParticipationTokens(dirA, { issuerName: ISSUER, tokensPerAddressPerRound: 0 })).toThrow(RangeError);
    expect(() => openParticipationTokens(dirA, { issuerName: 'has space' })).toThrow(TypeError);
  });

  it('the key survives a restart: same key id, and tokens issued before still redeem', async () => {
    const before = await obtainToken(ENDPOINT, infoFor(a, '9'), issuerFetch(a, '9', '198.51.100.9'));
    const reopened = openParticipationTokens(dirA, { issuerName: ISSUER });
    expect(reopened.info()).toEqual(a.info());
    expect(reopened.redeem(before, '9', neverSpent).ok).toBe(true);

    const path = join(dirA, TOKEN_KEY_FILE);
    if (process.platform !== 'win32') {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      // A key file someone made readable to others is tightened again when the server opens it.
      chmodSync(path, 0o644);
      openParticipationTokens(dirA, { issuerName: ISSUER });
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    const info = a.info();
    expect(info.tokenType).toBe(2);
    expect(info.tokenKeyId).toBe(createHash('sha256').update(fromBase64Url(info.publicKey)!).digest('hex'));
    // RFC 9578 §6.5: the key is an SPKI naming RSASSA-PSS (OID 1.2.840.113549.1.1.10).
    expect(Buffer.from(fromBase64Url(info.publicKey)!).includes(Buffer.from('06092a864886f70d01010a', 'hex'))).toBe(true);

    const damaged = mkdtempSync(join(tmpdir(), 'fl-tokens-bad-'));
    writeFileSync(join(damaged, TOKEN_KEY_FILE), '{"format":"something else"}');
    expect(() => openParticipationTokens(damaged, { issuerName: ISSUER })).toThrow(DataDirError);
  });

  it('the issuer cannot link: the blinded request holds neither the token’s nonce nor its signature', async () => {
    const seen: Seen[] = [];
    const fetchFn = issuerFetch(a, '11', '198.51.100.11', seen);
    const t1 = tokenBytes(await obtainToken(ENDPOINT, infoFor(a, '11'), fetchFn));
    const t2 = tokenBytes(await obtainToken(ENDPOINT, infoFor(b, '11'), issuerFetch(b, '11', '198.51.100.11', seen)));
    const token = Token.deserialize(TOKEN_TYPES.BLIND_RSA, t1);
    const { request, response } = seen[0]!;
    // What the issuer saw (request and its own response) shares no 8-byte run with the token's
    // nonce or authenticator, so it cannot pick this token out of the updates later.
    for (const seenBytes of [request, response!]) {
      expect(shareRun(seenBytes, token.authInput.nonce, 8)).toBe(false);
      expect(shareRun(seenBytes, token.authenticator, 8)).toBe(false);
    }
    // The check itself can fail: the token does share runs with itself.
    expect(shareRun(t1, token.authenticator, 8)).toBe(true);
    // Each token gets a fresh nonce.
    expect(Buffer.from(Token.deserialize(TOKEN_TYPES.BLIND_RSA, t2).authInput.nonce).equals(Buffer.from(token.authInput.nonce))).toBe(
      false,
    );
  });

  it('the 401 challenge header names the round and the key (RFC 9577 §2.1), as the device builds it', async () => {
    const [h] = WWWAuthenticateHeader.parse(a.challengeHeader('12'));
    expect(h!.challenge.issuerName).toBe(ISSUER);
    expect(h!.challenge.redemptionContext).toHaveLength(32);
    expect(Buffer.from(h!.tokenKey).toString('base64url')).toBe(a.info().publicKey);
    const serialized = Buffer.from(h!.challenge.serialize());
    expect(serialized.equals(Buffer.from((await roundTokenChallenge(ISSUER, '12')).serialize()))).toBe(true);
    expect(serialized.equals(Buffer.from((await roundTokenChallenge(ISSUER, '13')).serialize()))).toBe(false);
  });

  it('obtainToken fails with named errors', async () => {
    const ok = issuerFetch(a, '20', '198.51.100.20');
    await expectTokenError(obtainToken(ENDPOINT, { ...infoFor(a, '20'), publicKey: 'not base64url!' }, ok), 'TokenConfigError');
    await expectTokenError(obtainToken(ENDPOINT, { ...infoFor(a, '20'), publicKey: 'AAAA' }, ok), 'TokenConfigError');
    await expectTokenError(obtainToken(ENDPOINT, { ...infoFor(a, '20'), issuerName: '' }, ok), 'TokenConfigError');
    await expectTokenError(obtainToken(ENDPOINT, { ...infoFor(a, '20'), tokenKeyId: b.info().tokenKeyId }, ok), 'TokenConfigError');
    expect(
      await obtainToken(ENDPOINT, { ...infoFor(a, '21'), tokenKeyId: a.info().tokenKeyId }, issuerFetch(a, '21', '198.51.100.21')),
    ).toMatch(/^PrivateToken /);

    const down = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    await expectTokenError(obtainToken(ENDPOINT, infoFor(a, '20'), down), 'TokenNetworkError');
    const answer = (body: Uint8Array | string, init: ResponseInit) => (async () => new Response(body as BodyInit, init)) as typeof fetch;
    await expectTokenError(obtainToken(ENDPOINT, infoFor(a, '20'), answer('oops', { status: 503 })), 'TokenRefusedError');
    await expectTokenError(obtainToken(ENDPOINT, infoFor(a, '20'), answer(new Uint8Array(255), { status: 200 })), 'TokenResponseError');
    await expectTokenError(
      obtainToken(ENDPOINT, infoFor(a, '20'), answer(new Uint8Array(256), { status: 200, headers: { 'Content-Type': 'text/html' } })),
      'TokenResponseError',
    );
    // A response signed with another key (B answering a request made for A's key) does not finalize.
    const crossed = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      const body = new Uint8Array(init!.body as Uint8Array);
      body[2] = b.key.tokenKeyId[31]!;
      const r = b.issue(body, '198.51.100.22', '20');
      return new Response((r.ok ? r.response : new Uint8Array(0)) as Uint8Array<ArrayBuffer>, {
        status: 200,
        headers: { 'Content-Type': TOKEN_RESPONSE_CONTENT_TYPE },
      });
    }) as typeof fetch;
    await expectTokenError(obtainToken(ENDPOINT, infoFor(a, '20'), crossed), 'TokenResponseError');
  });
});

describe('addressUnit', () => {
  it('counts IPv4, IPv4-mapped IPv6 as IPv4, and IPv6 per /64', () => {
    expect(addressUnit('192.0.2.1')).toBe('v4:192.0.2.1');
    expect(addressUnit('::ffff:192.0.2.1')).toBe('v4:192.0.2.1');
    expect(addressUnit('::ffff:c000:201')).toBe('v4:192.0.2.1');
    expect(addressUnit('2001:db8::1')).toBe(addressUnit('2001:0db8:0:0:ffff:1:2:3'));
    expect(addressUnit('2001:db8::1')).not.toBe(addressUnit('2001:db8:0:1::1'));
    expect(addressUnit('2001:db8::1%eth0')).toBe(addressUnit('2001:db8::2'));
    expect(addressUnit('2001:db8::1', 128)).not.toBe(addressUnit('2001:db8::2', 128));
    expect(addressUnit('::1')).toBe('v6:0/64');
    expect(addressUnit('unknown')).toBe('other:unknown');
  });
});

/** The issuer key as the library's WebCrypto keys (for cross-checks against its own issuer). */
async function libraryKeyPair(dataDir: string): Promise<CryptoKeyPair> {
  const file = JSON.parse(readFileSync(join(dataDir, TOKEN_KEY_FILE), 'utf8')) as { privateKey: string };
  const pkcs8 = createPrivateKey({ key: Buffer.from(file.privateKey, 'base64url'), format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'der',
  });
  const alg = { name: 'RSA-PSS', hash: 'SHA-384' };
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: jwk.kty!, n: jwk.n!, e: jwk.e! }, alg, true, ['verify']);
  return { privateKey, publicKey };
}
