import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  encodeUpdate,
  federatedShapes,
  UPDATE_CONTENT_TYPE,
  UPDATE_FORMAT_VERSION,
  type UpdateHeader,
} from '../../../src/federated/modelUpdate';
import { fetchModelFiles } from '../../../src/model/plain/modelFiles';
import { readModelDir } from '../../../src/node/modelDir';
import { VERSION_PATTERN } from '../../../src/server/versionStore';
import { BASE_VERSION, CONFIG, freshNonce, root } from './updateFixtures';

/** Helpers of the attack and fault tests (attacks.test.ts, faults.test.ts). */

/** Number of values of each trainable tensor, in wire order. */
export const TENSOR_SIZES = federatedShapes(CONFIG).map(([, shape]) => shape.reduce((a, b) => a * b, 1));

/**
 * An update written by hand: the int8 codes and the per-tensor scales exactly as given (what a
 * malicious device can send), the rest of the header valid for `noiseStd` and clip norm 1.
 */
export function craftUpdate(codes: Int8Array, scales: number[], spec: Partial<UpdateHeader> & { noiseStd: number }): Uint8Array {
  const header: UpdateHeader = {
    formatVersion: UPDATE_FORMAT_VERSION,
    modelVersion: BASE_VERSION,
    roundId: '1',
    exampleBucket: 16,
    nonce: freshNonce(),
    clipNorm: 1,
    scales,
    ...spec,
  };
  return encodeUpdate(header, codes);
}

/**
 * Reads every published version in `<dataDir>/versions` with the project's own loaders (the Node
 * reader, which decodes and checks every tensor, and, when `url` is given, the browser's
 * `fetchModelFiles` over HTTP) and checks every weight is finite. Returns the versions read.
 */
export async function expectVersionsLoad(dataDir: string, url?: string, served?: readonly string[]): Promise<string[]> {
  const dir = join(dataDir, 'versions');
  const versions = readdirSync(dir).filter((v) => VERSION_PATTERN.test(v));
  for (const v of versions) {
    const model = readModelDir(join(dir, v)); // throws ModelFormatError on non-finite or truncated tensors
    expect(model.manifest.modelVersion).toBe(v);
    for (const [name, t] of model.weights.dense) expect(t.every(Number.isFinite), `${v}: ${name} is finite`).toBe(true);
    expect(model.weights.items.every(Number.isFinite)).toBe(true);
    if (url && (!served || served.includes(v))) {
      const files = await fetchModelFiles(`${url}/v1/models/${v}/model.json`);
      expect(files.manifest.modelVersion).toBe(v);
      for (const [, t] of files.dense) expect(t.every(Number.isFinite)).toBe(true);
    }
  }
  return versions;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms until it returns true or `ms` pass; resolves to its last answer. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await sleep(50);
  }
}

export const CLI = join(root, 'src/server/cli.ts');

/**
 * The flags of crashRecovery.test.ts: no rate limit, clip 1, the budget and noise checks off, no
 * participation tokens, no announced rows (the fixtures' updates are dense only; rounds with rows
 * have their own tests).
 */
export const TEST_FLAGS = [
  '--rows-per-round',
  '0',
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
  '--tokens',
  '0',
];

/** A CLI child: what it printed so far, and how it ended (once it has). */
export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the URL once it prints its listening line, or with null if it exits first or `ms` pass. */
  listening: (ms?: number) => Promise<string | null>;
  /** Resolves with the exit code (or signal name) once it has exited, or null after `ms`. */
  exited: (ms?: number) => Promise<number | string | null>;
}

/** Spawns the server CLI (`args` as given; nothing added). */
export function spawnCli(args: string[]): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exit: number | string | null = null;
  const ended = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = (): string | null => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? null;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async listening(ms = 15_000) {
      await waitFor(() => url() !== null || exit !== null, ms);
      return url();
    },
    async exited(ms = 15_000) {
      await Promise.race([ended, sleep(ms)]);
      return exit;
    },
  };
}

/** `kill -9` and wait for the exit. */
export async function kill9(run: CliRun): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return;
  const gone = run.exited(10_000);
  process.kill(run.child.pid!, 'SIGKILL');
  await gone;
}

export async function postBytes(url: string, bytes: Uint8Array): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}/v1/updates`, {
    method: 'POST',
    headers: { 'Content-Type': UPDATE_CONTENT_TYPE },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function getJson(url: string, path: string): Promise<Record<string, any>> {
  return (await (await fetch(`${url}${path}`)).json()) as Record<string, any>;
}
