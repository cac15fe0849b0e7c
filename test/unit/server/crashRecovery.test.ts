import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UPDATE_CONTENT_TYPE } from '../../../src/federated/modelUpdate';
import { BASE_VERSION, makeUpdate, root } from './updateFixtures';

/** The CLI as a child process on an ephemeral port; resolves once it listens. */
function startCli(dataDir: string, ...extra: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/server/cli.ts'),
      '--data',
      dataDir,
      '--port',
      '0',
      '--rate-limit',
      '0',
      '--clip',
      '1',
      '--max-noise-ratio',
      'inf',
      '--max-epsilon',
      'inf',
      '--rows-per-round',
      '0',
      '--tokens',
      '0',
      ...extra,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

const kill9 = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGKILL');
  });

const post = async (url: string, bytes: Uint8Array): Promise<{ status: number; reason?: string }> => {
  const res = await fetch(`${url}/v1/updates`, {
    method: 'POST',
    headers: { 'Content-Type': UPDATE_CONTENT_TYPE },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, reason: body.reason };
};

const status = async (url: string): Promise<Record<string, any>> => (await (await fetch(`${url}/v1/status`)).json()) as Record<string, any>;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('kill -9 and restart', () => {
  it('loses no acknowledged update, ignores a torn tail, resumes the round and still refuses replays', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fl-crash-'));
    const noiseStd = 1 / Math.sqrt(10);
    let { child, url } = await startCli(dataDir, '--target', '10');
    children.push(child);
    const first = Array.from({ length: 4 }, () => makeUpdate({ noiseStd }));
    for (const u of first) expect((await post(url, u.bytes)).status).toBe(202);
    await kill9(child);
    // A crash in the middle of an append leaves a partial record behind.
    appendFileSync(join(dataDir, 'rounds', '1.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));

    ({ child, url } = await startCli(dataDir, '--target', '10'));
    children.push(child);
    let s = await status(url);
    expect(s.round).toMatchObject({ id: '1', received: 4, target: 10 });
    for (const u of first) expect(await post(url, u.bytes)).toEqual({ status: 409, reason: 'replayed_nonce' });
    const rest = Array.from({ length: 6 }, () => makeUpdate({ noiseStd }));
    for (const u of rest) expect((await post(url, u.bytes)).status).toBe(202);
    s = await status(url);
    expect(s).toMatchObject({ modelVersion: `${BASE_VERSION}-r1`, roundsClosed: 1, round: { id: '2', received: 0 } });
    await kill9(child);

    ({ child, url } = await startCli(dataDir, '--target', '10'));
    children.push(child);
    s = await status(url);
    expect(s).toMatchObject({ modelVersion: `${BASE_VERSION}-r1`, roundsClosed: 1, round: { id: '2', received: 0 } });
    expect(s.privacy.cumulative.epsilon).toBeGreaterThan(0);
    // Round 1's updates are aggregated and deleted, but their nonces are still refused.
    expect(await post(url, first[0]!.bytes)).toEqual({ status: 409, reason: 'replayed_nonce' });
    child.kill('SIGTERM');
  });

  it('keeps every update acknowledged before a kill -9 under concurrent load', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fl-crash-'));
    const noiseStd = 1 / Math.sqrt(1000);
    const { child, url } = await startCli(dataDir, '--target', '1000');
    children.push(child);
    const updates = Array.from({ length: 60 }, () => makeUpdate({ noiseStd }));
    const acked: string[] = [];
    let next = 0;
    let killed: Promise<void> | null = null;
    const worker = async (): Promise<void> => {
      while (next < updates.length && !killed) {
        const u = updates[next++]!;
        try {
          if ((await post(url, u.bytes)).status === 202) acked.push(u.header.nonce);
        } catch {
          return; // the connection died with the server: not acknowledged
        }
        if (acked.length === 20 && !killed) killed = kill9(child);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await killed;
    expect(acked.length).toBeGreaterThanOrEqual(20);

    const again = await startCli(dataDir, '--target', '1000');
    children.push(again.child);
    const s = await status(again.url);
    expect(s.round.received).toBeGreaterThanOrEqual(acked.length);
    for (const u of updates.filter((x) => acked.includes(x.header.nonce))) {
      expect(await post(again.url, u.bytes)).toEqual({ status: 409, reason: 'replayed_nonce' });
    }
    again.child.kill('SIGTERM');
  });
});
