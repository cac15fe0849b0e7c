import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  makeSecureReport,
  SECURE_REPORT_CONTENT_TYPE,
  type SecureRoundInfo,
} from '../../../../src/federated/secureAggregation/secureReport';
import { readModelDir } from '../../../../src/node/modelDir';
import { trainableVector } from '../../../../src/server/fedAvg';
import { Random } from '../../../../models/random';
import { TEST_FLAGS } from '../reviewHelpers';
import { BASE_VERSION, MODEL_DIR, root } from '../updateFixtures';

/**
 * Secure aggregation under `kill -9`: the leader and the helper as two real CLI processes, each
 * killed outright at a phase of a secure round and restarted on the same data directory (the
 * helper on the same port, with the same key). Whatever the phase, the round is published exactly
 * once with the sum of exactly the acknowledged reports, or abandoned with nothing published.
 */

const TOKEN = 'secure-crash-test-secret-0123456789';
const TARGET = 4;
const MIN = 3;
const base = readModelDir(MODEL_DIR);
const config = base.weights.config;
const baseVector = trainableVector(base.weights.dense, config);
const maxAbsBase = baseVector.reduce((a, x) => Math.max(a, Math.abs(x)), 0);

interface Proc {
  child: ChildProcess;
  url: string;
  /** Everything it printed on stdout so far. */
  out(): string;
  /** Resolves once its stdout matches `re` (from the start of its output). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map(kill9));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The CLI as a child process; resolves once it prints its `listening on` line. */
function startCli(args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/server/cli.ts'), 'serve', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EDGE_PERSONALIZE_HELPER_TOKEN: TOKEN },
  });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(out)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const waitFor = (re: RegExp, ms = 30_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (re.test(out)) return resolve();
      const timer = setTimeout(() => reject(new Error(`never printed ${re}:\n${out}\n${err}`)), ms);
      waiters.push({
        re,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => reject(new Error(`${args.join(' ')} exited with ${code ?? signal}: ${err}`)));
    waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/).then(() => {
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      resolve({ child, url, out: () => out, waitFor });
    }, reject);
  });
}

/** The helper on `port` (0: any free one), with its own data directory. */
const startHelper = (dataDir: string, port = 0): Promise<Proc> =>
  startCli(['--role', 'helper', '--data', dataDir, '--port', String(port), '--min-cohort', '2']);

/** The leader, secure aggregation with the helper at `helperUrl`. */
const startLeader = (dataDir: string, helperUrl: string, ...extra: string[]): Promise<Proc> =>
  startCli(['--helper', helperUrl, '--data', dataDir, ...TEST_FLAGS, '--target', String(TARGET), '--min-updates', String(MIN), ...extra]);

const kill9 = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGKILL');
  });

const portOf = (url: string): number => Number(new URL(url).port);

const status = async (url: string): Promise<Record<string, any>> => (await (await fetch(`${url}/v1/status`)).json()) as Record<string, any>;

