/**
 * `npm run bench:poisoning -- [--server-root DIR] [--target N] [--rounds R] [--clip C] [--noise-multiplier σ] [--json]`:
 * how far attackers can push the demo model along a direction of their choosing, per round,
 * through the real aggregation server (its CLI, spawned from `--server-root`, default this
 * checkout, so an older checkout can be measured the same way).
 *
 * Each round has `target` updates. Honest devices send what an honest device's update looks like
 * to the server (a clipped signal of norm C in a random direction plus their share of the noise,
 * σ·C/√target per coordinate, stochastically rounded to int8); they are stand-ins, not trained
 * updates, which is enough here: the quantity measured is the projection of each round's step on
 * the attack direction u, and an honest update's projection on a direction fixed by someone else
 * is noise. Attackers (a share of 0, 10 or 30 % of the round) each send the update the server's
 * checks let through that moves the model furthest along u: u scaled to the largest norm the
 * server accepts, quantized with the largest accepted int8 step. On a server with the old,
 * inflatable rounding allowance (`--server-root` an older checkout), the same attacker also tries
 * codes ±1 with an enormous step.
 *
 * `--sybil`: every attacker posts from its own address (else all from one). Where the server
 * has participation tokens (this checkout), every post first obtains a token for its address and
 * round, as a device does; `--no-tokens` runs the server without them. `--attack inflated`:
 * codes ±1 along sign(u) with a step that makes the norm 1e4 (refused since the step is bounded).
 *
 * Prints, per share: the drift per round (Δw·u, mean over the rounds), the accepted attacker
 * updates, and the norm of the trainable weights for scale. Addresses: honest devices and
 * attackers post from distinct loopback addresses (127.0.x.y); the rate limit is left at the
 * server's default.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeUpdate, federatedShapes, federatedSize, UPDATE_CONTENT_TYPE, UPDATE_FORMAT_VERSION } from '../../src/federated/modelUpdate';
import type { ModelConfig } from '../../src/model/plain/modelConfig';
import { Random } from '../../models/random';
import { numberArg, parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import { readModelDir } from '../../src/node/modelDir';
import { obtainToken } from '../../src/federated/participationToken';
import { trainableVector } from '../../src/server/fedAvg';

const here = new URL('../../', import.meta.url).pathname;

interface ServerInfo {
  modelVersion: string;
  round: { id: string; target: number };
  privacy: { clipNorm: number; noiseStd: number };
  participation?: { issuerName: string; publicKey: string; tokenKeyId: string };
}

function startCli(root: string, dataDir: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
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
      '--model',
      join(here, 'models/online-retail'),
      ...args,
    ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) ok({ child, port: Number(m[1]) });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => fail(new Error(`server exited with ${code}: ${err.trim()}`)));
  });
}

/** Set when the server wants participation tokens: each post first obtains one for its address. */
let issuer: { issuerName: string; publicKey: string; tokenKeyId: string } | null = null;
let openRound = '1';
const tokenCache = new Map<string, string>();

async function post(port: number, body: Uint8Array, localAddress: string): Promise<{ status: number; reason: string }> {
  // A token is spent only by an accepted update (the server checks the update first), so a
  // device keeps its token for the round until then.
  let authorization = tokenCache.get(`${localAddress} ${openRound}`);
  if (issuer && !authorization) {
    try {
      authorization = await obtainToken(`http://127.0.0.1:${port}`, { ...issuer, roundId: openRound }, fetchFrom(localAddress));
      tokenCache.set(`${localAddress} ${openRound}`, authorization);
    } catch (err) {
      return { status: (err as { status?: number }).status ?? 0, reason: (err as { reason?: string }).reason ?? (err as Error).name };
    }
  }
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        path: '/v1/updates',
        method: 'POST',
        headers: {
          'Content-Type': UPDATE_CONTENT_TYPE,
          'Content-Length': body.length,
          ...(authorization ? { Authorization: authorization } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let reason = '';
          try {
            reason = (JSON.parse(text) as { reason?: string }).reason ?? '';
          } catch {
            /* not JSON */
          }
          if (res.statusCode === 202 || reason === 'token_spent') tokenCache.delete(`${localAddress} ${openRound}`);
          ok({ status: res.statusCode ?? 0, reason });
        });
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** A `fetch` whose requests leave from `localAddress` (a loopback address per simulated device). */
function fetchFrom(localAddress: string): typeof fetch {
  return (input, init) =>
    new Promise<Response>((ok, fail) => {
      const url = new URL(String(input));
      const body = init?.body as Uint8Array | undefined;
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: init?.method ?? 'GET',
          localAddress,
          headers: { ...(init?.headers as Record<string, string>), ...(body ? { 'Content-Length': String(body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            ok(
              new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), {
                status: res.statusCode ?? 0,
                headers: res.headers as Record<string, string>,
              }),
            ),
          );
        },
      );
      req.on('error', fail);
      req.end(body);
    });
}

