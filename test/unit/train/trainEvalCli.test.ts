import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const cli = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, script), ...args], { cwd: root, encoding: 'utf8' });
const train = (...args: string[]) => cli('models/train/cli.ts', ...args);
const evalCli = (...args: string[]) => cli('models/eval/cli.ts', ...args);

const TINY = ['--embed-dim', '8', '--hidden-dim', '8', '--attn-dim', '4', '--negatives', '32', '--batch-size', '16'];

/** A split directory made from the real raw-log fixture by the prepare-data CLI. */
function fixtureSplit(): string {
  const dir = mkdtempSync(join(tmpdir(), 'split-'));
  const r = cli('models/data/cli.ts', 'diginetica-log', '--in', join(root, 'test/fixtures/diginetica-log-sample.csv'), '--out', dir);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

describe('train and eval CLIs', () => {
  it('reject a missing or malformed data directory with one clear line and exit code 2', () => {
    const out = mkdtempSync(join(tmpdir(), 'model-'));
    const missing = train('--data', '/no/such/dir', '--out', out);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('train: data directory not found: /no/such/dir (expected a folder with train_sessions.txt)');

    const empty = mkdtempSync(join(tmpdir(), 'empty-'));
    expect(train('--data', empty, '--out', out).stderr).toMatch(/train_sessions\.txt is missing/);
    writeFileSync(join(empty, 'train_sessions.txt'), '#?! @@\n\nlonely\n');
    const bad = train('--data', empty, '--out', out);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/holds no usable session/);

    expect(train('--data', empty).status).toBe(2);
    expect(train('--data', empty, '--out', out, '--epochs', 'many').stderr).toMatch(/--epochs must be a number/);
    expect(train('--data', empty, '--out', out, '--epohcs', '3').stderr).toMatch(/unknown option --epohcs/);
  });

  it('train refuses a step too large for the wasm heap before training, not with an abort mid-run', () => {
    // 20,000 items in 10,000 two-item sessions; batch 4096 × 199 rows × 20,000 candidates.
    const data = mkdtempSync(join(tmpdir(), 'wide-'));
    writeFileSync(
      join(data, 'train_sessions.txt'),
      Array.from({ length: 10_000 }, (_, i) => `${2 * i + 1} ${2 * i + 2}`).join('\n') + '\n',
    );
    const huge = train('--data', data, '--out', join(data, 'm'), '--batch-size', '4096', '--max-len', '200', '--negatives', '20000');
    expect(huge.status, huge.stderr).toBe(2);
    expect(huge.stderr).toMatch(
      /full softmax over 20000 items makes a step's score matrix of \d+ M entries, over the 64 M the wasm heap holds: lower --batch-size or --negatives/,
    );
    expect(existsSync(join(data, 'm'))).toBe(false);
  });

  it('train writes int8 + float models that eval scores, and --resume continues the run', () => {
    const data = fixtureSplit();
    const out = join(mkdtempSync(join(tmpdir(), 'model-')), 'm');
    const first = train('--data', data, '--out', out, '--epochs', '1', ...TINY);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/epoch 1 done: mean loss \d/);
    for (const f of ['model.json', 'weights.bin', 'vocab.txt', 'metadata.json', 'float/model.json', 'float/weights.bin']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // int8 stores the item table in about a quarter of the float bytes.
    expect(statSync(join(out, 'weights.bin')).size).toBeLessThan(statSync(join(out, 'float/weights.bin')).size / 2.5);

    const resumed = train('--data', data, '--out', out, '--resume', '--epochs', '2');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed: epoch 2, batch 0/);
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')) as { training: { history: unknown[] } };
    expect(meta.training.history).toHaveLength(2);
    expect(train('--data', data, '--out', out, '--resume', '--scale', '3').status).toBe(2);

    const ev = evalCli('--model', out, '--data', data, '--json', '--record', '--baselines', 'pop,vsknn');
    expect(ev.status, ev.stderr).toBe(0);
    const lines = ev.stdout.trim().split('\n');
    const json = JSON.parse(lines[lines.length - 1]!) as Record<string, { recall20: number; mrr20: number }> & {
      baselines: Record<string, unknown>;
    };
    for (const k of ['int8', 'float']) {
      expect(json[k]!.recall20).toBeGreaterThanOrEqual(0);
      expect(json[k]!.recall20).toBeLessThanOrEqual(1);
      expect(json[k]!.mrr20).toBeLessThanOrEqual(json[k]!.recall20);
    }
    expect(Object.keys(json.baselines)).toEqual(['pop', 'vsknn']);
    const recorded = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')) as { test: { int8: unknown } };
    expect(recorded.test.int8).toEqual({ recall20: json.int8!.recall20, mrr20: json.int8!.mrr20 });
  }, 180_000);

  it('--average-epochs reports the average on validation and ships it', () => {
    const data = fixtureSplit();
    const out = join(mkdtempSync(join(tmpdir(), 'model-')), 'm');
    const r = train('--data', data, '--out', out, '--epochs', '2', '--average-epochs', '1', '--holdout', '0.2', ...TINY);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/epoch 1: validation of the weight average/);
    expect(r.stderr).toMatch(/epoch 2: validation of the weight average \(\d+ snapshots\) Recall@20 [01]\.\d{4}/);
    expect(r.stderr).toMatch(/shipping the mean of \d+ weight snapshots \(the last 1 epochs\)/);
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')) as { training: { history: Array<{ averaged?: unknown }> } };
    expect(meta.training.history[1]!.averaged).toMatchObject({ snapshots: expect.any(Number) });
    expect(train('--data', data, '--out', out, '--average-epochs', '3', '--epochs', '2').stderr).toMatch(
      /--average-epochs must be a whole number of epochs ≤ --epochs \(2\)/,
    );
  });

  it('eval explains a model directory without its float model', () => {
    const data = fixtureSplit();
    const dir = mkdtempSync(join(tmpdir(), 'nomodel-'));
    mkdirSync(join(dir, 'x'));
    const r = evalCli('--model', join(dir, 'x'), '--data', data, '--baselines', 'none');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/float\/model\.json not found/);
  });
});
