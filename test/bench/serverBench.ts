/**
 * `npm run bench:server`: accepted updates per second and latency of the aggregation server on
 * loopback. The server runs as its own process (the CLI, as deployed) on 127.0.0.1 over a
 * fresh temporary data directory; this process is a bounded load generator: a fixed number of
 * valid updates (fresh nonces), a fixed concurrency over keep-alive connections, nothing else.
 *
 * Two phases, each on a fresh server with the rate limit off:
 *   1. no round closes (target far above the number of updates): the per-update path alone
 *      (read, validate, decode, norm, append + fsync, sum, 202);
 *   2. with round closes (target 200): the same plus a FedAvg + publish every 200 updates.
 *   3. round closes one after another (target 1) up to CLOSE_ROUNDS (4,000): the close time at
 *      round 10 and at the last round, and the state's size (it must not grow with history).
 * Prints measured numbers; asserts nothing. Options: UPDATES (default 2000), CONCURRENCY (phase 1,
 * 16; phase 2 runs at 16 and 64), CLOSE_ROUNDS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeUpdate,
  federatedShapes,
  UPDATE_CONTENT_TYPE,
  UPDATE_FORMAT_VERSION,
  type UpdateHeader,
} from '../../src/federated/modelUpdate';
import type { ModelConfig } from '../../src/model/plain/modelConfig';
import { Random } from '../../models/random';

const UPDATES = Number(process.env.UPDATES ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const WARMUP = 100;
const root = new URL('../../', import.meta.url).pathname;
const modelDir = join(root, 'models/online-retail');
const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { modelVersion: string; config: ModelConfig };

/**
 * `n` valid updates for a server with the given target (noise std σ·C/√target, σ = C = 1), all
 * trained from the base version for round 1 (phase 2's server accepts them however many rounds
 * have closed since: its staleness limit is raised, so every update is accepted, down-weighted).
 */
function makeUpdates(n: number, target: number): Uint8Array[] {
  const rng = new Random(7);
  const noiseStd = 1 / Math.sqrt(target);
  const shapes = federatedShapes(manifest.config);
  const out: Uint8Array[] = [];
  for (let u = 0; u < n; u++) {
    const scales: number[] = [];
    const parts: Int8Array[] = [];
    for (const [, shape] of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      // Noise dominates a real update; its int8 codes span about ±4.5 std.
      const scale = (4.5 * noiseStd) / 127;
      scales.push(scale);
      parts.push(Int8Array.from({ length: size }, () => Math.max(-127, Math.min(127, Math.round((rng.normal() * noiseStd) / scale)))));
    }
    const codes = new Int8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      codes.set(p, at);
      at += p.length;
    }
    out.push(
      encodeUpdate(
        {
          formatVersion: UPDATE_FORMAT_VERSION,
          modelVersion: manifest.modelVersion,
          roundId: '1',
          exampleBucket: 16,
          nonce: randomBytes(16).toString('hex'),
          clipNorm: 1,
          noiseStd,
          scales,
        },
        codes,
      ),
    );
  }
  return out;
}

