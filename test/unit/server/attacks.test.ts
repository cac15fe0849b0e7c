import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { updateLayout, UPDATE_CONTENT_TYPE } from '../../../src/federated/modelUpdate';
import { readModelDir } from '../../../src/node/modelDir';
import { trainableVector } from '../../../src/server/fedAvg';
import { maxScale, normBound } from '../../../src/server/validateUpdate';
import { craftUpdate, expectVersionsLoad, sleep, TENSOR_SIZES, waitFor } from './reviewHelpers';
import { startServer, type Harness } from './serverHarness';
import { BASE_VERSION, CONFIG, makeUpdate, MODEL_DIR, SIZE } from './updateFixtures';

/**
 * Crafted input from a hostile client: updates built by hand rather than by a device, headers
 * with more than the format allows, and connections that hold the server's resources.
 */

const servers: Harness[] = [];
const sockets: Socket[] = [];
async function server(options: Parameters<typeof startServer>[0] = {}): Promise<Harness> {
  const h = await startServer(options);
  servers.push(h);
  return h;
}
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const h of servers.splice(0)) {
    await h.server.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  }
});

/** Codes of ±1 with random signs. */
function plusMinusOne(value = 1): Int8Array {
  return Int8Array.from({ length: SIZE }, () => (Math.random() < 0.5 ? -value : value));
}

const portOf = (h: Harness): number => Number(new URL(h.url).port);

