/** Sessions end after this long without an interaction (the web-analytics convention). */
export const DEFAULT_SESSION_IDLE_MS = 30 * 60 * 1000;

/** The session an interaction belongs to. */
export interface SessionMark {
  id: string;
  /** Time of the session's last interaction. */
  lastAt: number;
}

/**
 * The session for an interaction at `now`: the current one if its last interaction was less than
 * `idleMs` ago, else a new one with `newId()`. A clock that went backwards (device time changed)
 * keeps the current session rather than splitting it.
 */
export function sessionAt(
  current: SessionMark | null,
  now: number,
  newId: () => string,
  idleMs = DEFAULT_SESSION_IDLE_MS,
): SessionMark & { isNew: boolean } {
  if (current && now - current.lastAt < idleMs) return { id: current.id, lastAt: Math.max(now, current.lastAt), isNew: false };
  return { id: newId(), lastAt: now, isNew: true };
}
