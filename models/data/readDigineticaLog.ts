import { existsSync, readFileSync } from 'node:fs';
import { DataFileError } from './dataFileError';
import { newReport, skipRow, type ReadReport } from './dataset';
import { filterRareItems } from './filterRareItems';
import { removeUnknownTestItems } from './removeUnknownTestItems';
import type { SessionSplit } from './writeSplit';

/** The header line of the CIKM Cup 2016 `train-item-views.csv`. */
export const DIGINETICA_LOG_HEADER = 'session_id;user_id;item_id;timeframe;eventdate';

/** Knobs of the SR-GNN preprocessing; the defaults reproduce the published split. */
export interface DigineticaLogOptions {
  /** Items seen fewer times than this (over all sessions) are removed. Default 5. */
  minItemCount?: number;
  /** Sessions dated after `last date − testDays` are the test set. Default 7. */
  testDays?: number;
}

/** How many sessions and clicks each preprocessing step kept or removed. */
export interface DigineticaLogStats {
  /** Distinct sessions among the good rows. */
  sessions: number;
  /** Sessions of one view, dropped first. */
  singleViewSessions: number;
  /** Distinct items below `minItemCount`, and their clicks, removed. */
  rareItems: number;
  rareItemClicks: number;
  /** Sessions left shorter than 2 by the item filter, dropped. */
  shortAfterItemFilter: number;
  /** Latest session date (`YYYY-MM-DD`) and the split date `maxDate − testDays`. */
  maxDate: string;
  splitDate: string;
  /** Sessions dated exactly on the split date: SR-GNN puts them in neither set (`<` and `>`). */
  onSplitDate: number;
  trainSessions: number;
  trainClicks: number;
  /** Distinct training items: the vocabulary size. */
  items: number;
  /** Test-period sessions before unknown items were removed. */
  testSessionsDated: number;
  /** Test clicks on items never seen in training, removed. */
  unknownTestClicks: number;
  /** Test sessions left shorter than 2 by that, dropped. */
  shortTestSessions: number;
  testSessions: number;
  testClicks: number;
  /** Evaluation cases: the sum over test sessions of (length − 1). */
  cases: number;
}

/** A raw DIGINETICA log turned into a train/test split, with what was skipped and why. */
export interface DigineticaLogSplit extends SessionSplit {
  /** Bad rows by reason: `empty_line`, `bad_field_count`, `non_integer_session_id`, `non_integer_item_id`, `bad_timeframe`, `bad_date`. */
  report: ReadReport;
  stats: DigineticaLogStats;
}

