import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRuntimeFile } from '../../../src/node/sdkAssets';
import { root } from './updateFixtures';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/server/cli.ts'), ...args], { cwd: root, encoding: 'utf8' });

describe('edge-personalize (the package bin)', () => {
  it('lists its commands; serve --help lists the server options', () => {
    const usage = cli();
    expect(usage.status).toBe(0);
    expect(usage.stdout).toMatch(/^usage: edge-personalize <command>/);
    expect(usage.stdout).toMatch(/serve \[options\]/);
    expect(usage.stdout).toMatch(/assets DIR/);
    const help = cli('serve', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: edge-personalize serve \[options\]/);
    expect(help.stdout).toMatch(/--noise-multiplier F/);
  });

  it('an unknown command or a bad serve option: one line, exit code 2', () => {
    const unknown = cli('server');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim()).toBe('server: unknown command "server" (expected serve or assets; see edge-personalize help)');
    const bad = cli('serve', '--targte', '3');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('server: unknown option --targte');
    expect(cli('assets').status).toBe(2);
  });

  it('the run-time files are the Worker, its chunks, the wasm binaries and their maps, not the loader or the ESM entry', () => {
    for (const f of [
      'edge-personalize.worker.js',
      'edge-personalize.ml-wasm.js',
      'edge-personalize.vitals.js.map',
      'tfjs-backend-wasm-simd.wasm',
    ])
      expect(isRuntimeFile(f), f).toBe(true);
    for (const f of ['edge-personalize.js', 'edge-personalize.mjs', 'edge-personalize.js.map', 'index.d.ts'])
      expect(isRuntimeFile(f), f).toBe(false);
  });

  it.runIf(existsSync(join(root, 'dist/edge-personalize.worker.js')))('assets DIR copies them from dist/', () => {
    const out = mkdtempSync(join(tmpdir(), 'ep-assets-'));
    try {
      const r = cli('assets', join(out, 'sdk'));
      expect(r.status).toBe(0);
      const copied = readdirSync(join(out, 'sdk'));
      expect(copied).toContain('edge-personalize.worker.js');
      expect(copied).toContain('tfjs-backend-wasm-simd.wasm');
      expect(copied).not.toContain('edge-personalize.js');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
