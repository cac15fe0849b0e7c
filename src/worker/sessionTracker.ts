import type { SessionState } from '../model/plain/sessionState';
import type { HistoryStore, PlacedEvent, StoredSession } from '../store/historyStore';
import type { TrackedEvent } from '../track/trackedEvent';

/**
 * What the tracker needs of a loaded model: its version and window, its vocabulary index and one
 * GRU step. (A `FetchedModel` fits; named structurally so this module stays free of tfjs.)
 */
export interface SteppingModel {
  manifest: { modelVersion: string; config: { maxLen: number } };
  index: Map<string, number>;
  model: { advance(state: SessionState, item: number): SessionState };
}

/** The stored-session calls the tracker makes (a `HistoryStore` fits). */
export type SessionStore = Pick<HistoryStore, 'currentSession' | 'sessionEvents' | 'saveSessionState'>;

/** How {@link SessionTracker.load} found the stored session. */
export type LoadOutcome =
  /** No session is open (none stored, or the last one went idle): the empty state is current. */
  | 'none'
  /** The session's saved state was computed by this model version after its last event: adopted. */
  | 'current'
  /** The session has events the saved state does not cover (or another version saved it): replay needed. */
  | 'stale';

function emptyState(): SessionState {
  return { items: [], hidden: [] };
}

/**
 * The shopper's current session as the Worker models it: the session's record, the GRU state
 * over its items, and the items met before the model was up (stepped once it is). The
 * {@link Personalizer} decides when to load, step and save; this class keeps the three in step
 * with each other.
 */
export class SessionTracker {
  /** The session's record (as stored, or this page's in-memory one without IndexedDB). */
  session: StoredSession | null = null;
  /** The model's state over the session's items. */
  state: SessionState = emptyState();
  /** Milliseconds the last GRU step took. */
  lastAdvanceMs: number | null = null;
  /** Whether `state` is the state of the session as it stands (the empty state of no session is). */
  private _current = true;
  /** Items met while no model was loaded. */
  private _pending: string[] = [];

  /** Whether `state` can be scored as it is, without stepping the GRU first. */
  get rankable(): boolean {
    return this._current && this._pending.length === 0;
  }

  /** Drops the session: no record, empty state, nothing pending (after an erase). */
  clear(): void {
    this.session = null;
    this.state = emptyState();
    this._pending = [];
    this._current = true;
  }

  /**
   * Reads the current session from `store` and adopts its saved state when `modelVersion` computed
   * it after the session's last event (another tab, or another version, makes it stale). Items
   * pending from before are dropped: the store holds their events.
   */
  async load(store: SessionStore, idleMs: number, modelVersion: string): Promise<LoadOutcome> {
    this.clear();
    const session = await store.currentSession(Date.now(), idleMs);
    this.session = session;
    if (!session) return 'none';
    const saved = session.state;
    if (saved && saved.modelVersion === modelVersion && saved.eventCount === session.eventCount) {
      this.state = { items: saved.items, hidden: saved.hidden };
      return 'current';
    }
    this._current = false;
    return 'stale';
  }

  /** Recomputes the state of a stale session from its stored events with `model`, and saves it. */
  async replay(store: SessionStore, model: SteppingModel): Promise<void> {
    if (!this.session) return;
    this.state = emptyState();
    this.stepMany(
      model,
      (await store.sessionEvents(this.session.id)).map((e) => e.itemId),
    );
    this._current = true;
    await this.save(store, model);
  }

  /** Steps the pending items through `model` (when the model comes up without a store to replay from). */
  stepPending(model: SteppingModel): void {
    this.stepMany(model, this._pending.splice(0));
  }

  /**
   * Counts stored events (in order, with their sessions) into the session: a new session starts
   * from the empty state. Then steps the model over the new items of the last session, or keeps
   * them pending while `model` is null.
   */
  record(placed: readonly PlacedEvent[], model: SteppingModel | null): void {
    let items: string[] = [];
    for (const { event, sessionId, newSession } of placed) {
      if (newSession || !this.session || this.session.id !== sessionId) {
        this.session = { id: sessionId, startedAt: event.at, lastAt: event.at, eventCount: 0 };
        this.state = emptyState();
        this._pending = [];
        items = [];
      }
      this.session.lastAt = Math.max(this.session.lastAt, event.at);
      this.session.eventCount += 1;
      items.push(event.itemId);
    }
    this.stepMany(model, items);
  }

  /**
   * The model's steps for interactions with `itemIds`, in order; unknown items and immediate
   * repeats (a tile click, then its page view) are skipped. Without a model the items wait in the
   * pending list. The state depends only on the session's last `maxLen` items once the window is
   * full, so a burst costs at most one window of GRU steps, however many events it has.
   */
  stepMany(model: SteppingModel | null, itemIds: readonly string[]): void {
    if (!model) {
      for (const id of itemIds) this._pending.push(id);
      return;
    }
    const add: number[] = [];
    let last = this.state.items[this.state.items.length - 1];
    for (const id of itemIds) {
      const index = model.index.get(id);
      if (index === undefined || index === last) continue;
      add.push(index);
      last = index;
    }
    if (add.length === 0) return;
    const t = performance.now();
    const { maxLen } = model.manifest.config;
    if (this.state.items.length + add.length <= maxLen) {
      for (const index of add) this.state = model.model.advance(this.state, index);
    } else {
      // The window slides: `advance` on a full window recomputes the window's states from a zero
      // state (SessionModel.advance), so one call over a window ending in the burst's last
      // `maxLen` items gives what stepping every event would. The first item only fills the slot
      // that slides out.
      const window = [...this.state.items, ...add].slice(-maxLen);
      this.state = model.model.advance({ items: [window[0]!, ...window.slice(0, -1)], hidden: [] }, window[window.length - 1]!);
    }
    this.lastAdvanceMs = performance.now() - t;
  }

  /** Sessions for events without IndexedDB (this page only), as the store would place them. */
  placeInMemory(events: readonly TrackedEvent[], idleMs: number): PlacedEvent[] {
    let s = this.session ? { id: this.session.id, lastAt: this.session.lastAt } : null;
    return events.map((event) => {
      const newSession = !s || event.at - s.lastAt >= idleMs;
      if (newSession || !s) s = { id: `memory-${event.at.toString(36)}`, lastAt: event.at };
      s.lastAt = Math.max(s.lastAt, event.at);
      return { event, sessionId: s.id, newSession };
    });
  }

  /** Saves the state beside the session's record, stamped with the model version and event count. */
  async save(store: SessionStore, model: SteppingModel): Promise<void> {
    if (!this.session) return;
    await store.saveSessionState(this.session.id, {
      modelVersion: model.manifest.modelVersion,
      eventCount: this.session.eventCount,
      items: this.state.items,
      hidden: this.state.hidden,
    });
  }
}
