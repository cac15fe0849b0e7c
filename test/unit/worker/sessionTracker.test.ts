import { describe, expect, it } from 'vitest';
import type { SessionState } from '../../../src/model/plain/sessionState';
import type { StoredSession, StoredSessionState } from '../../../src/store/historyStore';
import { SessionTracker, type SessionStore, type SteppingModel } from '../../../src/worker/sessionTracker';
import type { TrackedEvent } from '../../../src/track/trackedEvent';

// The Worker's session bookkeeping without IndexedDB or tfjs: a fake store and a fake model whose
// "hidden state" records the items it was stepped with, so every step is visible.
function fakeModel(version: string, ids: string[]): SteppingModel & { steps: number } {
  const m = {
    steps: 0,
    manifest: { modelVersion: version },
    index: new Map(ids.map((id, i) => [id, i])),
    model: {
      advance(state: SessionState, item: number): SessionState {
        m.steps++;
        return { items: [...state.items, item], hidden: [...state.hidden, [item]] };
      },
    },
  };
  return m;
}

function fakeStore(session: StoredSession | null, events: string[]): SessionStore & { saved: StoredSessionState[] } {
  const saved: StoredSessionState[] = [];
  return {
    saved,
    currentSession: async () => session,
    sessionEvents: async () => events.map((itemId, i) => ({ type: 'view', itemId, at: i, sessionId: session!.id }) as never),
    saveSessionState: async (_id: string, state: StoredSessionState) => {
      saved.push(state);
    },
  };
}

const view = (itemId: string, at: number): TrackedEvent => ({ type: 'view', itemId, at }) as TrackedEvent;

describe('SessionTracker', () => {
  it('adopts a saved state only when this model version computed it after the last event', async () => {
    const saved = { modelVersion: 'v1', eventCount: 2, items: [0, 1], hidden: [[0], [1]] };
    const t = new SessionTracker();
    expect(await t.load(fakeStore({ id: 's', startedAt: 0, lastAt: 1, eventCount: 2, state: saved }, []), 1000, 'v1')).toBe('current');
    expect(t.state.items).toEqual([0, 1]);
    expect(t.rankable).toBe(true);
    // Another tab added an event since: stale.
    expect(await t.load(fakeStore({ id: 's', startedAt: 0, lastAt: 1, eventCount: 3, state: saved }, []), 1000, 'v1')).toBe('stale');
    expect(t.state.items).toEqual([]);
    expect(t.rankable).toBe(false);
    // Another model version saved it: stale.
    expect(await t.load(fakeStore({ id: 's', startedAt: 0, lastAt: 1, eventCount: 2, state: saved }, []), 1000, 'v2')).toBe('stale');
    expect(await t.load(fakeStore(null, []), 1000, 'v1')).toBe('none');
    expect(t.rankable).toBe(true);
  });

  it('replays a stale session from its events (skipping unknown items and immediate repeats) and saves it stamped', async () => {
    const store = fakeStore({ id: 's', startedAt: 0, lastAt: 3, eventCount: 4 }, ['A', 'A', 'zzz', 'B']);
    const model = fakeModel('v1', ['A', 'B']);
    const t = new SessionTracker();
    expect(await t.load(store, 1000, 'v1')).toBe('stale');
    await t.replay(store, model);
    expect(t.state.items).toEqual([0, 1]);
    expect(model.steps).toBe(2);
    expect(t.rankable).toBe(true);
    expect(store.saved).toEqual([{ modelVersion: 'v1', eventCount: 4, items: [0, 1], hidden: [[0], [1]] }]);
  });

  it('keeps items met before the model is up pending, and steps them once it is', () => {
    const t = new SessionTracker();
    t.record(view('A', 1), 's', true, null);
    t.record(view('B', 2), 's', false, null);
    expect(t.state.items).toEqual([]);
    expect(t.rankable).toBe(false);
    expect(t.session).toMatchObject({ id: 's', startedAt: 1, lastAt: 2, eventCount: 2 });
    const model = fakeModel('v1', ['A', 'B']);
    t.stepPending(model);
    expect(t.state.items).toEqual([0, 1]);
    expect(t.rankable).toBe(true);
  });

  it('a new session starts from the empty state and drops what was pending', () => {
    const model = fakeModel('v1', ['A', 'B']);
    const t = new SessionTracker();
    t.record(view('A', 1), 's1', true, model);
    t.record(view('B', 2), 's2', true, model);
    expect(t.state.items).toEqual([1]);
    expect(t.session).toMatchObject({ id: 's2', eventCount: 1 });
  });

  it('after clear() nothing of the erased session is stepped in later', () => {
    const t = new SessionTracker();
    t.record(view('A', 1), 's', true, null);
    t.clear();
    t.stepPending(fakeModel('v1', ['A']));
    expect(t.state.items).toEqual([]);
    expect(t.session).toBeNull();
  });

  it('keeps an in-memory session while events are within the idle gap', () => {
    const t = new SessionTracker();
    const first = t.memorySession(view('A', 1000), 500);
    expect(first.newSession).toBe(true);
    t.record(view('A', 1000), first.sessionId, true, null);
    expect(t.memorySession(view('B', 1400), 500)).toEqual({ sessionId: first.sessionId, newSession: false });
    expect(t.memorySession(view('B', 1600), 500).newSession).toBe(true);
  });
});
