import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ONLINE_RETAIL_CREDIT } from '../../../models/data/onlineRetailCredit';

const root = new URL('../../../', import.meta.url).pathname;
const fixture = (name: string) => join(root, 'test/fixtures', name);
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'models/data/cli.ts'), ...args], { cwd: root, encoding: 'utf8' });

describe('prepare-data CLI', () => {
  it('exits 2 with one line for a missing input or an unknown command', () => {
    const missing = run('online-retail', '--in', '/no/such/dir', '--out', join(tmpdir(), 'unused'));
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('prepare-data: Online Retail directory not found: /no/such/dir');
    expect(run('diginetica-log', '--in', '/no/such.csv', '--out', '/tmp/unused').status).toBe(2);
    expect(run('frobnicate').status).toBe(2);
  });

  it('online-retail writes the sessions, catalogue.json and CREDIT.txt', () => {
    const input = mkdtempSync(join(tmpdir(), 'retail-in-'));
    writeFileSync(join(input, 'online_retail.csv.gz'), gzipSync(readFileSync(fixture('online-retail-sample.csv'))));
    copyFileSync(fixture('products-sample.csv'), join(input, 'products.csv'));
    const out = mkdtempSync(join(tmpdir(), 'retail-out-'));
    const r = run('online-retail', '--in', input, '--out', out, '--min-item-count', '1');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/cancellation\s+2/);
    expect(readFileSync(join(out, 'train_sessions.txt'), 'utf8').split('\n')[0]).toMatch(/^85123A 71053 84406B /);
    expect(existsSync(join(out, 'test_sessions.txt'))).toBe(true);
    expect(existsSync(join(out, 'test_pairs.tsv'))).toBe(false);
    const catalogue = JSON.parse(readFileSync(join(out, 'catalogue.json'), 'utf8')) as unknown[];
    expect(catalogue).toHaveLength(39);
    expect(catalogue[0]).toEqual({
      id: '85123A',
      name: 'White Hanging Heart T-Light Holder',
      category: 'Candles & Lights',
      price: 2.95,
      popularity: 2265,
    });
    expect(readFileSync(join(out, 'CREDIT.txt'), 'utf8').split('\n')[0]).toBe(ONLINE_RETAIL_CREDIT);
    expect(ONLINE_RETAIL_CREDIT).toContain('https://doi.org/10.24432/C5BW33');
  });

  it('diginetica-log writes a split directory', () => {
    const out = mkdtempSync(join(tmpdir(), 'dg-out-'));
    const r = run('diginetica-log', '--in', fixture('diginetica-log-sample.csv'), '--out', out);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/cases\s+15/);
    expect(readFileSync(join(out, 'test_pairs.tsv'), 'utf8').trim().split('\n')).toHaveLength(15);
  });
});
