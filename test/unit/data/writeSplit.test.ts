import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDigineticaLog } from '../../../models/data/readDigineticaLog';
import { readSplit } from '../../../models/data/readSplit';
import { writeSplit, type SessionSplit } from '../../../models/data/writeSplit';

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;
const ids = (vocab: string[], s: Int32Array) => [...s].map((i) => vocab[i]!);

describe('writeSplit', () => {
  it('writes every prefix → next item, longest prefix first, like SR-GNN', () => {
    const dir = mkdtempSync(join(tmpdir(), 'split-'));
    const written = writeSplit(dir, {
      train: [['a', 'b', 'c', 'd']],
      test: [
        ['a', 'b', 'c', 'd'],
        ['c', 'a'],
      ],
    });
    expect(readFileSync(join(dir, 'test_pairs.tsv'), 'utf8')).toBe('a b c\td\na b\tc\na\tb\nc\ta\n');
    expect(readFileSync(join(dir, 'train_sessions.txt'), 'utf8')).toBe('a b c d\n');
    expect(written.cases).toBe(4);
    expect(written.files.map((f) => f.bytes)).toEqual([8, 12, 22]);
  });

  it('round-trips through readSplit on the real DIGINETICA fixture', () => {
    const split = readDigineticaLog(fixture('diginetica-log-sample.csv'));
    const dir = mkdtempSync(join(tmpdir(), 'split-'));
    writeSplit(dir, split);
    const back = readSplit(dir);
    expect(back.train.map((s) => ids(back.vocab, s))).toEqual(split.train);
    expect(back.test.map((s) => ids(back.vocab, s))).toEqual(split.test);
    expect(back.cases).toHaveLength(split.stats.cases);
    expect(back.vocab).toHaveLength(split.stats.items);
    for (const r of back.reports) expect(r.skipped).toEqual({});
  });

  it('can leave test_pairs.tsv out (removing a stale one); readSplit derives the same cases', () => {
    const split: SessionSplit = {
      train: [
        ['1', '2', '3'],
        ['3', '4'],
      ],
      test: [
        ['1', '2', '3', '4'],
        ['4', '3'],
      ],
    };
    const withPairs = mkdtempSync(join(tmpdir(), 'split-'));
    writeSplit(withPairs, split);
    const without = mkdtempSync(join(tmpdir(), 'split-'));
    writeSplit(without, split);
    writeSplit(without, split, { pairs: false });
    expect(existsSync(join(without, 'test_pairs.tsv'))).toBe(false);
    const a = readSplit(withPairs).cases.map((c) => [[...c.prefix], c.target]);
    const b = readSplit(without).cases.map((c) => [[...c.prefix], c.target]);
    expect(b).toEqual(a);
    expect(a).toHaveLength(4);
  });
});