function startServer(
  dataDir: string,
  target: number,
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number; lines: string[] }> {
  // The bench's updates are made with clip norm 1 (σ = 1); budget and noise checks are off so
  // that thousands of rounds can close; one address opens up to 64 connections; no participation
  // tokens (a token is a separate request per update, its issuance measured in the token tests).
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
      '--target',
      String(target),
      '--rate-limit',
      '0',
      '--max-staleness',
      '1000',
      '--keep-versions',
      '1001',
      '--population',
      '1e9',
      '--clip',
      '1',
      '--max-noise-ratio',
      'inf',
      '--max-epsilon',
      'inf',
      '--max-connections-per-address',
      '256',
      '--tokens',
      '0',
      ...extra,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let out = '';
    let resolved = false;
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const parts = out.split('\n');
      out = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (m && !resolved) {
          resolved = true;
          resolve({ child, port: Number(m[1]), lines });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function post(agent: Agent, port: number, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/updates',
        method: 'POST',
        agent,
        headers: { 'Content-Type': UPDATE_CONTENT_TYPE, 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(label: string, target: number, total: number, concurrency: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fl-bench-'));
  const { child, port } = await startServer(dataDir, target);
  const updates = makeUpdates(total + WARMUP, target);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    // Warm-up (JIT, connections), not measured; in phase 2 it counts towards the first round.
    for (const u of updates.slice(0, WARMUP)) await post(agent, port, u);
    const measured = updates.slice(WARMUP);
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < measured.length) {
          const body = measured[next++]!;
          const t0 = process.hrtime.bigint();
          const status = await post(agent, port, body);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2);
    const accepted = statuses.get(202) ?? 0;
    const s = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { roundsClosed: number };
    console.log(
      `${label}, concurrency ${concurrency}: update size ${measured[0]!.length} bytes; ${accepted}/${measured.length} accepted in ${seconds.toFixed(2)} s → ${(accepted / seconds).toFixed(0)} accepted updates/s; latency p50 ${pct(50)} ms, p95 ${pct(95)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)!.toFixed(2)} ms; rounds closed ${s.roundsClosed}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Phase 3: the cost of a round close as history grows. Target 1: every update closes a round,
 * `CLOSE_ROUNDS` (default 4,000) in a row, each update for the round and version then open; the
 * server's own figure ("took N ms" in its log, FedAvg + quantize + publish + fsync + state
 * commit) is read for rounds 1-20 and for the last 20. Default retention (10 versions).
 */
async function closeCost(rounds: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fl-bench-'));
  const { child, port, lines } = await startServer(dataDir, 1, ['--min-updates', '1', '--max-staleness', '2', '--keep-versions', '10']);
  const [template] = makeUpdates(1, 1);
  const headerLength = new DataView(template!.buffer, template!.byteOffset).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(template!.subarray(8, 8 + headerLength))) as UpdateHeader;
  const codes = new Int8Array(template!.buffer, template!.byteOffset + 8 + headerLength);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const started = performance.now();
  try {
    for (let r = 1; r <= rounds; r++) {
      const body = encodeUpdate(
        {
          ...header,
          roundId: String(r),
          modelVersion: r === 1 ? manifest.modelVersion : `${manifest.modelVersion}-r${r - 1}`,
          nonce: randomBytes(16).toString('hex'),
        },
        codes,
      );
      const status = await post(agent, port, body);
      if (status !== 202) throw new Error(`round ${r}: HTTP ${status}`);
      if (r % 500 === 0) console.log(`  … ${r}/${rounds} rounds closed (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
    await new Promise((r) => setTimeout(r, 200));
    const took = lines
      .map((l) => /round (\d+) closed .*took (\d+) ms/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ round: Number(m![1]), ms: Number(m![2]) }));
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const early = took.filter((t) => t.round >= 1 && t.round <= 20).map((t) => t.ms);
    const late = took.filter((t) => t.round > rounds - 20).map((t) => t.ms);
    const state = statSync(join(dataDir, 'state.json')).size;
    const versions = readdirSync(join(dataDir, 'versions')).filter((f) => !f.startsWith('.')).length;
    const statusBytes = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).text()).length;
    console.log(
      `phase 3, close cost over ${rounds} rounds (target 1): median close rounds 1-20 ${median(early)} ms (round 10: ${took.find((t) => t.round === 10)?.ms} ms), rounds ${rounds - 19}-${rounds} ${median(late)} ms (round ${rounds}: ${took.find((t) => t.round === rounds)?.ms} ms); state.json ${state} B, ${versions} versions on disk, /v1/status ${statusBytes} B; ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const CLOSE_ROUNDS = Number(process.env.CLOSE_ROUNDS ?? 4000);
console.log(
  `server bench: ${UPDATES} updates per phase, 127.0.0.1, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}`,
);
console.log('every 202 is sent after the update is appended to the round log and fsynced');
await run('phase 1, no round closes (target 1e6)', 1e6, UPDATES, CONCURRENCY);
for (const c of [16, 64])
  await run(`phase 2, a round closes every 200 updates (${Math.floor((UPDATES + WARMUP) / 200)} closes)`, 200, UPDATES, c);
await closeCost(CLOSE_ROUNDS);
