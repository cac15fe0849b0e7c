import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './updateFixtures';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/server/cli.ts'), ...args], { cwd: root, encoding: 'utf8' });

describe('server CLI', () => {
  it('prints its options with --help', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--noise-multiplier F/);
    expect(r.stdout).toMatch(/--sketch-buckets N/);
  });

  it('refuses bad flags and a missing model with one line and exit code 2', () => {
    const missing = cli('--model', '/no/such/model', '--port', '0');
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('server: model directory not found: /no/such/model (expected model.json in it)');
    expect(cli('--targte', '3').stderr.trim()).toBe('server: unknown option --targte');
    expect(cli('--target', 'many').stderr.trim()).toMatch(/^server: --target must be a number/);
    expect(cli('--target', '2.5').status).toBe(2);
    expect(cli('--sketch-buckets', '0.5').stderr.trim()).toBe('server: --sketch-buckets must be a whole number, got "0.5"');
  });
});
