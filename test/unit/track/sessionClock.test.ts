import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_IDLE_MS, sessionAt } from '../../../src/track/sessionClock';

describe('sessionAt', () => {
  let n = 0;
  const newId = () => `s${++n}`;
  const MIN = 60_000;

  it('starts a session, keeps it while interactions come within 30 minutes, and splits after', () => {
    const a = sessionAt(null, 0, newId);
    expect(a).toMatchObject({ isNew: true, lastAt: 0 });
    const b = sessionAt(a, 29 * MIN, newId);
    expect(b).toMatchObject({ id: a.id, isNew: false, lastAt: 29 * MIN });
    const c = sessionAt(b, 29 * MIN + DEFAULT_SESSION_IDLE_MS - 1, newId);
    expect(c.id).toBe(a.id);
    const d = sessionAt(c, c.lastAt + DEFAULT_SESSION_IDLE_MS, newId);
    expect(d.isNew).toBe(true);
    expect(d.id).not.toBe(a.id);
  });

  it('keeps the session when the clock goes backwards, and honours a custom idle time', () => {
    const a = sessionAt(null, 10 * MIN, newId);
    const back = sessionAt(a, 5 * MIN, newId);
    expect(back).toMatchObject({ id: a.id, isNew: false, lastAt: 10 * MIN });
    expect(sessionAt(a, 12 * MIN, newId, MIN).isNew).toBe(true);
  });
});
