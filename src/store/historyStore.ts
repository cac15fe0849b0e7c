import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { RetentionLimits } from '../config/config';
import { sessionAt, type SessionMark } from '../track/sessionClock';
import type { TrackedEvent } from '../track/trackedEvent';
import { HISTORY_DB_NAME } from './databaseName';
import { quotaPruneCount, retentionCut } from './retention';

/** One event as stored: the tracked event plus its session. */
export interface StoredEvent extends TrackedEvent {
  /** Insertion order (auto-increment key). */
  id?: number;
  sessionId: string;
}

/** The model's memory of a session, saved so the next page ranks at once. */
export interface StoredSessionState {
  /** The model version that computed it; another version recomputes from the events. */
  modelVersion: string;
  /** The session's event count when it was computed; another count (another tab wrote) recomputes. */
  eventCount: number;
  /** Vocabulary indices of the items read, oldest first. */
  items: number[];
  /** GRU state after each item. */
  hidden: number[][];
}

/** One session's record. */
export interface StoredSession {
  id: string;
  startedAt: number;
  lastAt: number;
  eventCount: number;
  state?: StoredSessionState;
}

interface HistorySchema extends DBSchema {
  events: { key: number; value: StoredEvent; indexes: { bySession: [string, number]; byTime: number } };
  sessions: { key: string; value: StoredSession; indexes: { byLastAt: number } };
  /** Small records by name: `currentSession` (a SessionMark), `federated` (the round client's state). */
  meta: { key: string; value: unknown };
}

const HISTORY_DB_VERSION = 1;

type WriteTx = IDBPTransaction<HistorySchema, ['events', 'sessions', 'meta'], 'readwrite'>;

/** What an append did. */
export interface AppendResult {
  sessionId: string;
  newSession: boolean;
  pruned: number;
  /** The event was already stored (a replay); nothing was written. */
  duplicate?: boolean;
}

/**
 * The shopper's interaction history on this device (IndexedDB through `idb`). Every write is one
 * transaction over events, sessions and the current-session mark, so several tabs writing at once
 * are serialised by IndexedDB itself: no event is lost and a session is never split or merged by
 * a race. Retention caps are enforced inside the same transaction.
 */
export class HistoryStore {
  private constructor(private readonly _db: IDBPDatabase<HistorySchema>) {}

  /** Opens (creating or upgrading) the database. Rejects where IndexedDB is unavailable. */
  static async open(name = HISTORY_DB_NAME): Promise<HistoryStore> {
    if (typeof indexedDB === 'undefined')
      throw Object.assign(new Error('IndexedDB is not available in this browser context'), { name: 'StorageUnavailableError' });
    const db = await openDB<HistorySchema>(name, HISTORY_DB_VERSION, {
      upgrade(db) {
        const events = db.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
        events.createIndex('bySession', ['sessionId', 'at']);
        events.createIndex('byTime', 'at');
        const sessions = db.createObjectStore('sessions', { keyPath: 'id' });
        sessions.createIndex('byLastAt', 'lastAt');
        db.createObjectStore('meta');
      },
      // Another tab opened a newer schema: let it upgrade rather than block it.
      blocking() {
        db.close();
      },
    });
    return new HistoryStore(db);
  }

  /**
   * Appends one event to the session it belongs to (a new one after `idleMs` without activity)
   * and applies the retention caps. When the browser's quota is exceeded, the oldest tenth of
   * the history is deleted and the write retried once; the error is rethrown if it fails again.
   */
  async append(event: TrackedEvent, idleMs: number, limits: RetentionLimits): Promise<AppendResult> {
    try {
      return await this._append(event, idleMs, limits);
    } catch (err) {
      if ((err as Error)?.name !== 'QuotaExceededError') throw err;
      const pruned = await this.pruneOldest(quotaPruneCount(await this._db.count('events')));
      const result = await this._append(event, idleMs, limits);
      return { ...result, pruned: result.pruned + pruned };
    }
  }