/** int8 codes of `values` with one step per tensor (`step(t, maxAbs)` chooses it), stochastic rounding. */
function quantize(
  values: Float64Array,
  config: ModelConfig,
  rng: Random,
  step: (maxAbs: number) => number,
): { codes: Int8Array; scales: number[] } {
  const codes = new Int8Array(values.length);
  const scales: number[] = [];
  let at = 0;
  for (const [, shape] of federatedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let max = 0;
    for (let i = at; i < at + n; i++) max = Math.max(max, Math.abs(values[i]!));
    const scale = step(max) || 1e-12;
    scales.push(scale);
    for (let i = at; i < at + n; i++) {
      const x = values[i]! / scale;
      const k = Math.floor(x);
      codes[i] = Math.max(-127, Math.min(127, k + (rng.next() < x - k ? 1 : 0)));
    }
    at += n;
  }
  return { codes, scales };
}

function encode(info: ServerInfo, q: { codes: Int8Array; scales: number[] }): Uint8Array {
  return encodeUpdate(
    {
      formatVersion: UPDATE_FORMAT_VERSION,
      modelVersion: info.modelVersion,
      roundId: info.round.id,
      exampleBucket: 16,
      nonce: randomBytes(16).toString('hex'),
      clipNorm: info.privacy.clipNorm,
      noiseStd: info.privacy.noiseStd,
      scales: q.scales,
    },
    q.codes,
  );
}

