/**
 * The in-memory form every reader produces and every trainer/evaluator consumes.
 *
 * Items are dense indices `0 … vocab.length-1` into `vocab` (the original item ids as strings,
 * in order of first appearance in the training sessions). Sessions are ordered item indices.
 */

/** Counts of rows a reader skipped, by reason. Readers never throw on a bad row: they count it. */
export interface ReadReport {
  /** File or source the counts refer to. */
  source: string;
  /** Rows (lines, CSV records) read, good or bad. */
  rows: number;
  /** Rows skipped, keyed by a short machine-readable reason, e.g. `non_integer_item`. */
  skipped: Record<string, number>;
  /** Up to a few examples of skipped rows, `line N: reason: text`, for the human reading the log. */
  examples: string[];
}

/** One evaluation case: the session so far and the item that came next. */
export interface TestCase {
  prefix: Int32Array;
  /** Item index of the next item, or -1 when the target is not in the training vocabulary. */
  target: number;
}

/** A data set in the split format, mapped onto the training vocabulary. */
export interface SplitDataset {
  /** Original item ids, index → id. */
  vocab: string[];
  /** Training sessions in file (chronological) order. */
  train: Int32Array[];
  /** Test sessions (items unknown to training are dropped from them and counted). */
  test: Int32Array[];
  /** Evaluation cases from `test_pairs.tsv` (or derived from `test_sessions.txt` when absent). */
  cases: TestCase[];
  /** What each file's reader skipped. */
  reports: ReadReport[];
}

/** Adds one skipped row to a report, keeping a handful of examples. */
export function skipRow(report: ReadReport, reason: string, line: number, text: string): void {
  report.skipped[reason] = (report.skipped[reason] ?? 0) + 1;
  if (report.examples.length < 5) report.examples.push(`line ${line}: ${reason}: ${text.slice(0, 120)}`);
}

/** A fresh, empty report for `source`. */
export function newReport(source: string): ReadReport {
  return { source, rows: 0, skipped: {}, examples: [] };
}

/** Total rows skipped in a report. */
export function skippedCount(report: ReadReport): number {
  let n = 0;
  for (const k in report.skipped) n += report.skipped[k] ?? 0;
  return n;
}