  private async _append(event: TrackedEvent, idleMs: number, limits: RetentionLimits): Promise<AppendResult> {
    const tx: WriteTx = this._db.transaction(['events', 'sessions', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    const sessions = tx.objectStore('sessions');
    const current = ((await meta.get('currentSession')) as SessionMark | undefined) ?? null;
    const mark = sessionAt(current, event.at, newSessionId, idleMs);
    await meta.put({ id: mark.id, lastAt: mark.lastAt }, 'currentSession');
    const session: StoredSession = (!mark.isNew && (await sessions.get(mark.id))) || {
      id: mark.id,
      startedAt: event.at,
      lastAt: event.at,
      eventCount: 0,
    };
    // A page replaying events its predecessor left unconfirmed may send one that was stored:
    // the same type, item and time in the same session is that event, not a new one.
    const events = tx.objectStore('events');
    const sameTime = mark.isNew ? [] : await events.index('bySession').getAll([mark.id, event.at]);
    if (sameTime.some((e) => e.type === event.type && e.itemId === event.itemId)) {
      await tx.done;
      return { sessionId: mark.id, newSession: false, pruned: 0, duplicate: true };
    }
    session.lastAt = mark.lastAt;
    session.eventCount += 1;
    await sessions.put(session);
    await events.add({ ...event, sessionId: mark.id });
    const pruned = await enforceRetention(tx, event.at, limits);
    await tx.done;
    return { sessionId: mark.id, newSession: mark.isNew, pruned };
  }

  /** Deletes the `count` oldest events (by insertion). Returns how many were deleted. */
  async pruneOldest(count: number): Promise<number> {
    const tx = this._db.transaction('events', 'readwrite');
    let deleted = 0;
    for (let c = await tx.store.openCursor(); c && deleted < count; c = await c.continue()) {
      await c.delete();
      deleted++;
    }
    await tx.done;
    return deleted;
  }

  /** The current session, or null if there is none or it has gone idle by `now`. */
  async currentSession(now: number, idleMs: number): Promise<StoredSession | null> {
    const mark = (await this._db.get('meta', 'currentSession')) as SessionMark | undefined;
    if (!mark || now - mark.lastAt >= idleMs) return null;
    return (await this._db.get('sessions', mark.id)) ?? null;
  }

  /** A session's events, oldest first. */
  async sessionEvents(sessionId: string): Promise<StoredEvent[]> {
    return this._db.getAllFromIndex('events', 'bySession', IDBKeyRange.bound([sessionId, -Infinity], [sessionId, Infinity]));
  }

  /** Saves the model state of a session (read-modify-write in one transaction). */
  async saveSessionState(sessionId: string, state: StoredSessionState): Promise<void> {
    const tx = this._db.transaction('sessions', 'readwrite');
    const session = await tx.store.get(sessionId);
    if (session) await tx.store.put({ ...session, state });
    await tx.done;
  }

  /** A named record of the `meta` store (undefined when absent). */
  async getMeta<T>(key: string): Promise<T | undefined> {
    return (await this._db.get('meta', key)) as T | undefined;
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    await this._db.put('meta', value, key);
  }

  /** Every stored session's events, sessions in order of their start, events oldest first. */
  async allSessions(): Promise<StoredEvent[][]> {
    const bySession = new Map<string, StoredEvent[]>();
    for (const e of await this._db.getAll('events')) {
      const list = bySession.get(e.sessionId) ?? [];
      list.push(e);
      bySession.set(e.sessionId, list);
    }
    const sessions = [...bySession.values()].map((list) => list.sort((a, b) => a.at - b.at));
    return sessions.sort((a, b) => a[0]!.at - b[0]!.at);
  }

  /** Events stored on this device. */
  async countEvents(): Promise<number> {
    return this._db.count('events');
  }

  /** Every stored event, oldest first. */
  async allEvents(): Promise<StoredEvent[]> {
    return this._db.getAll('events');
  }

  close(): void {
    this._db.close();
  }
}

/** Deletes what the caps no longer allow, inside the append's transaction. */
async function enforceRetention(tx: WriteTx, now: number, limits: RetentionLimits): Promise<number> {
  const events = tx.objectStore('events');
  const cutoff = retentionCut(0, now, limits).olderThan;
  let deleted = 0;
  const byTime = events.index('byTime');
  for (let c = await byTime.openCursor(IDBKeyRange.upperBound(cutoff, true)); c; c = await c.continue()) {
    await c.delete();
    deleted++;
  }
  const { excess } = retentionCut(await events.count(), now, limits);
  let cut = 0;
  for (let c = excess > 0 ? await events.openCursor() : null; c && cut < excess; c = await c.continue()) {
    await c.delete();
    cut++;
  }
  if (deleted > 0) {
    const sessions = tx.objectStore('sessions');
    for (let c = await sessions.index('byLastAt').openCursor(IDBKeyRange.upperBound(cutoff, true)); c; c = await c.continue())
      await c.delete();
  }
  return deleted + cut;
}

/** A random session id (not an identifier of the shopper: it never leaves the device). */
function newSessionId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