/** Polls the status until `pred` holds, for up to `ms`. */
async function until(url: string, pred: (s: Record<string, any>) => boolean, ms = 30_000): Promise<Record<string, any>> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await status(url);
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`status never matched: ${JSON.stringify({ round: s.round, aggregation: s.aggregation })}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rand = new Random(20240514);

interface Report {
  bytes: Uint8Array;
  reportId: string;
  codes: Int8Array;
}

/** A device's report for the leader's open round (as the device builds it from `GET /v1/model`). */
async function makeReport(url: string): Promise<Report> {
  const m = (await (await fetch(`${url}/v1/model`)).json()) as Record<string, any>;
  const s = m.secureAggregation;
  const round: SecureRoundInfo = { roundId: s.roundId, helperPublicKey: s.helperPublicKey, bits: s.bits, step: s.step };
  const after = new Map([...base.weights.dense].map(([n, a]) => [n, Float32Array.from(a, (x) => x + rand.normal() * 0.001)]));
  const r = await makeSecureReport({
    before: base.weights.dense,
    after,
    config,
    modelVersion: m.modelVersion,
    round,
    clipNorm: m.privacy.clipNorm,
    noiseStd: m.privacy.noiseStd,
  });
  return { bytes: r.bytes, reportId: r.header.reportId, codes: r.codes };
}

async function post(url: string, r: Report): Promise<{ status: number; reason?: string; message?: string }> {
  const res = await fetch(`${url}/v1/updates`, {
    method: 'POST',
    headers: { 'Content-Type': SECURE_REPORT_CONTENT_TYPE },
    body: r.bytes as Uint8Array<ArrayBuffer>,
  });
  const body = (await res.json()) as { reason?: string; message?: string };
  return { status: res.status, reason: body.reason, message: body.message };
}

/** Builds and posts `n` reports to the open round, expecting each acknowledged (202); returns them. */
async function fill(url: string, n: number, acked: Report[]): Promise<Report[]> {
  const made: Report[] = [];
  for (let i = 0; i < n; i++) {
    const r = await makeReport(url);
    const res = await post(url, r);
    expect(res.status, JSON.stringify(res)).toBe(202);
    acked.push(r);
    made.push(r);
  }
  return made;
}

/** The helper's durable answers (`helper-state.json`), [] before its first. */
function helperAnswers(helperDir: string): Array<{ roundId: string; reportIds: string[] }> {
  const path = join(helperDir, 'helper-state.json');
  return existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as { answers: Array<{ roundId: string; reportIds: string[] }> }).answers
    : [];
}

/** The leader's committed state (`state.json`), read while it is down. */
const leaderState = (dataDir: string): Record<string, any> => JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8'));

/**
 * The invariant, whatever happened: no round has two versions, and every published secure round's
 * weights are its parent plus Σ(codes)·step/target over exactly the acknowledged reports of that
 * round the helper could open (here: all of them, every report is sealed to the helper's key),
 * within the int8 rounding of the published file.
 */
function checkInvariant(dataDir: string, s: Record<string, any>, acked: Map<number, Report[]>, helperDir: string): void {
  const versions = s.versions as string[];
  expect(new Set(versions).size).toBe(versions.length);
  const rounds = s.privacy.rounds as Array<{ round: number; version: string; protocol: string; updates: number }>;
  expect(new Set(rounds.map((r) => r.round)).size).toBe(rounds.length);
  expect(new Set(rounds.map((r) => r.version)).size).toBe(rounds.length);
  // Every published version but the base names one round, and that round appears once.
  for (const v of versions.slice(1)) expect(rounds.filter((r) => r.version === v)).toHaveLength(1);
  expect(
    readdirSync(join(dataDir, 'versions'))
      .filter((d) => d.startsWith(`${BASE_VERSION}-r`))
      .sort(),
  ).toEqual(versions.slice(1).sort());
  const answers = helperAnswers(helperDir);
  for (const r of rounds) {
    expect(r.protocol).toBe('secure');
    expect(r.round).toBe(1); // these tests publish round 1 only: its parent is the base
    const reports = acked.get(r.round) ?? [];
    // The helper summed this round once, over exactly the acknowledged reports.
    const answer = answers.filter((a) => a.roundId === String(r.round));
    expect(answer).toHaveLength(1);
    expect([...answer[0]!.reportIds].sort()).toEqual(reports.map((x) => x.reportId).sort());
    expect(r.updates).toBe(reports.length);
    const got = trainableVector(readModelDir(join(dataDir, 'versions', r.version)).weights.dense, config);
    const step = s.aggregation.step as number; // (C + 4·noiseStd)/127, as the server announced it
    let worst = 0;
    let moved = 0;
    for (let i = 0; i < got.length; i++) {
      let sum = 0;
      for (const c of reports) sum += c.codes[i]!;
      const expected = baseVector[i]! + (sum * step) / TARGET;
      worst = Math.max(worst, Math.abs(got[i]! - expected));
      if (Math.abs(expected - baseVector[i]!) > 1e-3) moved++;
    }
    const maxAbs = got.reduce((a, x) => Math.max(a, Math.abs(x)), maxAbsBase);
    expect(moved).toBeGreaterThan(100);
    expect(worst).toBeLessThan(maxAbs / 127);
  }
}

const published = (s: Record<string, any>): string =>
  `versions ${JSON.stringify(s.versions)}, rounds ${JSON.stringify((s.privacy.rounds as any[]).map((r) => [r.round, r.updates]))}, abandoned ${JSON.stringify((s.privacy.abandonedRounds as any[]).map((r) => [r.id, r.reports]))}`;

const tmp = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `fl-secure-crash-${name}-`));
  dirs.push(dir);
  return dir;
};

describe('secure aggregation: kill -9 of the leader and of the helper at each phase of a round', () => {
  it('leader killed while collecting: the acknowledged reports survive, the round closes with all of them', async () => {
    const dataDir = tmp('leader');
    const helperDir = tmp('helper');
    const acked: Report[] = [];
    let helper = await startHelper(helperDir);
    let leader = await startLeader(dataDir, helper.url);
    const first = await fill(leader.url, 2, acked);
    // Both die while the round collects; the helper knows nothing of it yet.
    await kill9(leader.child);
    await kill9(helper.child);
    expect(helperAnswers(helperDir)).toEqual([]);

    helper = await startHelper(helperDir, portOf(helper.url));
    leader = await startLeader(dataDir, helper.url);
    let s = await status(leader.url);
    expect(s.round).toMatchObject({ id: '1', received: 2, closing: null });
    for (const r of first) expect(await post(leader.url, r)).toMatchObject({ status: 409, reason: 'replayed_nonce' });
    await fill(leader.url, 2, acked);
    s = await until(leader.url, (x) => x.roundsClosed === 1);
    expect(s).toMatchObject({ modelVersion: `${BASE_VERSION}-r1`, round: { id: '2', received: 0, closing: null } });
    expect(s.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`]);
    expect(s.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: 4 });
    expect(existsSync(join(dataDir, 'rounds', '1.log'))).toBe(false);
    expect((await post(leader.url, first[0]!)).status).toBe(409); // still refused once the round is closed
    checkInvariant(dataDir, s, new Map([[1, acked]]), helperDir);
    console.log(
      `phase 1 (leader and helper killed after 2/4 reports): the restarted leader counted 2, published r1 with ${s.privacy.rounds[0].updates}; ${published(s)}`,
    );
  }, 90_000);

  it('leader killed with the cohort fixed while the helper is down: after both restart, published once with the 4 reports', async () => {
    const dataDir = tmp('leader');
    const helperDir = tmp('helper');
    const acked: Report[] = [];
    let helper = await startHelper(helperDir);
    const port = portOf(helper.url);
    let leader = await startLeader(dataDir, helper.url);
    await kill9(helper.child);
    await fill(leader.url, 4, acked);
    let s = await until(leader.url, (x) => x.round.closing !== null && x.aggregation.helperFailure !== null);
    expect(s.round).toMatchObject({ id: '1', received: 4, closing: { reports: 4 } });
    expect(s.roundsClosed).toBe(0);
    const late = await makeReport(leader.url);
    const refused = await post(leader.url, late);
    expect(refused).toMatchObject({ status: 503, reason: 'round_full' });
    expect(refused.message).toMatch(/being summed with the helper/);
    await kill9(leader.child);
    expect(leaderState(dataDir).round).toMatchObject({ id: 1, closing: { reports: 4 } });

    // The leader restarts first, with the helper still down: it starts on the helper's key kept in
    // its data directory, and the round waits; then the helper comes back.
    leader = await startLeader(dataDir, `http://127.0.0.1:${port}`);
    expect(leader.out()).toMatch(/using its key from .*helper\.json: rounds wait until it answers/);
    expect((await status(leader.url)).round).toMatchObject({ id: '1', closing: { reports: 4 } });
    helper = await startHelper(helperDir, port);
    s = await until(leader.url, (x) => x.roundsClosed === 1, 40_000);
    expect(s.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`]);
    expect(s.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: 4 });
    expect(s.round).toMatchObject({ id: '2', received: 0, closing: null });
    expect(helperAnswers(helperDir).map((a) => a.roundId)).toEqual(['1']);
    expect(await post(leader.url, late)).toMatchObject({ status: 409, reason: 'round_closed' });
    checkInvariant(dataDir, s, new Map([[1, acked]]), helperDir);
    console.log(
      `phase 2 (leader killed while closing, helper down): 5th report refused 503, leader restarted first on the kept key, then the helper: ${published(s)}`,
    );
  }, 90_000);

  it('helper killed -9 around its answer: once it is back the round is published once, with the right sum', async () => {
    const dataDir = tmp('leader');
    const helperDir = tmp('helper');
    const acked: Report[] = [];
    let helper = await startHelper(helperDir);
    const port = portOf(helper.url);
    const leader = await startLeader(dataDir, helper.url);
    await fill(leader.url, 3, acked);
    // The 4th report fixes the cohort (and sends the request) before its acknowledgement.
    const last = await makeReport(leader.url);
    const posting = post(leader.url, last);
    const seen = await until(leader.url, (x) => x.round.closing !== null || x.roundsClosed === 1, 10_000);
    await kill9(helper.child);
    expect((await posting).status).toBe(202);
    acked.push(last);
    const answeredBeforeKill = helperAnswers(helperDir).some((a) => a.roundId === '1');
    const printedBeforeKill = /round 1: summed/.test(helper.out());
    const mid = await status(leader.url);

    helper = await startHelper(helperDir, port);
    const s = await until(leader.url, (x) => x.roundsClosed === 1, 40_000);
    expect(s.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`]);
    expect(s.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: 4 });
    expect(s.privacy.abandonedRounds).toEqual([]);
    expect(helperAnswers(helperDir).map((a) => a.roundId)).toEqual(['1']);
    // Whether the first helper's answer was stored or not, the round is in its state once.
    if (mid.roundsClosed === 0) await helper.waitFor(/round 1: summed 4 reports/);
    checkInvariant(dataDir, s, new Map([[1, acked]]), helperDir);
    console.log(
      `phase 3 (helper killed when the leader showed ${seen.round.closing ? 'round.closing' : 'the round already published'}): before the kill the helper had ${answeredBeforeKill ? 'stored' : 'not stored'} its answer (${printedBeforeKill ? 'and printed it' : 'not printed'}); the leader had ${mid.roundsClosed === 1 ? 'already published' : `not published (helperFailure ${JSON.stringify(mid.aggregation.helperFailure)})`}; after restart ${published(s)}`,
    );
  }, 90_000);

  it('helper and leader both killed -9 right after the helper stored its answer: the restarted helper answers the same from its state', async () => {
    const dataDir = tmp('leader');
    const helperDir = tmp('helper');
    const acked: Report[] = [];
    let helper = await startHelper(helperDir);
    const port = portOf(helper.url);
    let leader = await startLeader(dataDir, helper.url);
    await fill(leader.url, 3, acked);
    const last = await makeReport(leader.url);
    const posting = post(leader.url, last).catch((err: Error) => ({ status: 0, reason: err.message }));
    // The helper prints "summed" after its answer is in helper-state.json, before it is sent.
    await helper.waitFor(/round 1: summed/);
    await Promise.all([kill9(leader.child), kill9(helper.child)]);
    const ack = await posting;
    acked.push(last); // in the cohort the helper answered for, acknowledged or not
    const stored = helperAnswers(helperDir);
    expect(stored.map((a) => a.roundId)).toEqual(['1']);
    const publishedBeforeKill = leaderState(dataDir).totals.rounds === 1;

    helper = await startHelper(helperDir, port);
    leader = await startLeader(dataDir, helper.url);
    const s = await until(leader.url, (x) => x.roundsClosed === 1);
    if (!publishedBeforeKill) await helper.waitFor(/round 1: summed 4 reports/);
    expect(s.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`]);
    expect(s.privacy.rounds).toHaveLength(1);
    expect(s.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: 4 });
    expect(helperAnswers(helperDir)).toEqual(stored); // answered from its state, nothing new recorded
    checkInvariant(dataDir, s, new Map([[1, acked]]), helperDir);
    console.log(
      `phase 3b (both killed when the helper printed "summed"): the 4th post got ${ack.status === 0 ? 'no answer' : ack.status}; the leader had ${publishedBeforeKill ? 'already committed r1' : 'not committed r1, and the restarted helper answered it from helper-state.json'}; after restart ${published(s)}`,
    );
  }, 90_000);

  it('leader killed right after the helper answered: restarted, it publishes one version for the round, the helper sums it once', async () => {
    const dataDir = tmp('leader');
    const helperDir = tmp('helper');
    const acked: Report[] = [];
    const helper = await startHelper(helperDir);
    let leader = await startLeader(dataDir, helper.url);
    await fill(leader.url, 3, acked);
    const last = await makeReport(leader.url);
    const posting = post(leader.url, last).catch((err: Error) => ({ status: 0, reason: err.message }));
    await helper.waitFor(/round 1: summed/);
    await kill9(leader.child);
    const ack = await posting;
    // The 4th report is in the cohort the helper answered for, acknowledged or not: its record is fsynced before the request.
    acked.push(last);
    const committed = leaderState(dataDir);
    const publishedBeforeKill = committed.totals.rounds === 1;

    leader = await startLeader(dataDir, helper.url);
    const s = await until(leader.url, (x) => x.roundsClosed === 1);
    expect(s.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`]);
    expect(s.versionsPublished).toBe(2);
    expect(s.privacy.rounds).toHaveLength(1);
    expect(s.privacy.rounds[0]).toMatchObject({ round: 1, protocol: 'secure', updates: 4 });
    expect(s.round).toMatchObject({ id: '2', closing: null });
    const answers = helperAnswers(helperDir);
    expect(answers.map((a) => a.roundId)).toEqual(['1']);
    // Asked again after the restart (the same request, the same stored answer), unless the leader
    // had committed the round before it died.
    if (!publishedBeforeKill) await helper.waitFor(/round 1: summed 4 reports[\s\S]*round 1: summed 4 reports/);
    const summedLines = helper.out().match(/round 1: summed 4 reports/g) ?? [];
    expect(summedLines.length).toBe(publishedBeforeKill ? 1 : 2);
    checkInvariant(dataDir, s, new Map([[1, acked]]), helperDir);
    console.log(
      `phase 4 (leader killed when the helper printed "summed"): the 4th post got ${ack.status === 0 ? 'no answer' : ack.status}; the leader had ${publishedBeforeKill ? 'already committed r1' : `not committed (closing ${JSON.stringify(committed.round.closing?.reports)})`}; the helper answered ${summedLines.length}× (stored once); after restart ${published(s)}`,
    );
  }, 90_000);

  it('a round below the minimum cohort whose deadline passes while the leader is down is abandoned at restart, nothing published', async () => {
    const dataDir = tmp('leader');
    const helperDir = tmp('helper');
    const acked: Report[] = [];
    const helper = await startHelper(helperDir);
    let leader = await startLeader(dataDir, helper.url, '--deadline-minutes', '0.1');
    const before = await status(leader.url);
    const reports = await fill(leader.url, 2, acked);
    const deadline = Date.parse(before.round.deadline as string);
    expect(Date.now()).toBeLessThan(deadline); // acknowledged in time…
    await kill9(leader.child); // …and the leader dies before the deadline
    expect(leaderState(dataDir).round).toMatchObject({ id: 1 });
    expect(leaderState(dataDir).round.closing).toBeUndefined();
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() + 200)));

    leader = await startLeader(dataDir, helper.url, '--deadline-minutes', '0.1');
    const s = await status(leader.url);
    expect(s.round).toMatchObject({ id: '2', received: 0, closing: null });
    expect(s.roundsClosed).toBe(0);
    expect(s.versions).toEqual([BASE_VERSION]);
    expect(s.privacy.rounds).toEqual([]);
    expect(s.privacy.abandonedRounds).toHaveLength(1);
    expect(s.privacy.abandonedRounds[0]).toMatchObject({ id: 1, reports: 2 });
    expect(s.privacy.abandonedRounds[0].reason).toMatch(/fewer than the minimum cohort of 3/);
    expect(existsSync(join(dataDir, 'rounds', '1.log'))).toBe(false);
    expect(
      readFileSync(join(dataDir, 'rounds', '1.nonces'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .sort(),
    ).toEqual(reports.map((r) => r.reportId).sort());
    expect(helperAnswers(helperDir)).toEqual([]); // the helper never saw a cohort below the minimum
    for (const r of reports) expect(await post(leader.url, r)).toMatchObject({ status: 409, reason: 'round_closed' });
    // Round 2 is open and accepting.
    expect((await post(leader.url, await makeReport(leader.url))).status).toBe(202);
    checkInvariant(dataDir, s, new Map([[1, acked]]), helperDir);
    console.log(`phase 5 (2/3 reports, deadline passed while the leader was down): at restart ${published(s)}; round 2 open`);
  }, 90_000);
});
