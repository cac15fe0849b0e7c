import { afterEach, describe, expect, it } from 'vitest';
import { UPDATE_CONTENT_TYPE } from '../../../src/federated/modelUpdate';
import { obtainToken } from '../../../src/federated/participationToken';
import { startServer, type Harness } from './serverHarness';
import { makeUpdate } from './updateFixtures';

/** The server with participation tokens on (the default), as devices meet it. */
const servers: Harness[] = [];
afterEach(async () => {
  for (const h of servers.splice(0)) await h.server.close().catch(() => {});
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<Harness> {
  const h = await startServer({ participationTokens: {}, targetUpdates: 3, ...options });
  servers.push(h);
  return h;
}

const info = async (h: Harness) =>
  (await (await fetch(`${h.url}/v1/model`)).json()) as {
    round: { id: string };
    privacy: { noiseStd: number };
    participation: { issuerName: string; publicKey: string; tokenKeyId: string; tokenType: number };
  };

const postWith = async (h: Harness, bytes: Uint8Array, authorization?: string) => {
  const res = await fetch(`${h.url}/v1/updates`, {
    method: 'POST',
    headers: { 'Content-Type': UPDATE_CONTENT_TYPE, ...(authorization ? { Authorization: authorization } : {}) },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  return { status: res.status, body: (await res.json()) as { reason?: string }, headers: res.headers };
};

describe('participation tokens on the aggregation server', () => {
  it('announces the issuer on /v1/model; an update needs a token of its round, used once', async () => {
    const h = await start();
    const m = await info(h);
    expect(m.participation).toMatchObject({ tokenType: 2, issuerName: 'edge-personalize' });
    const noiseStd = m.privacy.noiseStd;
    const update = () => makeUpdate({ noiseStd, roundId: m.round.id }).bytes;

    const none = await postWith(h, update());
    expect(none.status).toBe(401);
    expect(none.body.reason).toBe('token_missing');
    expect(none.headers.get('www-authenticate')).toMatch(/^PrivateToken challenge=/);

    const token = await obtainToken(h.url, { ...m.participation, roundId: m.round.id });
    expect((await postWith(h, update(), token)).status).toBe(202);
    // The same token on another (fresh) update: spent.
    const again = await postWith(h, update(), token);
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe('token_spent');
    expect((await postWith(h, update(), 'PrivateToken token="AAAA"')).body.reason).toBe('token_invalid');
  });

  it('issues one token per address and round; refuses a token for a round that is not open', async () => {
    const h = await start();
    const m = await info(h);
    await obtainToken(h.url, { ...m.participation, roundId: m.round.id });
    await expect(obtainToken(h.url, { ...m.participation, roundId: m.round.id })).rejects.toMatchObject({
      name: 'TokenRefusedError',
      status: 429,
    });
    await expect(obtainToken(h.url, { ...m.participation, roundId: '2' })).rejects.toMatchObject({
      name: 'TokenRefusedError',
      status: 409,
    });
    const s = await h.status();
    expect(s.updates.rejectedSinceStart).toMatchObject({ token_limit: 1, round_closed: 1 });
  });

  it('a spent token stays spent across a restart and across the close of its round', async () => {
    const h = await start({ targetUpdates: 2, minUpdates: 2 });
    const m = await info(h);
    const noiseStd = m.privacy.noiseStd;
    const token = await obtainToken(h.url, { ...m.participation, roundId: '1' });
    expect((await postWith(h, makeUpdate({ noiseStd }).bytes, token)).status).toBe(202);
    await h.server.close();
    servers.splice(servers.indexOf(h), 1);

    const h2 = await start({ targetUpdates: 2, minUpdates: 2, dataDir: h.dataDir });
    expect((await info(h2)).participation.tokenKeyId).toBe(m.participation.tokenKeyId);
    expect((await postWith(h2, makeUpdate({ noiseStd }).bytes, token)).body.reason).toBe('token_spent');
    // Close round 1 with a second device's update (a token from another address is not needed:
    // the allowance of 127.0.0.1 is per round and this is a new process, so it has one again).
    const second = await obtainToken(h2.url, { ...m.participation, roundId: '1' });
    expect((await postWith(h2, makeUpdate({ noiseStd }).bytes, second)).status).toBe(202);
    expect((await h2.status()).roundsClosed).toBe(1);
    // Round 1's updates are still accepted (staleness 1), but not with a spent token.
    expect((await postWith(h2, makeUpdate({ noiseStd, roundId: '1' }).bytes, token)).body.reason).toBe('token_spent');
  });
});
