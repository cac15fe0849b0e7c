import type { RetentionLimits } from '../config/config';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What a write must delete to stay within the retention caps. */
export interface RetentionCut {
  /** Delete every event that happened before this time (ms since the epoch). */
  olderThan: number;
  /** Then delete this many of the oldest remaining events. */
  excess: number;
}

/**
 * The deletions that keep the history within `limits` at time `now` when `count` events are
 * stored that are not older than the age cap (expired events go first; the count cap applies to
 * what remains).
 */
export function retentionCut(count: number, now: number, limits: RetentionLimits): RetentionCut {
  return { olderThan: now - limits.maxAgeDays * DAY_MS, excess: Math.max(0, count - limits.maxEvents) };
}

/** How many of the oldest events to drop when the browser's storage quota is exceeded: a tenth, at least one. */
export function quotaPruneCount(count: number): number {
  return Math.max(1, Math.ceil(count / 10));
}
