import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { digineticaLogSplit, readDigineticaLog } from '../../../models/data/readDigineticaLog';
import { DataFileError } from '../../../models/data/dataFileError';

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;
const SAMPLE = fixture('diginetica-log-sample.csv');
const BAD = fixture('diginetica-log-bad-rows.csv');
const sessionsOf = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' '));

describe('readDigineticaLog on a real cut of sample_train-item-views.csv', () => {
  const split = readDigineticaLog(SAMPLE);

  it('reads every row of the 65 whole sessions without skipping any', () => {
    expect(split.report.rows).toBe(407);
    expect(split.report.skipped).toEqual({});
    expect(split.stats.sessions).toBe(65);
  });

  it('gives exactly what SR-GNN datasets/preprocess.py gives on the same file', () => {
    // The .srgnn-*.txt files were written by running the original script on this fixture
    // (with its item renumbering undone), so this pins every step and the session order.
    expect(split.train).toEqual(sessionsOf('diginetica-log-sample.srgnn-train.txt'));
    expect(split.test).toEqual(sessionsOf('diginetica-log-sample.srgnn-test.txt'));
  });

  it('counts each preprocessing step', () => {
    expect(split.stats).toMatchObject({
      singleViewSessions: 5,
      shortAfterItemFilter: 21,
      maxDate: '2016-06-01',
      splitDate: '2016-05-25',
      onSplitDate: 3,
      trainSessions: 26,
      trainClicks: 89,
      items: 18,
      testSessionsDated: 10,
      testSessions: 8,
      cases: 15,
    });
    const s = split.stats;
    expect(s.sessions - s.singleViewSessions - s.shortAfterItemFilter).toBe(s.trainSessions + s.onSplitDate + s.testSessionsDated);
    expect(s.testSessionsDated - s.shortTestSessions).toBe(s.testSessions);
  });

  it('orders views by timeframe, not by file order', () => {
    // Ties (10 and 10) keep file order, as Python's stable sort does.
    const text = [
      'session_id;user_id;item_id;timeframe;eventdate',
      '1;NA;11;30;2016-01-01',
      '1;NA;12;10;2016-01-01',
      '1;NA;13;20;2016-01-01',
      '1;NA;14;10;2016-01-01',
      '2;NA;11;0;2016-02-01',
      '2;NA;12;1;2016-02-01',
    ].join('\n');
    expect(digineticaLogSplit(text, 'inline', { minItemCount: 1 }).train).toEqual([['12', '14', '13', '11']]);
    // The same on real rows: session 629, whose 17 rows are far from timeframe order.
    const rows = readFileSync(SAMPLE, 'utf8')
      .split('\n')
      .map((l) => l.split(';'))
      .filter((f) => f[0] === '629');
    const fileOrder = rows.map((f) => f[2]!);
    const byTime = [...rows].sort((a, b) => Number(a[3]) - Number(b[3])).map((f) => f[2]!);
    expect(byTime).not.toEqual(fileOrder);
    // testDays 0: everything before the last day is training, so nothing removes its items.
    expect(readDigineticaLog(SAMPLE, { minItemCount: 1, testDays: 0 }).train).toContainEqual(byTime);
  });

  it('removes items seen fewer than minItemCount times, then sessions left shorter than 2', () => {
    const text = [
      '1;NA;100;0;2016-01-01',
      '1;NA;100;1;2016-01-01',
      '1;NA;200;2;2016-01-01',
      '2;NA;100;0;2016-01-02',
      '2;NA;300;1;2016-01-02',
      '3;NA;200;0;2016-01-03',
      '3;NA;300;1;2016-01-03',
      '3;NA;100;2;2016-01-03',
      '4;NA;999;0;2016-01-04',
      '5;NA;100;0;2016-02-01',
      '5;NA;100;1;2016-02-01',
    ].join('\n');
    const s = digineticaLogSplit(text, 'inline', { minItemCount: 3 });
    // 100 occurs 6 times (repeats count), 200 and 300 twice each; session 4 has one view.
    expect(s.stats).toMatchObject({ singleViewSessions: 1, rareItems: 2, rareItemClicks: 4, shortAfterItemFilter: 2 });
    expect(s.train).toEqual([['100', '100']]);
    expect(s.test).toEqual([['100', '100']]);
  });

  it('tests on the last testDays days, drops the split date itself and unknown test items', () => {
    const text = [
      '1;NA;1;0;2016-01-01',
      '1;NA;2;1;2016-01-01',
      '2;NA;1;0;2016-01-03',
      '2;NA;2;1;2016-01-03', // on the split date (max − 7): neither set
      '3;NA;2;0;2016-01-05',
      '3;NA;9;1;2016-01-05',
      '3;NA;1;2;2016-01-05', // 9 is not in training
      '4;NA;9;0;2016-01-10',
      '4;NA;9;1;2016-01-10',
      '4;NA;1;2;2016-01-10', // left with one item
    ].join('\n');
    const s = digineticaLogSplit(text, 'inline', { minItemCount: 1 });
    expect(s.stats).toMatchObject({
      maxDate: '2016-01-10',
      splitDate: '2016-01-03',
      onSplitDate: 1,
      unknownTestClicks: 3,
      shortTestSessions: 1,
    });
    expect(s.train).toEqual([['1', '2']]);
    expect(s.test).toEqual([['2', '1']]);
  });

  it('dates a session by its last row in file order, as the original script does', () => {
    // Session 1's rows are not in date order: its last row says 2016-01-01, so it is training
    // data although it also has a view dated in the test week.
    const text = ['1;NA;1;0;2016-01-20', '1;NA;2;1;2016-01-01', '2;NA;1;0;2016-01-20', '2;NA;2;1;2016-01-20'].join('\n');
    const s = digineticaLogSplit(text, 'inline', { minItemCount: 1 });
    expect(s.train).toEqual([['1', '2']]);
    expect(s.test).toEqual([['1', '2']]);
  });
});

describe('readDigineticaLog bad rows', () => {
  it('counts every malformed row by reason and reads nothing from them', () => {
    const split = readDigineticaLog(BAD);
    expect(split.report.rows).toBe(10);
    expect(split.report.skipped).toEqual({
      bad_field_count: 2,
      non_integer_session_id: 1,
      non_integer_item_id: 2,
      bad_timeframe: 2,
      bad_date: 2,
      empty_line: 1,
    });
    expect(split.report.examples[0]).toMatch(/^line 2: bad_field_count: 9001;NA;81766;526309$/);
    expect(split.train).toEqual([]);
    expect(split.test).toEqual([]);
  });

  it('gives the same split when the bad rows are appended to the real fixture', () => {
    const good = readFileSync(SAMPLE, 'utf8');
    const bad = readFileSync(BAD, 'utf8').split('\n').slice(1).join('\n');
    const mixed = digineticaLogSplit(good + bad, 'mixed');
    const clean = readDigineticaLog(SAMPLE);
    expect(mixed.train).toEqual(clean.train);
    expect(mixed.test).toEqual(clean.test);
    expect(Object.values(mixed.report.skipped).reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('throws a named error only for a missing file', () => {
    expect(() => readDigineticaLog(fixture('no-such-file.csv'))).toThrow(DataFileError);
  });
});