describe('inflated scales', () => {
  it('refuses codes of ±1 with a huge scale (scale_too_large), so the published model stays loadable', async () => {
    // One update, one round: whatever the server accepts is published at once.
    const h = await server({ targetUpdates: 1, minUpdates: 1 });
    const noiseStd = 1; // σ·C/√target with σ = C = 1
    // Update norm 2^27·√d ≈ 1.8e10. The step is exactly representable in float32, so the dequantized
    // values are exactly ±step and no rounding makes the norm exceed a bound that grows with the step.
    const scale = 2 ** 27;
    expect(scale * Math.sqrt(SIZE)).toBeCloseTo(1.8e10, -9);
    const attack = craftUpdate(
      plusMinusOne(),
      TENSOR_SIZES.map(() => scale),
      { noiseStd },
    );
    const r = await h.post(attack);
    // First the damage such an update did when it was accepted: every published version must still load.
    await expectVersionsLoad(h.dataDir, h.url);
    expect(r.body).toMatchObject({ accepted: false, reason: 'scale_too_large' });
    expect(r.status).toBe(400);
    expect((await h.status()).versions).toEqual([BASE_VERSION]);
  });

  it('refuses a step just above maxScale, accepts ±1 codes at it, refuses ±127 codes at it (norm_too_large)', async () => {
    const h = await server({ targetUpdates: 3 });
    const noiseStd = 1 / Math.sqrt(3);
    const s = maxScale(updateLayout(CONFIG), 1, noiseStd);
    const scales = (x: number, t = -1): number[] => TENSOR_SIZES.map((_, i) => (t < 0 || i === t ? x : s));
    // Above the limit in one tensor only (the last) is enough to be refused.
    const above = await h.post(craftUpdate(plusMinusOne(), scales(s * (1 + 1e-6), TENSOR_SIZES.length - 1), { noiseStd }));
    expect(above.body).toMatchObject({ reason: 'scale_too_large' });
    expect(above.status).toBe(400);
    const at = await h.post(craftUpdate(plusMinusOne(), scales(s), { noiseStd }));
    expect(at.body).toEqual({ accepted: true, roundId: '1', received: 1, target: 3 });
    const full = await h.post(craftUpdate(plusMinusOne(127), scales(s), { noiseStd }));
    expect(full.body).toMatchObject({ reason: 'norm_too_large' });
    expect(full.status).toBe(400);
  });

  it('publishes a loadable, finite version from a round of updates at every bound at once (largest step, norm and weight)', async () => {
    const target = 3;
    const h = await server({ targetUpdates: target });
    const noiseStd = 1 / Math.sqrt(target);
    const s = maxScale(updateLayout(CONFIG), 1, noiseStd);
    const bound = normBound(updateLayout(CONFIG), 1, noiseStd);
    // The largest norm allowed, packed into as few coordinates as possible at code 127, all of the
    // same sign in every update, so the round moves those weights as far as the bounds permit.
    const budget = (bound / s) ** 2 * (1 - 1e-6);
    const k = Math.floor(budget / 127 ** 2);
    const rest = Math.floor(Math.sqrt(budget - k * 127 ** 2));
    expect(k).toBeLessThan(TENSOR_SIZES[0]!);
    const codes = new Int8Array(SIZE);
    codes.fill(127, 0, k);
    codes[k] = rest;
    for (let i = 0; i < target; i++) {
      const bytes = craftUpdate(
        codes,
        TENSOR_SIZES.map(() => s),
        { noiseStd, exampleBucket: 64 },
      );
      const r = await h.post(bytes);
      expect(r.body, `update ${i}`).toMatchObject({ accepted: true, received: i + 1 });
    }
    const status = await h.status();
    expect(status.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`]);
    expect(await expectVersionsLoad(h.dataDir, h.url)).toHaveLength(2);
    // The round really reached the edge: the first k weights moved by 127·maxScale (Σw/W = 1).
    const base = trainableVector(readModelDir(join(MODEL_DIR, 'float')).weights.dense, CONFIG);
    const master = trainableVector(readModelDir(join(h.dataDir, 'versions', `${BASE_VERSION}-r1`, 'float')).weights.dense, CONFIG);
    expect(master[0]! - base[0]!).toBeCloseTo(127 * s, 4);
    expect(master[k - 1]! - base[k - 1]!).toBeCloseTo(127 * s, 4);
    expect(master[k + 1]! - base[k + 1]!).toBeCloseTo(0, 6);
  });
});

describe('strict headers', () => {
  /** Every file under `dir`, recursively. */
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    });

  it('refuses a header field the format does not define (bad_header) and keeps nothing of it', async () => {
    const h = await server({ targetUpdates: 5 });
    const email = 'shopper-4c1e9a@example.com';
    const u = makeUpdate({ noiseStd: 1 / Math.sqrt(5), patchHeader: (x) => ({ ...x, email }) as typeof x });
    expect(new TextDecoder().decode(u.bytes).includes(email)).toBe(true);
    const r = await h.post(u.bytes);
    expect(r.body).toMatchObject({ accepted: false, reason: 'bad_header' });
    expect(r.status).toBe(400);
    const holding = files(h.dataDir).filter((f) => readFileSync(f).includes(email));
    expect(holding).toEqual([]);
    expect(h.logs.filter((l) => l.includes(email))).toEqual([]);
    // The same update without the extra field is fine.
    expect((await h.post(makeUpdate({ noiseStd: 1 / Math.sqrt(5) }).bytes)).status).toBe(202);
  });

  it('refuses a round id that is not the canonical decimal (unknown_round)', async () => {
    const h = await server({ targetUpdates: 5 });
    for (const roundId of ['01', '001', '0']) {
      const r = await h.post(makeUpdate({ noiseStd: 1 / Math.sqrt(5), roundId }).bytes);
      expect(r.body, roundId).toMatchObject({ accepted: false, reason: 'unknown_round' });
      expect(r.status).toBe(409);
    }
    expect((await h.status()).round.received).toBe(0);
  });

  it('answers OPTIONS on the API routes only (204), 404 elsewhere', async () => {
    const h = await server();
    const options = (path: string) =>
      fetch(`${h.url}${path}`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    for (const path of ['/v1/nothing', '/v1/updates/extra', '/v1/models', '/v1/']) {
      const res = await options(path);
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
    const updates = await options('/v1/updates');
    expect(updates.status).toBe(204);
    expect(updates.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const file = await options(`/v1/models/${BASE_VERSION}/model.json`);
    expect(file.status).toBe(204);
    expect(file.headers.get('access-control-allow-methods')).not.toMatch(/POST/);
  });
});

describe('connections', () => {
  interface Watched {
    socket: Socket;
    openedAt: number;
    closedAt: number | null;
  }

  /** Opens `n` connections one after the other that never send a byte. */
  async function silent(port: number, n: number): Promise<Watched[]> {
    const out: Watched[] = [];
    for (let i = 0; i < n; i++) {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      const w: Watched = { socket, openedAt: 0, closedAt: null };
      socket.on('error', () => {});
      socket.on('close', () => (w.closedAt = performance.now()));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
      w.openedAt = performance.now();
      out.push(w);
    }
    return out;
  }

  it('closes connections that send nothing after idleTimeoutMs', async () => {
    const h = await server({ idleTimeoutMs: 300, maxConnectionsPerAddress: 100 });
    const conns = await silent(portOf(h), 40);
    const allClosed = await waitFor(() => conns.every((c) => c.closedAt !== null), 2000);
    expect(allClosed, `${conns.filter((c) => c.closedAt !== null).length} of 40 closed within 2 s`).toBe(true);
    for (const c of conns) {
      // Closed by the idle timeout, not at once.
      expect(c.closedAt! - c.openedAt).toBeGreaterThan(200);
      expect(c.closedAt! - c.openedAt).toBeLessThan(2000);
    }
    expect((await fetch(`${h.url}/v1/model`)).status).toBe(200);
  });

  it('closes connections beyond maxConnectionsPerAddress at once; a request succeeds once the idle ones time out', async () => {
    const h = await server({ idleTimeoutMs: 600, maxConnectionsPerAddress: 5 });
    const conns = await silent(portOf(h), 10);
    await sleep(200);
    expect(conns.slice(0, 5).map((c) => c.closedAt)).toEqual([null, null, null, null, null]);
    for (const c of conns.slice(5)) {
      expect(c.closedAt, 'the 6th to 10th are closed').not.toBeNull();
      expect(c.closedAt! - c.openedAt).toBeLessThan(150);
    }
    expect(await waitFor(() => conns.every((c) => c.closedAt !== null), 2000)).toBe(true);
    const res = await fetch(`${h.url}/v1/model`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { modelVersion: string }).modelVersion).toBe(BASE_VERSION);
  });

  /**
   * Sends request headers, then streams a body of 200 MB (it would take ~15 s) and watches for
   * the answer and for the server closing the connection.
   */
  async function streamBody(
    port: number,
    contentType: string,
  ): Promise<{ status: number; head: string; respondedAt: number | null; closedAt: number | null; sent: number; total: number }> {
    const total = 200 * 1024 * 1024;
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let head = '';
    let respondedAt: number | null = null;
    let closedAt: number | null = null;
    let sent = 0;
    socket.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      if (respondedAt === null && head.includes('\r\n\r\n')) respondedAt = performance.now();
    });
    const mark = (): void => {
      closedAt ??= performance.now();
    };
    socket.on('end', mark); // the server's FIN
    socket.on('error', mark); // EPIPE / ECONNRESET: the server is gone
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        mark();
        resolve();
      }),
    );
    socket.write(`POST /v1/updates HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${total}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = setInterval(() => {
      for (let i = 0; i < 4 && closedAt === null && sent < total && socket.writableLength < 1 << 20; i++) {
        socket.write(chunk);
        sent += chunk.length;
      }
    }, 5);
    await Promise.race([closed, sleep(3000)]);
    clearInterval(pump);
    socket.destroy();
    return {
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
      head: head.split('\r\n\r\n')[0]!,
      respondedAt,
      closedAt,
      sent,
      total,
    };
  }

  it('closes the connection after a 415 while the client is still streaming a large body', async () => {
    const h = await server();
    const r = await streamBody(portOf(h), 'text/plain');
    expect(r.status).toBe(415);
    expect(r.closedAt, `the server closed the connection (the client sent ${r.sent} bytes in 3 s)`).not.toBeNull();
    expect(r.sent).toBeLessThan(r.total / 4);
    expect(r.head).toMatch(/^connection: close$/im);
  });

  it('closes the connection after a 429 while the client is still streaming a large body', async () => {
    const h = await server({ targetUpdates: 5, rateLimit: { burst: 1, perMinute: 1 } });
    expect((await h.post(makeUpdate({ noiseStd: 1 / Math.sqrt(5) }).bytes)).status).toBe(202);
    const r = await streamBody(portOf(h), UPDATE_CONTENT_TYPE);
    expect(r.status).toBe(429);
    expect(r.closedAt, `the server closed the connection (the client sent ${r.sent} bytes in 3 s)`).not.toBeNull();
    expect(r.sent).toBeLessThan(r.total / 4);
    expect(r.head).toMatch(/^connection: close$/im);
    expect(r.head).toMatch(/^retry-after: \d+$/im);
  });
});
