import type { TestCase } from '../data/dataset';
import { casesFromSessions } from '../data/readSplit';
import { Random } from '../random';
import type { TrainSettings } from './trainSettings';

/**
 * Splits the (chronological) training sessions into the sessions trained on and validation cases
 * from the held-out tail: the last `holdout` share of sessions, `validCases` of their cases
 * sampled with seed `seed + 1`. Training and the repeat-offset calibration both call this, so
 * they see the same cases.
 */
export function splitHoldout(
  sessions: Int32Array[],
  s: Pick<TrainSettings, 'holdout' | 'validCases' | 'seed'>,
): { train: Int32Array[]; valid: TestCase[] } {
  const cut = Math.round(sessions.length * (1 - s.holdout));
  let valid: TestCase[] = casesFromSessions(sessions.slice(cut));
  if (s.validCases > 0 && valid.length > s.validCases) {
    valid = new Random(s.seed + 1).shuffle(valid).slice(0, s.validCases);
  }
  return { train: sessions.slice(0, cut), valid };
}
