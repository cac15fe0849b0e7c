import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAggregationServer, type AggregationServer } from '../../../src/server/aggregationServer';
import { epsilonFor } from '../../../src/server/privacyAccountant';
import { ServerConfigError } from '../../../src/server/serverOptions';
import { DataDirError } from '../../../src/server/updateStore';
import { VERSION_PATTERN } from '../../../src/server/versionStore';
import { expectVersionsLoad, getJson, kill9, postBytes, sleep, spawnCli, TEST_FLAGS, waitFor, type CliRun } from './reviewHelpers';
import { startServer, TEST_SETTINGS, type Harness } from './serverHarness';
import { BASE_VERSION, makeUpdate, MODEL_DIR } from './updateFixtures';

/**
 * Faults, resources and storage: two processes on one data directory, a round whose close
 * fails, a full disk, a data directory that cannot be written, state that must not grow, the
 * privacy budget, the start-up noise check, and kill -9 under load.
 */

const servers: Harness[] = [];
const runs: CliRun[] = [];
const dirs: string[] = [];
async function server(options: Parameters<typeof startServer>[0] = {}): Promise<Harness> {
  const h = await startServer(options);
  servers.push(h);
  if (!options.dataDir) dirs.push(h.dataDir);
  return h;
}
function tempDir(prefix = 'fl-fault-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
/** Closes a harness server now (and not again in afterEach). */
async function stop(h: Harness): Promise<void> {
  servers.splice(servers.indexOf(h), 1);
  await h.server.close();
}
afterEach(async () => {
  for (const r of runs.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) await kill9(r);
  for (const h of servers.splice(0)) await h.server.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const cli = (args: string[]): CliRun => {
  const r = spawnCli(args);
  runs.push(r);
  return r;
};
const lockOf = (dataDir: string): { pid: number } => JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8')) as { pid: number };
const versionDirs = (dataDir: string): string[] =>
  readdirSync(join(dataDir, 'versions'))
    .filter((v) => VERSION_PATTERN.test(v))
    .sort();

describe('one server per data directory', () => {
  it('a second server on the same data directory throws DataDirError naming the holder; close() removes the lock', async () => {
    const h = await server({ targetUpdates: 5 });
    const noiseStd = 1 / Math.sqrt(5);
    const lock = join(h.dataDir, 'server.lock');
    let second: AggregationServer | null = null;
    let error: unknown = null;
    try {
      second = createAggregationServer({ modelDir: MODEL_DIR, dataDir: h.dataDir, rateLimit: null, ...TEST_SETTINGS, targetUpdates: 5 });
    } catch (err) {
      error = err;
    }
    await second?.close();
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    expect(lockOf(h.dataDir).pid).toBe(process.pid);
    // The refused second server took nothing from the first.
    expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
    expect(lockOf(h.dataDir).pid).toBe(process.pid);
    await stop(h);
    expect(existsSync(lock)).toBe(false);
    const again = await server({ dataDir: h.dataDir, targetUpdates: 5 });
    expect((await again.status()).round.received).toBe(1);
  });

  it('a second CLI exits 2 with one line naming the first; after kill -9 of the first a new one takes over the stale lock', async () => {
    const dataDir = tempDir();
    const args = ['--data', dataDir, ...TEST_FLAGS, '--target', '5'];
    const first = cli(args);
    expect(await first.listening()).not.toBeNull();
    const second = cli(args);
    expect(await second.listening(), 'the second server must not start').toBeNull();
    expect(await second.exited()).toBe(2);
    const lines = second.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^server: .*pid ${first.child.pid}\\b`));

    await kill9(first);
    // The dead server's lock is left behind...
    expect(lockOf(dataDir).pid).toBe(first.child.pid);
    // ...and taken over by the next start.
    const third = cli(args);
    const url = await third.listening();
    expect(url, third.stderr()).not.toBeNull();
    expect(lockOf(dataDir).pid).toBe(third.child.pid);
    expect((await postBytes(url!, makeUpdate({ noiseStd: 1 / Math.sqrt(5) }).bytes)).status).toBe(202);
    third.child.kill('SIGTERM');
    expect(await third.exited()).toBe(0);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
  });
});

describe('a round whose close fails', () => {
  it('accepts the target, then refuses (503) until the close succeeds; the retry closes exactly the target', async () => {
    const target = 5;
    const noiseStd = 1 / Math.sqrt(target);
    const h = await server({ targetUpdates: target });
    const versions = join(h.dataDir, 'versions');
    // The fault: versions/ is a regular file, so publishing fails.
    renameSync(versions, `${versions}.away`);
    writeFileSync(versions, 'not a directory\n');

    const statuses: number[] = [];
    const answers: Array<{ status: number; body: Record<string, unknown> }> = [];
    const watch = setInterval(() => {
      void h.status().then(
        (s) => statuses.push(s.round.received as number),
        () => {},
      );
    }, 20);
    try {
      // Eight at once: the round can take five.
      answers.push(...(await Promise.all(Array.from({ length: 8 }, () => h.post(makeUpdate({ noiseStd }).bytes)))));
      for (let i = 0; i < 4; i++) answers.push(await h.post(makeUpdate({ noiseStd }).bytes));
      // A tick of the round timer retries the close, which fails again.
      await sleep(1200);
      answers.push(await h.post(makeUpdate({ noiseStd }).bytes));
    } finally {
      clearInterval(watch);
    }
    const acked = answers.filter((a) => a.status === 202);
    expect(acked).toHaveLength(target);
    for (const a of acked) expect(a.body.received as number).toBeLessThanOrEqual(target);
    for (const a of answers.filter((x) => x.status !== 202)) {
      expect(a.status).toBe(503);
      expect(['storage_error', 'round_full']).toContain(a.body.reason);
    }
    expect(h.logs.some((l) => /cannot close/.test(l))).toBe(true);
    let s = await h.status();
    expect(s).toMatchObject({ roundsClosed: 0, round: { id: '1', received: target } });
    expect(Math.max(...statuses)).toBeLessThanOrEqual(target);

    // The fault goes away: the next tick closes the round with exactly the target.
    rmSync(versions);
    renameSync(`${versions}.away`, versions);
    expect(await waitFor(async () => (await h.status()).roundsClosed === 1, 3000)).toBe(true);
    s = await h.status();
    expect(s).toMatchObject({ modelVersion: `${BASE_VERSION}-r1`, round: { id: '2', received: 0 }, updates: { accepted: target } });
    expect(s.privacy.rounds).toMatchObject([{ round: 1, updates: target }]);
    const next = await h.post(makeUpdate({ noiseStd, roundId: '2', modelVersion: `${BASE_VERSION}-r1` }).bytes);
    expect(next.body).toEqual({ accepted: true, roundId: '2', received: 1, target });
    await expectVersionsLoad(h.dataDir, h.url);
  });
});

describe('a full disk', () => {
  const mountPoint = join(tmpdir(), `fl-tmpfs-${process.pid}`);
  let mounted = false;
  let skipReason = '';
  beforeAll(() => {
    mkdirSync(mountPoint, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mountPoint], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      skipReason = `cannot mount a tmpfs at ${mountPoint}: ${(err as Error).message.split('\n')[0]}`;
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  const free = (dir: string): number => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };

  it('answers 503 storage_full before the disk runs out, never fails a close, and keeps every acknowledged update', async (ctx) => {
    if (!mounted) {
      console.warn(`skipped: ${skipReason}`);
      ctx.skip();
    }
    const target = 3;
    const noiseStd = 1 / Math.sqrt(target);
    const dataDir = join(mountPoint, 'data');
    let h = await server({ targetUpdates: target, dataDir });
    // Leave room for a few rounds only (a round needs about two versions' worth, ~2 MB, to close).
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, free(mountPoint) - 4_500_000)));
    let acked = 0;
    const refusals: string[] = [];
    for (let i = 0; i < 80 && refusals.length < 5; i++) {
      const model = (await (await fetch(`${h.url}/v1/model`)).json()) as { modelVersion: string; round: { id: string } };
      const r = await h.post(makeUpdate({ noiseStd, modelVersion: model.modelVersion, roundId: model.round.id }).bytes);
      if (r.status === 202) acked++;
      else refusals.push(`${r.status} ${String(r.body.reason)}`);
    }
    const s = await h.status();
    expect(s.roundsClosed, 'rounds closed before the disk filled').toBeGreaterThanOrEqual(2);
    expect(h.logs.filter((l) => /cannot close|housekeeping failed/.test(l))).toEqual([]);
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals)).toEqual(new Set(['503 storage_full']));
    expect(free(mountPoint)).toBeGreaterThan(1_000_000);
    expect(s.updates.accepted).toBe(acked);

    // After a restart, every acknowledged update is in a closed round or in the open one.
    await stop(h);
    h = await server({ targetUpdates: target, dataDir });
    const after = await h.status();
    expect(after.updates.accepted).toBe(acked);
    expect(after.roundsClosed * target + after.round.received).toBe(acked);
    await expectVersionsLoad(dataDir, h.url, after.versions);
    // Room again: accepted again.
    rmSync(filler);
    expect((await h.post(makeUpdate({ noiseStd, modelVersion: after.modelVersion, roundId: after.round.id }).bytes)).status).toBe(202);
    await stop(h);
  });
});

describe('a data directory that cannot be written', () => {
  it('the CLI exits 2 with one line, no stack trace, when --data is under a regular file', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const run = cli(['--data', join(file, 'data'), ...TEST_FLAGS]);
    expect(await run.exited()).toBe(2);
    const lines = run.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^server: .*ENOTDIR/);
    expect(run.stderr()).not.toMatch(/\n\s+at /);
    expect(() => createAggregationServer({ modelDir: MODEL_DIR, dataDir: join(file, 'data'), ...TEST_SETTINGS })).toThrow(DataDirError);
  });
});

describe('compaction', () => {
  it('keeps state.json, versions/ and /v1/status from growing over 60 rounds; a pruned version is refused', async () => {
    const h = await server({ targetUpdates: 1, minUpdates: 1 });
    const stateSize = (): number => statSync(join(h.dataDir, 'state.json')).size;
    const sizes = new Map<number, { state: number; status: number }>();
    for (let round = 1; round <= 60; round++) {
      const version = round === 1 ? BASE_VERSION : `${BASE_VERSION}-r${round - 1}`;
      const r = await h.post(makeUpdate({ noiseStd: 1, modelVersion: version, roundId: String(round) }).bytes);
      expect(r.status, `round ${round}: ${JSON.stringify(r.body)}`).toBe(202);
      if ([15, 20, 30, 50, 60].includes(round)) {
        sizes.set(round, { state: stateSize(), status: (await (await fetch(`${h.url}/v1/status`)).text()).length });
      }
    }
    // The windows (the last 20 rounds in the state, the last 50 updates on the status page) are
    // full from round 20 and 50 on; from there on nothing may grow.
    expect(Math.abs(sizes.get(60)!.state - sizes.get(20)!.state), JSON.stringify([...sizes])).toBeLessThanOrEqual(64);
    expect(sizes.get(60)!.status - sizes.get(50)!.status, JSON.stringify([...sizes])).toBeLessThanOrEqual(64);
    const s = await h.status();
    expect(s).toMatchObject({ roundsClosed: 60, versionsPublished: 61, updates: { accepted: 60 }, modelVersion: `${BASE_VERSION}-r60` });
    expect(s.versions).toHaveLength(10);
    expect(versionDirs(h.dataDir)).toEqual([...s.versions].sort());
    expect(s.versions).toEqual(Array.from({ length: 10 }, (_, i) => `${BASE_VERSION}-r${51 + i}`));
    // Only the current version keeps its float master.
    expect(versionDirs(h.dataDir).filter((v) => existsSync(join(h.dataDir, 'versions', v, 'float')))).toEqual([`${BASE_VERSION}-r60`]);
    // Updates trained on pruned or too old versions are refused; maxStaleness (2) back is fine.
    for (const v of [BASE_VERSION, `${BASE_VERSION}-r10`]) {
      const r = await h.post(makeUpdate({ noiseStd: 1, modelVersion: v, roundId: '61' }).bytes);
      expect(['stale_version', 'unknown_version'], v).toContain(r.body.reason);
      expect((await fetch(`${h.url}/v1/models/${v}/model.json`)).status).toBe(404);
    }
    expect((await h.post(makeUpdate({ noiseStd: 1, modelVersion: `${BASE_VERSION}-r57`, roundId: '61' }).bytes)).body).toMatchObject({
      reason: 'stale_version',
    });
    expect((await h.post(makeUpdate({ noiseStd: 1, modelVersion: `${BASE_VERSION}-r58`, roundId: '61' }).bytes)).status).toBe(202);
  });

  it('migrates a format-1 state.json on start (and prunes to keepVersions)', async () => {
    const target = 2;
    const noiseStd = 1 / Math.sqrt(target);
    let h = await server({ targetUpdates: target });
    const nonces: string[] = [];
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < target; i++) {
        const u = makeUpdate({
          noiseStd,
          modelVersion: round === 1 ? BASE_VERSION : `${BASE_VERSION}-r${round - 1}`,
          roundId: String(round),
        });
        nonces.push(u.header.nonce);
        expect((await h.post(u.bytes)).status).toBe(202);
      }
    }
    const before = await h.status();
    expect(before.roundsClosed).toBe(3);
    await stop(h);
    // What a server of format 1 wrote: every version and every closed round, no totals, no ledger.
    const path = join(h.dataDir, 'state.json');
    const v2 = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
    const v1 = { formatVersion: 1, baseVersion: v2.baseVersion, versions: v2.versions, round: v2.round, closed: v2.closed };
    expect(v1.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`, `${BASE_VERSION}-r2`, `${BASE_VERSION}-r3`]);
    expect(v1.closed).toHaveLength(3);
    writeFileSync(path, JSON.stringify(v1, null, 1) + '\n');

    h = await server({ targetUpdates: target, dataDir: h.dataDir, keepVersions: 3 });
    const after = await h.status();
    expect(after.versions).toEqual([`${BASE_VERSION}-r1`, `${BASE_VERSION}-r2`, `${BASE_VERSION}-r3`]);
    expect(after).toMatchObject({
      roundsClosed: 3,
      versionsPublished: 4,
      updates: { accepted: 6 },
      modelVersion: `${BASE_VERSION}-r3`,
      round: { id: '4', received: 0 },
    });
    expect(after.privacy.cumulative.epsilon).toBeCloseTo(before.privacy.cumulative.epsilon, 9);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
    expect(saved).toMatchObject({ formatVersion: 2, versionsPublished: 4, totals: { rounds: 3, updates: 6 } });
    expect(versionDirs(h.dataDir)).toEqual([`${BASE_VERSION}-r1`, `${BASE_VERSION}-r2`, `${BASE_VERSION}-r3`]);
    // Replays of the last rounds are still refused; an update trained two versions back is still accepted.
    expect(
      (await h.post(makeUpdate({ noiseStd, nonce: nonces[5], modelVersion: `${BASE_VERSION}-r2`, roundId: '3' }).bytes)).body,
    ).toMatchObject({ reason: 'replayed_nonce' });
    expect((await h.post(makeUpdate({ noiseStd, modelVersion: `${BASE_VERSION}-r1`, roundId: '4' }).bytes)).status).toBe(202);
  });
});

describe('the privacy budget', () => {
  // σ = 1, target 3, population 3: q = 1 and a full round of equal weights has σ_eff = √(2/3).
  const budget = { targetUpdates: 3, populationEstimate: 3, noiseMultiplier: 1, maxEpsilon: 12 };
  const noiseStd = 1 / Math.sqrt(3);
  const epsilonAfter = (rounds: number): number =>
    epsilonFor({ noiseMultiplier: Math.sqrt(2 / 3), samplingRate: 1, rounds, delta: 1e-6 }).epsilon;

  it('publishes rounds until the next would pass maxEpsilon, then refuses updates (privacy_budget_spent), also after a restart', async () => {
    let publishable = 0;
    while (epsilonAfter(publishable + 1) <= budget.maxEpsilon) publishable++;
    expect(publishable).toBe(2); // ε ≈ 7.2 after one round, 10.6 after two, 13.4 after three
    let h = await server(budget);
    const answers: Array<{ status: number; reason?: unknown }> = [];
    const epsilons: number[] = [];
    for (let i = 0; i < 12; i++) {
      const s = await h.status();
      if (s.privacy.cumulative.epsilon !== null) epsilons.push(s.privacy.cumulative.epsilon as number);
      const r = await h.post(makeUpdate({ noiseStd, modelVersion: s.modelVersion, roundId: s.round.id }).bytes);
      answers.push({ status: r.status, reason: r.body.reason });
    }
    const s = await h.status();
    epsilons.push(s.privacy.cumulative.epsilon as number);
    expect(s.roundsClosed).toBe(publishable);
    expect(s.privacy.budget).toEqual({ maxEpsilon: 12, spent: true });
    expect(Math.max(...epsilons)).toBeLessThanOrEqual(budget.maxEpsilon);
    expect(s.privacy.cumulative.epsilon).toBeCloseTo(epsilonAfter(publishable), 6);
    const firstSpent = answers.findIndex((a) => a.reason === 'privacy_budget_spent');
    expect(firstSpent).toBeGreaterThan(0);
    expect(answers.slice(0, firstSpent).every((a) => a.status === 202)).toBe(true);
    expect(answers.slice(firstSpent)).toEqual(answers.slice(firstSpent).map(() => ({ status: 409, reason: 'privacy_budget_spent' })));

    await stop(h);
    h = await server({ ...budget, dataDir: h.dataDir });
    const again = await h.status();
    expect(again).toMatchObject({ roundsClosed: publishable, privacy: { budget: { spent: true } } });
    const r = await h.post(makeUpdate({ noiseStd, modelVersion: again.modelVersion, roundId: again.round.id }).bytes);
    expect(r).toMatchObject({ status: 409, body: { reason: 'privacy_budget_spent' } });
  });

  it('never closes a round of one update (ε = ∞) at its deadline, even with minUpdates 1', async () => {
    let now = Date.now();
    const h = await server({ ...budget, minUpdates: 1, roundDeadlineMs: 60_000, now: () => now });
    expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
    now += 61_000;
    await sleep(1200); // a tick of the round timer
    const s = await h.status();
    expect(s).toMatchObject({ roundsClosed: 0, round: { id: '1', received: 1 }, privacy: { budget: { spent: false } } });
    expect(Date.parse(s.round.deadline)).toBeGreaterThan(now);
    expect(h.logs.some((l) => /ε to ∞.*waiting for more; deadline extended/.test(l))).toBe(true);
    // With the full target the round closes, within the budget.
    for (let i = 0; i < 2; i++) expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
    const closed = await h.status();
    expect(closed.roundsClosed).toBe(1);
    expect(closed.privacy.cumulative.epsilon).toBeCloseTo(epsilonAfter(1), 6);
  });

  it('a full round of uneven weights (any client can send example bucket 1) is averaged with equal weights, not a spent budget', async () => {
    // Weights 1, 1/16, 1/16: the others' noise is tiny against the heavy update (ε ≈ 263 here).
    const h = await server(budget);
    for (const exampleBucket of [16, 1, 1]) expect((await h.post(makeUpdate({ noiseStd, exampleBucket }).bytes)).status).toBe(202);
    const s = await h.status();
    expect(s).toMatchObject({ roundsClosed: 1, privacy: { budget: { spent: false } } });
    expect(s.privacy.cumulative.epsilon).toBeCloseTo(epsilonAfter(1), 6);
    expect(h.logs.some((l) => /averaged with equal weights/.test(l))).toBe(true);
    // Round 2 is accepted as usual.
    expect((await h.post(makeUpdate({ noiseStd, modelVersion: s.modelVersion, roundId: s.round.id }).bytes)).status).toBe(202);
  });

  it('acknowledges nothing for a round that could never be published: once a full round would pass the budget, updates are refused at once', async () => {
    const h = await server(budget);
    let s = await h.status();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++)
        expect((await h.post(makeUpdate({ noiseStd, modelVersion: s.modelVersion, roundId: s.round.id }).bytes)).status).toBe(202);
      s = await h.status();
    }
    // Two rounds spent ε 10.6 of 12; a third full round would reach 13.4: nothing more is taken.
    expect(s).toMatchObject({ roundsClosed: 2, privacy: { budget: { spent: true } } });
    const r = await h.post(makeUpdate({ noiseStd, modelVersion: s.modelVersion, roundId: s.round.id }).bytes);
    expect(r).toMatchObject({ status: 409, body: { reason: 'privacy_budget_spent' } });
    expect((await h.status()).round.received).toBe(0);
  });
});

