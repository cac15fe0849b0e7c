import { describe, expect, it } from 'vitest';
import { DataFileError } from '../../../models/data/dataFileError';
import { readSplit } from '../../../models/data/readSplit';

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;

describe('readSplit bad rows', () => {
  const data = readSplit(fixture('split-bad-rows'));
  const [train, test, pairs] = data.reports;

  it('counts bad training lines and keeps the good ones', () => {
    // "1 2 3", "", "4", "2 3 4 5", "1 b@d 3", "5 1"
    expect(train!.rows).toBe(6);
    expect(train!.skipped).toEqual({ empty_line: 1, session_shorter_than_2: 1, bad_item_id: 1 });
    expect(data.train.map((s) => [...s].map((i) => data.vocab[i]))).toEqual([
      ['1', '2', '3'],
      ['2', '3', '4', '5'],
      ['5', '1'],
    ]);
  });

  it('drops unknown test items and counts them, then sessions left shorter than 2', () => {
    // "1 2 3", "9 2", "9 9 1", "3 bad! 1", "", "2 4 9 5"
    expect(test!.rows).toBe(6);
    expect(test!.skipped).toEqual({ unknown_item_dropped: 4, session_shorter_than_2: 2, bad_item_id: 1, empty_line: 1 });
    expect(data.test.map((s) => [...s].map((i) => data.vocab[i]))).toEqual([
      ['1', '2', '3'],
      ['2', '4', '5'],
    ]);
  });

  it('counts bad pairs; an unknown target stays as a counted miss', () => {
    // "1 2\t3", "1\t2", "no tab here", "9 9\t1", "1 9\t9", "1 2\t!bad"
    expect(pairs!.rows).toBe(6);
    expect(pairs!.skipped).toEqual({
      no_tab: 1,
      unknown_item_dropped: 3,
      empty_prefix: 1,
      unknown_target_counted_as_miss: 1,
      bad_target: 1,
    });
    expect(data.cases.map((c) => c.target)).toEqual([data.vocab.indexOf('3'), data.vocab.indexOf('2'), -1]);
  });

  it('throws DataFileError for a directory without training sessions', () => {
    expect(() => readSplit(fixture('no-such-dir'))).toThrow(DataFileError);
  });
});