const DAY_MS = 86_400_000;
const INTEGER = /^\d{1,15}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, or null when it is not a real calendar date. */
function dayNumber(text: string): number | null {
  const m = DATE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms / DAY_MS;
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

interface RawSession {
  items: string[];
  views: { item: string; timeframe: number }[];
  day: number;
}

/**
 * Applies the SR-GNN preprocessing (CRIPAC-DIG/SR-GNN `datasets/preprocess.py`) to the text of a
 * raw DIGINETICA item-view log (`session_id;user_id;item_id;timeframe;eventdate`, `;`-separated,
 * header line optional):
 *
 * 1. group views by session and order each session by `timeframe` (stable, so ties keep file
 *    order, as Python's `sorted` does);
 * 2. date each session by the `eventdate` of its last row in file order, which is what the
 *    script reads (`curdate` when the session id changes), not the session's latest date: the
 *    two differ for a few sessions whose rows are not in date order (session 629 of the sample);
 * 3. drop sessions of length 1, remove items seen fewer than `minItemCount` times, drop sessions
 *    left shorter than 2 (see {@link filterRareItems});
 * 4. split at `maxDate − testDays`: earlier sessions train, later ones test, and sessions on the
 *    split date itself are in neither set, because the script tests `<` and `>`; both sets are
 *    ordered by date, ties in order of the session's first row;
 * 5. remove test items never seen in training and drop test sessions left shorter than 2.
 *
 * Consecutive repeated views are kept. Dates are whole UTC days, so no time zone or daylight
 * saving shift can move a session across the split (the original used `time.mktime` in local
 * time). Item ids are kept as they are in the log, not renumbered. Bad rows are counted, never
 * thrown; a file with no good rows gives an empty split.
 */
export function digineticaLogSplit(text: string, source: string, options: DigineticaLogOptions = {}): DigineticaLogSplit {
  const minItemCount = options.minItemCount ?? 5;
  const testDays = options.testDays ?? 7;
  const report = newReport(source);
  const bySession = new Map<string, RawSession>();

  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    if (i === 0 && line.replace(/^\uFEFF/, '').trim() === DIGINETICA_LOG_HEADER) return;
    report.rows++;
    const lineNo = i + 1;
    if (line.trim() === '') return skipRow(report, 'empty_line', lineNo, line);
    const f = line.split(';');
    if (f.length !== 5) return skipRow(report, 'bad_field_count', lineNo, line);
    const [sessionId, , item, timeframe, eventdate] = f.map((x) => x.trim()) as [string, string, string, string, string];
    if (!INTEGER.test(sessionId)) return skipRow(report, 'non_integer_session_id', lineNo, line);
    if (!INTEGER.test(item)) return skipRow(report, 'non_integer_item_id', lineNo, line);
    if (!INTEGER.test(timeframe)) return skipRow(report, 'bad_timeframe', lineNo, line);
    const day = dayNumber(eventdate);
    if (day === null) return skipRow(report, 'bad_date', lineNo, line);
    let s = bySession.get(sessionId);
    if (!s) {
      s = { items: [], views: [], day };
      bySession.set(sessionId, s);
    }
    s.views.push({ item, timeframe: Number(timeframe) });
    s.day = day;
  });

  const sessions = [...bySession.values()];
  const multiView: RawSession[] = [];
  for (const s of sessions) {
    if (s.views.length < 2) continue;
    s.items = s.views.sort((a, b) => a.timeframe - b.timeframe).map((v) => v.item);
    multiView.push(s);
  }
  const filtered = filterRareItems(multiView, minItemCount);

  let maxDay = -Infinity;
  for (const s of filtered.sessions) maxDay = Math.max(maxDay, s.day);
  const splitDay = maxDay - testDays;
  const byDay = (a: RawSession, b: RawSession) => a.day - b.day;
  const train = filtered.sessions
    .filter((s) => s.day < splitDay)
    .sort(byDay)
    .map((s) => s.items);
  const dated = filtered.sessions
    .filter((s) => s.day > splitDay)
    .sort(byDay)
    .map((s) => s.items);
  const known = removeUnknownTestItems(train, dated);

  const clicks = (ss: string[][]) => ss.reduce((n, s) => n + s.length, 0);
  const stats: DigineticaLogStats = {
    sessions: sessions.length,
    singleViewSessions: sessions.length - multiView.length,
    rareItems: filtered.itemsRemoved,
    rareItemClicks: filtered.occurrencesRemoved,
    shortAfterItemFilter: filtered.sessionsDropped,
    maxDate: Number.isFinite(maxDay) ? isoDate(maxDay) : '',
    splitDate: Number.isFinite(splitDay) ? isoDate(splitDay) : '',
    onSplitDate: filtered.sessions.length - train.length - dated.length,
    trainSessions: train.length,
    trainClicks: clicks(train),
    items: known.trainItems,
    testSessionsDated: dated.length,
    unknownTestClicks: known.occurrencesRemoved,
    shortTestSessions: known.sessionsDropped,
    testSessions: known.test.length,
    testClicks: clicks(known.test),
    cases: clicks(known.test) - known.test.length,
  };
  return { train, test: known.test, report, stats };
}

/**
 * Reads a raw DIGINETICA log file and preprocesses it with {@link digineticaLogSplit}.
 * Throws {@link DataFileError} only when the file does not exist.
 */
export function readDigineticaLog(path: string, options: DigineticaLogOptions = {}): DigineticaLogSplit {
  if (!existsSync(path)) throw new DataFileError(`DIGINETICA log not found: ${path} (expected ${DIGINETICA_LOG_HEADER} rows)`);
  return digineticaLogSplit(readFileSync(path, 'utf8'), path, options);
}