describe('storage faults around a close', () => {
  it("when the next round's log cannot be opened after the commit, the new round starts empty, refuses updates, and recovers once it can", async () => {
    const h = await server({ targetUpdates: 2, minUpdates: 2 });
    const noiseStd = 1 / Math.sqrt(2);
    // A directory where round 2's log file must go makes opening it fail.
    mkdirSync(join(h.dataDir, 'rounds', '2.log'));
    for (let i = 0; i < 2; i++) expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
    let s = await h.status();
    expect(s).toMatchObject({ roundsClosed: 1, round: { id: '2', received: 0 }, updates: { accepted: 2 } });
    const refused = await h.post(makeUpdate({ noiseStd, modelVersion: s.modelVersion, roundId: '2' }).bytes);
    expect(refused).toMatchObject({ status: 503, body: { reason: 'storage_error' } });
    rmSync(join(h.dataDir, 'rounds', '2.log'), { recursive: true });
    expect(
      await waitFor(
        async () => (await h.post(makeUpdate({ noiseStd, modelVersion: s.modelVersion, roundId: '2' }).bytes)).status === 202,
        3000,
      ),
    ).toBe(true);
    s = await h.status();
    expect(s).toMatchObject({ roundsClosed: 1, round: { id: '2', received: 1 }, updates: { accepted: 3 } });
    // close() does not throw and releases the lock.
    await stop(h);
    expect(existsSync(join(h.dataDir, 'server.lock'))).toBe(false);
  });

  it('a full disk at start is one line and exit code 2 (not a stack trace)', async (ctx) => {
    const mnt = tempDir('fl-full-start-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    } catch (err) {
      console.warn(`skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
      ctx.skip();
      return;
    }
    try {
      // The base model's copy alone does not fit into 256 KB.
      const run = cli(['--data', join(mnt, 'data'), '--model', MODEL_DIR, ...TEST_FLAGS]);
      const code = await run.exited(20_000);
      expect(code).toBe(2);
      const lines = run.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^server: .*(ENOSPC|no space)/i);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('a lock file that cannot be read for a moment (EMFILE) is not taken for a lost lock', async () => {
    const h = await server({ targetUpdates: 10 });
    const noiseStd = 1 / Math.sqrt(10);
    // Stand-in for EMFILE: the lock path briefly unreadable for another reason than "gone"
    // (a directory in its place reads as EISDIR), then restored.
    const lock = join(h.dataDir, 'server.lock');
    const saved = readFileSync(lock);
    rmSync(lock);
    mkdirSync(lock);
    expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
    rmSync(lock, { recursive: true });
    writeFileSync(lock, saved);
    await sleep(1100); // a tick
    expect((await h.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
  });
});

describe('the noise check at start', () => {
  it('refuses the old defaults (target 5, σ 1, clip 1) with the arithmetic, in the API and the CLI; the new defaults start', async () => {
    const dataDir = tempDir();
    let started: AggregationServer | null = null;
    let error: unknown = null;
    try {
      started = createAggregationServer({
        modelDir: MODEL_DIR,
        dataDir,
        targetUpdates: 5,
        clipNorm: 1,
        noiseMultiplier: 1,
        rateLimit: null,
      });
    } catch (err) {
      error = err;
    }
    await started?.close();
    expect(error).toBeInstanceOf(ServerConfigError);
    const message = (error as Error).message;
    // d: the dense values and the rows a round trains (every row of the demo model fits a plain update).
    const d = 17856 + 3345 * 48;
    expect(message).toContain(`√${d}`);
    expect(message).toContain('%');
    expect(message).toContain(`= ${(Math.sqrt(d) / 5).toPrecision(3)},`);

    const run = cli(['--data', tempDir(), '--port', '0', '--rate-limit', '0', '--target', '5', '--clip', '1']);
    expect(await run.listening(), 'the CLI must not start').toBeNull();
    expect(await run.exited()).toBe(2);
    expect(run.stderr()).toBe(`server: ${message}\n`);

    // The same data directory with the new defaults (the refused start left no lock behind).
    const ok = createAggregationServer({ modelDir: MODEL_DIR, dataDir });
    try {
      const s = ok.status() as Record<string, any>;
      expect(s.round.target).toBe(100);
      expect(s.privacy.clipNorm).toBe(0.1);
      expect(s.privacy.noiseCheck.ratio).toBeLessThanOrEqual(0.05);
    } finally {
      await ok.close();
    }
  });
});

describe('the noise check counts the rows at their learning rate', () => {
  it('starts with the defaults, and refuses a row learning rate whose noise would swamp the model', async () => {
    const ok = createAggregationServer({ modelDir: MODEL_DIR, dataDir: tempDir() });
    const base = (ok.status() as Record<string, any>).privacy.noiseCheck.ratio as number;
    await ok.close();
    expect(() => createAggregationServer({ modelDir: MODEL_DIR, dataDir: tempDir(), rowServerLr: 1000 })).toThrow(ServerConfigError);
    // A modest row rate raises the counted noise but stays within the limit.
    const more = createAggregationServer({ modelDir: MODEL_DIR, dataDir: tempDir(), rowServerLr: 1.1 });
    try {
      expect((more.status() as Record<string, any>).privacy.noiseCheck.ratio).toBeGreaterThan(base);
    } finally {
      await more.close();
    }
  });
});

describe('kill -9 under load', () => {
  it('three kills at random moments, with restarts: every acknowledged update counted once, every version loads', async () => {
    const dataDir = tempDir('fl-crash-');
    const target = 7;
    const noiseStd = 1 / Math.sqrt(target);
    // Staleness 30: every update of the run stays acceptable, so a re-post can only be refused as a replay.
    const args = ['--data', dataDir, ...TEST_FLAGS, '--target', String(target), '--max-staleness', '30'];
    const total = 150;
    const posts: Array<{ bytes: Uint8Array; outcome: 'acked' | 'refused' | 'in_doubt'; answer?: string }> = [];
    const kills: string[] = [];
    const lockHolders: Array<{ expected: number; found: number | null }> = [];
    let versionsPublished: { found: unknown; expected: number } | null = null;
    let reserved = 0; // posts started (a poster reserves one before it fetches the model)

    for (let phase = 0; phase < 4; phase++) {
      const run = cli(args);
      const url = await run.listening();
      expect(url, run.stderr()).not.toBeNull();
      // Each start takes over the lock the killed server left (checked at the end).
      lockHolders.push({ expected: run.child.pid!, found: existsSync(join(dataDir, 'server.lock')) ? lockOf(dataDir).pid : null });
      const last = phase === 3;
      const killAfter = 5 + Math.floor(Math.random() * 25); // acknowledgements in this phase
      let ackedHere = 0;
      let killing: Promise<void> | null = null;
      const poster = async (): Promise<void> => {
        while (reserved < total && !killing) {
          reserved++;
          let model: Record<string, any>;
          try {
            model = await getJson(url!, '/v1/model');
          } catch {
            reserved--; // nothing was posted
            return;
          }
          const post: (typeof posts)[number] = {
            bytes: makeUpdate({ noiseStd, modelVersion: model.modelVersion, roundId: model.round.id }).bytes,
            outcome: 'in_doubt',
          };
          posts.push(post);
          try {
            const r = await postBytes(url!, post.bytes);
            post.outcome = r.status === 202 ? 'acked' : 'refused';
            post.answer = `${r.status} ${String(r.body.reason ?? '')}`;
          } catch {
            return; // the connection died with the server: maybe stored, never acknowledged
          }
          if (post.outcome === 'acked' && ++ackedHere >= killAfter && !last && !killing) {
            const delay = Math.floor(Math.random() * 30);
            kills.push(`phase ${phase}: after ${ackedHere} acks + ${delay} ms, ${posts.length} posts so far`);
            killing = sleep(delay).then(() => kill9(run));
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, poster));
      const refused = posts.filter((p) => p.outcome === 'refused').map((p) => p.answer);
      expect(refused, `phase ${phase}: no update may be refused under load`).toEqual([]);
      if (!last && !killing) {
        kills.push(`phase ${phase}: the load ended before the kill point (${ackedHere} acks)`);
        killing = kill9(run);
      }
      if (killing) await killing;
      if (last) {
        const s = await getJson(url!, '/v1/status');
        const acked = posts.filter((p) => p.outcome === 'acked');
        const inDoubt = posts.filter((p) => p.outcome === 'in_doubt');
        const info = JSON.stringify({
          kills,
          posts: posts.length,
          acked: acked.length,
          inDoubt: inDoubt.length,
          refused: posts.filter((p) => p.outcome === 'refused').map((p) => p.answer),
        });
        expect(posts.length, info).toBe(total);
        expect(
          posts.filter((p) => p.outcome === 'refused'),
          info,
        ).toEqual([]);
        expect(s.updates.accepted, info).toBeGreaterThanOrEqual(acked.length);
        expect(s.updates.accepted, info).toBeLessThanOrEqual(acked.length + inDoubt.length);
        expect(s.updates.accepted).toBe(s.roundsClosed * target + s.round.received);
        for (const r of s.privacy.rounds as Array<{ updates: number }>) expect(r.updates).toBe(target);
        // No nonce was accepted twice: every acknowledged update is now a replay.
        for (const p of acked) {
          const r = await postBytes(url!, p.bytes);
          expect(r.status).toBe(409);
          expect(['replayed_nonce', 'round_closed']).toContain(r.body.reason);
        }
        // An update in doubt was stored or not: it is now a replay or accepted, so in the end every post is counted once.
        for (const p of inDoubt) {
          const r = await postBytes(url!, p.bytes);
          expect([202, 409]).toContain(r.status);
          if (r.status === 409) expect(r.body.reason).toBe('replayed_nonce');
        }
        const final = await getJson(url!, '/v1/status');
        expect(final.updates.accepted, info).toBe(total);
        expect(final.updates.accepted).toBe(final.roundsClosed * target + final.round.received);
        const versions = await expectVersionsLoad(dataDir, url!, final.versions);
        expect(versions.sort()).toEqual([...final.versions].sort());
        versionsPublished = { found: final.versionsPublished, expected: final.roundsClosed + 1 };
        run.child.kill('SIGTERM');
        expect(await run.exited()).toBe(0);
      }
    }
    expect(kills).toHaveLength(3);
    expect(lockHolders.map((l) => l.found)).toEqual(lockHolders.map((l) => l.expected));
    expect(versionsPublished!.found).toBe(versionsPublished!.expected);
  });
});