/** The bounds of the current checkout (validateUpdate.ts), recomputed here so an older server can be probed with them. */
function currentBounds(config: ModelConfig, clip: number, noiseStd: number): { maxScale: number; normBound: number } {
  const d = federatedSize(config);
  const maxScale = (clip + noiseStd * (Math.sqrt(2 * Math.log(2 * d)) + 4)) / 127;
  const v = noiseStd * noiseStd;
  const normBound = Math.sqrt(clip * clip + v * (d + 8 * Math.sqrt(2 * d)) + 16 * clip * noiseStd) + Math.sqrt(d) * maxScale;
  return { maxScale, normBound };
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(
    argv,
    ['server-root', 'target', 'rounds', 'clip', 'noise-multiplier', 'shares', 'attack'],
    ['json', 'sybil', 'no-tokens'],
  );
  const attack = args.get('attack') ?? 'edge';
  if (attack !== 'edge' && attack !== 'inflated') throw new UsageError('--attack must be edge or inflated');
  const sybil = args.has('sybil');
  // Participation tokens: on where the server has them, unless --no-tokens.
  const tokensOn = !args.has('no-tokens');
  const root = resolve(args.get('server-root') ?? here);
  const target = numberArg(args, 'target', 100, 2, 10_000);
  const rounds = numberArg(args, 'rounds', 3, 1, 100);
  const clip = numberArg(args, 'clip', 0.1, 1e-6, 100);
  const sigma = numberArg(args, 'noise-multiplier', 1, 0, 100);
  const shares = (args.get('shares') ?? '0,0.1,0.3').split(',').map(Number);
  const help = await new Promise<string>((ok) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/server/cli.ts'), '--help'], { cwd: root });
    let t = '';
    c.stdout.on('data', (b: Buffer) => (t += b.toString()));
    c.on('exit', () => ok(t));
  });
  const knows = (flag: string): boolean => help.includes(`--${flag}`);
  const manifest = JSON.parse(readFileSync(join(here, 'models/online-retail/model.json'), 'utf8')) as { config: ModelConfig };
  const config = manifest.config;
  const d = federatedSize(config);
  const rng = new Random(11);
  // The attack direction: a fixed random unit vector.
  const u = Float64Array.from({ length: d }, () => rng.normal());
  const un = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
  for (let i = 0; i < d; i++) u[i]! /= un;

  const results: Array<Record<string, unknown>> = [];
  for (const share of shares) {
    const attackers = Math.round(share * target);
    const dataDir = mkdtempSync(join(tmpdir(), 'fl-poison-'));
    const flags = [
      '--target',
      String(target),
      '--clip',
      String(clip),
      '--noise-multiplier',
      String(sigma),
      '--population',
      String(target * 100),
    ];
    if (knows('max-noise-ratio')) flags.push('--max-noise-ratio', 'inf');
    if (knows('max-epsilon')) flags.push('--max-epsilon', 'inf');
    if (knows('max-connections-per-address')) flags.push('--max-connections-per-address', '1024');
    if (knows('tokens')) flags.push('--tokens', tokensOn ? '1' : '0');
    const { child, port } = await startCli(root, dataDir, flags);
    const drift: number[] = [];
    let edgeFactor: number | null = null;
    const accepted = { attacker: 0, honest: 0, attackerTried: 0 };
    const refusals: Record<string, number> = {};
    let weightsNorm = 0;
    try {
      const url = `http://127.0.0.1:${port}`;
      for (let r = 1; r <= rounds; r++) {
        const info = (await (await fetch(`${url}/v1/model`)).json()) as ServerInfo;
        issuer = info.participation ?? null;
        openRound = info.round.id;
        const before = trainableVector(readModelDir(join(dataDir, 'versions', info.modelVersion, 'float')).weights.dense, config);
        if (r === 1) weightsNorm = Math.sqrt(before.reduce((s, x) => s + x * x, 0));
        const noiseStd = info.privacy.noiseStd;
        const { maxScale, normBound } = currentBounds(config, clip, noiseStd);
        const bodies: Array<{ body: Uint8Array; attacker: boolean; from: string }> = [];
        // The furthest along u the checks allow: norm just under the bound, step ≤ maxScale.
        const edge = (factor: number): { codes: Int8Array; scales: number[] } =>
          quantize(
            Float64Array.from(u, (x) => x * normBound * factor),
            config,
            rng,
            (m) => Math.min(m / 127, maxScale),
          );
        if (attack === 'edge' && attackers > 0 && edgeFactor === null) {
          // Probe the server's real bound once (refused updates cost the attacker nothing): the
          // largest norm it accepts, from the current checkout's bound down in 2 % steps. The
          // probe's accepted update counts as one of the round's attacker updates.
          edgeFactor = 0;
          // From the attacker's own address: a refused update spends neither a token nor, with
          // tokens, anything else (without tokens the old rate limit would count the probes, so
          // they come from throw-away addresses; the bound can equally be read from the code).
          for (let f = 0.995, i = 1; f > 0.05; f *= 0.98, i++) {
            const res = await post(port, encode(info, edge(f)), issuer ? '127.0.1.1' : `127.0.250.${i}`);
            if (res.status === 202) {
              edgeFactor = f;
              accepted.attacker++;
              accepted.attackerTried++;
              break;
            }
            if (res.reason !== 'norm_too_large') break;
          }
        }
        const probed = attack === 'edge' && r === 1 && attackers > 0 && (edgeFactor ?? 0) > 0 ? 1 : 0;
        for (let k = probed; k < attackers; k++) {
          let q: { codes: Int8Array; scales: number[] };
          if (attack === 'edge') {
            q = edge(edgeFactor || 0.995);
          } else {
            // Codes ±1 along sign(u) with a step that makes the norm 1e4 (the old rounding allowance grew with the step).
            const step = 1e4 / Math.sqrt(d);
            q = { codes: Int8Array.from(u, (x) => (x >= 0 ? 1 : -1)), scales: federatedShapes(config).map(() => step) };
          }
          bodies.push({ body: encode(info, q), attacker: true, from: sybil ? `127.0.1.${k + 1}` : '127.0.1.1' });
        }
        for (let k = attackers; k < target; k++) {
          const s = Float64Array.from({ length: d }, () => rng.normal());
          const sn = Math.sqrt(s.reduce((t, x) => t + x * x, 0));
          const v = Float64Array.from(s, (x) => (x / sn) * clip + rng.normal() * noiseStd);
          bodies.push({
            body: encode(
              info,
              quantize(v, config, rng, (m) => m / 127),
            ),
            attacker: false,
            from: `127.0.${2 + (k >> 8)}.${(k & 255) + 1}`,
          });
        }
        // Attackers post first: the round is theirs to fill as far as the server lets them.
        for (const b of bodies) {
          const res = await post(port, b.body, b.from);
          if (b.attacker) accepted.attackerTried++;
          if (res.status === 202) {
            if (b.attacker) accepted.attacker++;
            else accepted.honest++;
          } else {
            refusals[res.reason] = (refusals[res.reason] ?? 0) + 1;
            if (process.env.DEBUG_POISON) console.error(r, b.from, b.attacker, res.reason);
          }
        }
        // Refused attacker updates leave room: honest devices (new addresses) fill the round.
        let after = (await (await fetch(`${url}/v1/model`)).json()) as ServerInfo;
        for (let extra = 0; after.modelVersion === info.modelVersion; extra++) {
          if (extra > target) throw new Error(`round ${r} did not close (${JSON.stringify(refusals)})`);
          const s = Float64Array.from({ length: d }, () => rng.normal());
          const sn = Math.sqrt(s.reduce((t, x) => t + x * x, 0));
          const v = Float64Array.from(s, (x) => (x / sn) * clip + rng.normal() * noiseStd);
          const res = await post(
            port,
            encode(
              info,
              quantize(v, config, rng, (m) => m / 127),
            ),
            `127.0.${100 + r}.${(extra % 250) + 1}`,
          );
          if (res.status === 202) accepted.honest++;
          after = (await (await fetch(`${url}/v1/model`)).json()) as ServerInfo;
        }
        const next = trainableVector(readModelDir(join(dataDir, 'versions', after.modelVersion, 'float')).weights.dense, config);
        let proj = 0;
        for (let i = 0; i < d; i++) proj += (next[i]! - before[i]!) * u[i]!;
        drift.push(proj);
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
      rmSync(dataDir, { recursive: true, force: true });
    }
    const mean = drift.reduce((a, b) => a + b, 0) / drift.length;
    const attackNorm = (edgeFactor ?? 0) * currentBounds(config, clip, (sigma * clip) / Math.sqrt(target)).normBound;
    const row = {
      share,
      target,
      clip,
      sigma,
      attack,
      sybil,
      tokens: tokensOn && knows('tokens'),
      attackersPerRound: attackers,
      driftPerRound: mean,
      attackNorm,
      drift,
      weightsNorm,
      accepted,
      refusals,
    };
    results.push(row);
    console.error(
      `${attack} attack, ${sybil ? 'one address per attacker' : 'one address'}, ${row.tokens ? 'tokens' : 'no tokens'}, share ${(share * 100).toFixed(0)} %: drift per round along u ${mean.toFixed(4)} (${((100 * mean) / weightsNorm).toFixed(2)} % of ‖w‖ ${weightsNorm.toFixed(2)}); attacker updates accepted ${accepted.attacker}/${accepted.attackerTried}${attack === 'edge' && attackers > 0 ? ` at norm ${attackNorm.toFixed(3)}` : ''}; refusals ${JSON.stringify(refusals)}`,
    );
  }
  if (args.has('json')) console.log(JSON.stringify({ serverRoot: root, results }, null, 1));
}

runCli('bench:poisoning', main);
