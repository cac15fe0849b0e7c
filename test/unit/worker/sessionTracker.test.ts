import { describe, expect, it } from 'vitest';
import type { SessionState } from '../../../src/model/plain/sessionState';
import type { StoredSession, StoredSessionState } from '../../../src/store/historyStore';
import { SessionTracker, type SessionStore, type SteppingModel } from '../../../src/worker/sessionTracker';
import type { TrackedEvent } from '../../../src/track/trackedEvent';

// The Worker's session bookkeeping without IndexedDB or tfjs: a fake store and a fake model with
// SessionModel.advance's contract (one step while the window has room; a full window slides and is
// recomputed from a zero state, one step per item) whose "hidden state" is [item, running sum of
// item + 1 since the computation started], so every step and every recomputation is visible.
function fakeModel(version: string, ids: string[], maxLen = 20): SteppingModel & { steps: number } {
  const m = {
    steps: 0,
    manifest: { modelVersion: version, config: { maxLen } },
    index: new Map(ids.map((id, i) => [id, i])),
    model: {
      advance(state: SessionState, item: number): SessionState {
        if (state.items.length < maxLen) {
          m.steps++;
          const prev = state.hidden[state.hidden.length - 1]?.[1] ?? 0;
          return { items: [...state.items, item], hidden: [...state.hidden, [item, prev + item + 1]] };
        }
        const items = [...state.items, item].slice(-maxLen);
        m.steps += items.length;
        let h = 0;
        return { items, hidden: items.map((it) => [it, (h += it + 1)]) };
      },
    },
  };
  return m;
}

const at = (event: TrackedEvent, sessionId: string, newSession: boolean) => ({ event, sessionId, newSession });

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
    expect(store.saved).toEqual([
      {
        modelVersion: 'v1',
        eventCount: 4,
        items: [0, 1],
        hidden: [
          [0, 1],
          [1, 3],
        ],
      },
    ]);
  });

  it('a session saved by the old version stays usable when the next version’s vocabulary grew (append-only)', async () => {
    const v1 = ['A', 'B', 'C'];
    const v2 = [...v1, 'NEW']; // the server appends new items: no existing index changes
    const saved = {
      modelVersion: 'v1',
      eventCount: 3,
      items: [0, 2],
      hidden: [
        [0, 1],
        [2, 4],
      ],
    };
    const store = fakeStore({ id: 's', startedAt: 0, lastAt: 3, eventCount: 3, state: saved }, ['A', 'NEW', 'C']);
    const t = new SessionTracker();
    // The old version's state is not reused by the new version (its weights differ): the events are replayed.
    expect(await t.load(store, 1000, 'v2')).toBe('stale');
    await t.replay(store, fakeModel('v2', v2));
    expect(t.state.items).toEqual([0, 3, 2]);
    // The old state's indices name the same products in the new vocabulary.
    expect(saved.items.map((i) => v2[i])).toEqual(saved.items.map((i) => v1[i]));
    expect(store.saved.at(-1)).toMatchObject({ modelVersion: 'v2', eventCount: 3, items: [0, 3, 2] });
    // The new item, unknown to the old version, was left out there and is known now.
    const old = new SessionTracker();
    await old.load(store, 1000, 'v1-other');
    await old.replay(store, fakeModel('v1', v1));
    expect(old.state.items).toEqual([0, 2]);
  });

  it('keeps items met before the model is up pending, and steps them once it is', () => {
    const t = new SessionTracker();
    t.record([at(view('A', 1), 's', true)], null);
    t.record([at(view('B', 2), 's', false)], null);
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
    t.record([at(view('A', 1), 's1', true), at(view('B', 2), 's2', true)], model);
    expect(t.state.items).toEqual([1]);
    expect(t.session).toMatchObject({ id: 's2', eventCount: 1 });
  });

  it('after clear() nothing of the erased session is stepped in later', () => {
    const t = new SessionTracker();
    t.record([at(view('A', 1), 's', true)], null);
    t.clear();
    t.stepPending(fakeModel('v1', ['A']));
    expect(t.state.items).toEqual([]);
    expect(t.session).toBeNull();
  });

  it('places events in memory sessions (no IndexedDB) within the idle gap', () => {
    const t = new SessionTracker();
    const placed = t.placeInMemory([view('A', 1000), view('B', 1400), view('C', 1950), view('D', 2500)], 500);
    expect(placed.map((p) => p.newSession)).toEqual([true, false, true, true]);
    expect(placed[1]!.sessionId).toBe(placed[0]!.sessionId);
    t.record(placed, null);
    expect(t.session).toMatchObject({ id: placed[3]!.sessionId, eventCount: 1 });
    expect(t.placeInMemory([view('E', 2600)], 500)[0]).toMatchObject({ sessionId: placed[3]!.sessionId, newSession: false });
  });

  it('a burst costs at most one window of steps and ends in the state event-by-event stepping reaches', () => {
    const ids = Array.from({ length: 30 }, (_, i) => `I${i}`);
    const burst = Array.from({ length: 1000 }, (_, i) => at(view(ids[(i * 7) % 30]!, i), 's', i === 0));
    const one = fakeModel('v1', ids, 5);
    const byEvent = new SessionTracker();
    for (const p of burst) byEvent.record([p], one);
    const batch = fakeModel('v1', ids, 5);
    const batched = new SessionTracker();
    batched.record(burst, batch);
    expect(batched.state).toEqual(byEvent.state);
    expect(batched.session).toEqual(byEvent.session);
    expect(one.steps).toBeGreaterThan(4000); // every event recomputes the full window
    expect(batch.steps).toBe(5);
    // Below the window: incremental steps from the current state, as before.
    const short = new SessionTracker();
    const m = fakeModel('v1', ids, 5);
    short.record(burst.slice(0, 2), m);
    short.record(burst.slice(2, 4), m);
    expect(m.steps).toBe(4);
    expect(short.state.hidden.map((h) => h[1])).toEqual([1, 9, 24, 46]);
  });
});
