import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataFileError } from './dataFileError';
import { newReport, skipRow, type ReadReport, type SplitDataset, type TestCase } from './dataset';

/** Files of the split format, relative to the data directory. */
export const SPLIT_FILES = {
  train: 'train_sessions.txt',
  test: 'test_sessions.txt',
  pairs: 'test_pairs.tsv',
} as const;

const ITEM_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Parses one session line: item ids separated by white space. Returns null (and counts the row)
 * when a token is not a plausible item id.
 */
function parseSessionLine(line: string, lineNo: number, report: ReadReport): string[] | null {
  const tokens = line.trim().split(/\s+/);
  for (const t of tokens) {
    if (!ITEM_ID.test(t)) {
      skipRow(report, 'bad_item_id', lineNo, line);
      return null;
    }
  }
  return tokens;
}

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const out = text.split(/\r?\n/);
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * Reads a directory in the split format:
 * - `train_sessions.txt`: one session per line, item ids separated by spaces (required);
 * - `test_sessions.txt`: the same for the test period (optional);
 * - `test_pairs.tsv`: `prefix<TAB>target` evaluation cases (optional; derived from the test
 *   sessions — every prefix of length ≥ 1 with its next item — when absent).
 *
 * The vocabulary is the set of training items in order of first appearance. Bad rows (empty
 * lines, sessions shorter than 2, malformed ids, pairs without a tab) are skipped and counted in
 * `reports`; test items unknown to training are dropped from test sessions and pair prefixes and
 * counted; a pair whose target is unknown keeps `target = -1` (a guaranteed miss) and is counted.
 * Throws {@link DataFileError} only when the directory or its training file is missing or empty.
 */
export function readSplit(dir: string): SplitDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DataFileError(`data directory not found: ${dir} (expected a folder with ${SPLIT_FILES.train})`);
  }
  const trainPath = join(dir, SPLIT_FILES.train);
  if (!existsSync(trainPath)) {
    throw new DataFileError(
      `${trainPath} is missing: a split-format directory needs ${SPLIT_FILES.train} (one session per line, item ids separated by spaces)`,
    );
  }

  const vocab: string[] = [];
  const index = new Map<string, number>();
  const reports: ReadReport[] = [];

  const trainReport = newReport(trainPath);
  const train: Int32Array[] = [];
  lines(trainPath).forEach((line, i) => {
    trainReport.rows++;
    if (line.trim() === '') return skipRow(trainReport, 'empty_line', i + 1, line);
    const ids = parseSessionLine(line, i + 1, trainReport);
    if (!ids) return;
    if (ids.length < 2) return skipRow(trainReport, 'session_shorter_than_2', i + 1, line);
    const s = new Int32Array(ids.length);
    ids.forEach((id, k) => {
      let ix = index.get(id);
      if (ix === undefined) {
        ix = vocab.length;
        vocab.push(id);
        index.set(id, ix);
      }
      s[k] = ix;
    });
    train.push(s);
  });
  reports.push(trainReport);
  if (train.length === 0) {
    throw new DataFileError(
      `${trainPath} holds no usable session (${trainReport.rows} rows read; skipped: ${JSON.stringify(trainReport.skipped)})`,
    );
  }

  const mapKnown = (ids: string[], report: ReadReport, lineNo: number, line: string): Int32Array => {
    const out: number[] = [];
    for (const id of ids) {
      const ix = index.get(id);
      if (ix === undefined) skipRow(report, 'unknown_item_dropped', lineNo, line);
      else out.push(ix);
    }
    return Int32Array.from(out);
  };

  const test: Int32Array[] = [];
  const testPath = join(dir, SPLIT_FILES.test);
  if (existsSync(testPath)) {
    const report = newReport(testPath);
    lines(testPath).forEach((line, i) => {
      report.rows++;
      if (line.trim() === '') return skipRow(report, 'empty_line', i + 1, line);
      const ids = parseSessionLine(line, i + 1, report);
      if (!ids) return;
      const s = mapKnown(ids, report, i + 1, line);
      if (s.length < 2) return skipRow(report, 'session_shorter_than_2', i + 1, line);
      test.push(s);
    });
    reports.push(report);
  }

  let cases: TestCase[] = [];
  const pairsPath = join(dir, SPLIT_FILES.pairs);
  if (existsSync(pairsPath)) {
    const report = newReport(pairsPath);
    lines(pairsPath).forEach((line, i) => {
      report.rows++;
      const tab = line.indexOf('\t');
      if (tab < 0) return skipRow(report, 'no_tab', i + 1, line);
      const prefixIds = parseSessionLine(line.slice(0, tab), i + 1, report);
      if (!prefixIds) return;
      const targetId = line.slice(tab + 1).trim();
      if (!ITEM_ID.test(targetId)) return skipRow(report, 'bad_target', i + 1, line);
      const prefix = mapKnown(prefixIds, report, i + 1, line);
      if (prefix.length === 0) return skipRow(report, 'empty_prefix', i + 1, line);
      const target = index.get(targetId) ?? -1;
      if (target < 0) skipRow(report, 'unknown_target_counted_as_miss', i + 1, line);
      cases.push({ prefix, target });
    });
    reports.push(report);
  } else {
    cases = casesFromSessions(test);
  }

  return { vocab, train, test, cases, reports };
}

/** Every prefix of every session with the item that follows it (the published protocol). */
export function casesFromSessions(sessions: Int32Array[]): TestCase[] {
  const cases: TestCase[] = [];
  for (const s of sessions) {
    for (let t = s.length - 1; t >= 1; t--) cases.push({ prefix: s.subarray(0, t), target: s[t]! });
  }
  return cases;
}
