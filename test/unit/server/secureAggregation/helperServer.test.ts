import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addShare, decodeShare, leaderShare, recombine } from '../../../../src/federated/secureAggregation/additiveShares';
import { reportContext, sealSeed } from '../../../../src/federated/secureAggregation/helperEncryption';
import { createHelperServer, HELPER_PROTOCOL } from '../../../../src/server/secureAggregation/helperServer';

const TOKEN = 'leader-secret-0123456789';
const D = 64;
const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function start(dataDir: string, minCohort = 3): Promise<{ url: string; publicKey: string }> {
  const helper = await createHelperServer({ dataDir, leaderToken: TOKEN, minCohort, maxCohort: 100 });
  const server = createServer((req, res) => {
    helper.handle(req, res).then((handled) => handled || res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, publicKey: helper.publicKey };
}

async function reports(publicKey: string, roundId: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const codes = new Int8Array(D).map(() => Math.floor(Math.random() * 255) - 127);
      const reportId = randomBytes(16).toString('base64url');
      const seed = new Uint8Array(randomBytes(32));
      const ctx = reportContext(roundId, reportId);
      const sealed = await sealSeed(new Uint8Array(Buffer.from(publicKey, 'base64url')), seed, ctx);
      return {
        codes,
        leader: leaderShare(codes, seed, ctx, 16),
        wire: {
          reportId,
          enc: Buffer.from(sealed.enc).toString('base64url'),
          ciphertext: Buffer.from(sealed.ciphertext).toString('base64url'),
        },
      };
    }),
  );
}

const post = (url: string, body: unknown, auth = `Bearer ${TOKEN}`) =>
  fetch(`${url}/v1/helper/aggregate`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the helper server', () => {
  it('publishes its key, answers only its leader, and its answer completes the leader’s sum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'helper-'));
    const { url, publicKey } = await start(dir);
    expect(await (await fetch(`${url}/v1/helper`)).json()).toEqual({ protocol: HELPER_PROTOCOL, publicKey, minCohort: 3, maxCohort: 100 });
    expect(statSync(join(dir, 'helper-key.json')).mode & 0o777).toBe(0o600);
    const rs = await reports(publicKey, '2', 4);
    const body = { roundId: '2', length: D, bits: 16, reports: rs.map((r) => r.wire) };
    expect((await post(url, body, 'Bearer wrong-secret-0123456')).status).toBe(401);
    expect((await post(url, body, '')).status).toBe(401);
    const res = await post(url, body);
    expect(res.status).toBe(200);
    const answer = await res.json();
    const leaderSum = new Uint32Array(D);
    const plain = new Array<number>(D).fill(0);
    for (const r of rs) {
      addShare(leaderSum, r.leader, 16);
      r.codes.forEach((v, i) => (plain[i]! += v));
    }
    expect(Array.from(recombine(leaderSum, decodeShare(Buffer.from(answer.sum, 'base64url'), D, 16), 16))).toEqual(plain);
  });

  it('says why it refuses (409 with a reason), and keeps its key and memory across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'helper-'));
    const first = await start(dir);
    const rs = await reports(first.publicKey, '1', 4);
    const small = await post(first.url, { roundId: '1', length: D, bits: 16, reports: rs.slice(0, 2).map((r) => r.wire) });
    expect(small.status).toBe(409);
    expect((await small.json()).error).toBe('cohort_too_small');
    expect((await post(first.url, { roundId: '1', length: D, bits: 16, reports: rs.slice(0, 3).map((r) => r.wire) })).status).toBe(200);
    expect((await post(first.url, { roundId: 'x', length: D, bits: 16, reports: [] })).status).toBe(400);
    const again = await start(dir);
    expect(again.publicKey).toBe(first.publicKey);
    const reuse = await post(again.url, { roundId: '2', length: D, bits: 16, reports: rs.slice(1, 4).map((r) => r.wire) });
    expect(reuse.status).toBe(409);
    expect((await reuse.json()).error).toBe('report_reused');
  });
});
