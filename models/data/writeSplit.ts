import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPLIT_FILES } from './readSplit';

/** Sessions as original item ids, before they are mapped onto a vocabulary. */
export interface SessionSplit {
  /** Training sessions in chronological order, each an ordered list of item ids. */
  train: string[][];
  /** Test sessions in chronological order; every item also occurs in `train`. */
  test: string[][];
}

/** Options of {@link writeSplit}. */
export interface WriteSplitOptions {
  /**
   * Write `test_pairs.tsv` (default true). It is fully determined by `test_sessions.txt`, and
   * `readSplit` derives the same cases in the same order when it is absent, so a data set whose
   * long sessions make it large (cases grow with the square of session length) can leave it
   * out. When false, a stale `test_pairs.tsv` in `dir` is deleted, or readers would use it.
   */
  pairs?: boolean;
}

/** What {@link writeSplit} wrote. */
export interface WrittenSplit {
  /** Paths written, with their sizes in bytes. */
  files: { path: string; bytes: number }[];
  /** Evaluation cases (lines of `test_pairs.tsv`, whether written or not). */
  cases: number;
}

function sessionLines(sessions: string[][]): string {
  let out = '';
  for (const s of sessions) out += s.join(' ') + '\n';
  return out;
}

/**
 * The evaluation cases of the published protocol, one `prefix<TAB>target` line each: every test
 * session of length n gives its n-1 prefixes, each followed by its next item. Prefixes run from
 * longest to shortest within a session, as SR-GNN's `process_seqs` emits them (`seq[:-i]`,
 * i = 1 … n-1), so case order matches the published files and `casesFromSessions`.
 */
export function pairLines(sessions: string[][]): string {
  const parts: string[] = [];
  for (const s of sessions) {
    for (let t = s.length - 1; t >= 1; t--) parts.push(s.slice(0, t).join(' ') + '\t' + s[t] + '\n');
  }
  return parts.join('');
}

/**
 * Writes `split` as a split-format directory (`train_sessions.txt`, `test_sessions.txt`,
 * `test_pairs.tsv`; see `readSplit`), creating `dir` when needed and overwriting those files.
 * Item ids must not contain white space (the format separates them by spaces); callers get
 * their ids from readers that guarantee that.
 */
export function writeSplit(dir: string, split: SessionSplit, options: WriteSplitOptions = {}): WrittenSplit {
  mkdirSync(dir, { recursive: true });
  const contents: [string, string][] = [
    [SPLIT_FILES.train, sessionLines(split.train)],
    [SPLIT_FILES.test, sessionLines(split.test)],
  ];
  if (options.pairs ?? true) contents.push([SPLIT_FILES.pairs, pairLines(split.test)]);
  else rmSync(join(dir, SPLIT_FILES.pairs), { force: true });
  const files = contents.map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return { path, bytes: Buffer.byteLength(text) };
  });
  let cases = 0;
  for (const s of split.test) cases += Math.max(0, s.length - 1);
  return { files, cases };
}
