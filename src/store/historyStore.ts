import { sdkError } from '../errors';
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
  events: { key: number; value: StoredEvent; indexes: { bySession: [string, number]; byTime: number; byCallId: string } };
  sessions: { key: string; value: StoredSession; indexes: { byLastAt: number } };
  /** Small records by name: `currentSession` (a SessionMark), `federated` (the round client's state). */
  meta: { key: string; value: unknown };
}

/** 2 added the `byCallId` index (replays recognised by their call, not by type + item + time). */
const HISTORY_DB_VERSION = 2;

type WriteTx = IDBPTransaction<HistorySchema, ['events', 'sessions', 'meta'], 'readwrite'>;

/** Where a stored event went. */
export interface PlacedEvent {
  event: TrackedEvent;
  sessionId: string;
  /** The event opened this session. */
  newSession: boolean;
}

/** What an append did. */
export interface AppendResult {
  /** The events written, in order, with their sessions. */
  placed: PlacedEvent[];
  /** Replays of calls already stored (same `callId`): not written again. */
  duplicates: number;
  pruned: number;
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
    if (typeof indexedDB === 'undefined') throw sdkError('StorageUnavailableError', 'IndexedDB is not available in this browser context');
    const db = await openDB<HistorySchema>(name, HISTORY_DB_VERSION, {
      upgrade(db, oldVersion, _newVersion, tx) {
        if (oldVersion < 1) {
          const events = db.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
          events.createIndex('bySession', ['sessionId', 'at']);
          events.createIndex('byTime', 'at');
          const sessions = db.createObjectStore('sessions', { keyPath: 'id' });
          sessions.createIndex('byLastAt', 'lastAt');
          db.createObjectStore('meta');
        }
        // Events stored before call ids have none and are simply not in this index.
        if (oldVersion < 2) tx.objectStore('events').createIndex('byCallId', 'callId');
      },
      // Another tab opened a newer schema: let it upgrade rather than block it.
      blocking() {
        db.close();
      },
    });
    return new HistoryStore(db);
  }

  /**
   * Appends events, in order, each to the session it belongs to (a new one after `idleMs` without
   * activity), in one transaction, and applies the retention caps once. An event whose `callId` is
   * already stored is a replay and is skipped; events without one are always new. When the
   * browser's quota is exceeded, the oldest tenth of the history is deleted and the write retried
   * once; the error is rethrown if it fails again.
   */
  async append(events: readonly TrackedEvent[], idleMs: number, limits: RetentionLimits): Promise<AppendResult> {
    try {
      return await this._append(events, idleMs, limits);
    } catch (err) {
      if ((err as Error)?.name !== 'QuotaExceededError') throw err;
      const pruned = await this.pruneOldest(quotaPruneCount(await this._db.count('events')));
      const result = await this._append(events, idleMs, limits);
      return { ...result, pruned: result.pruned + pruned };
    }
  }

  private async _append(events: readonly TrackedEvent[], idleMs: number, limits: RetentionLimits): Promise<AppendResult> {
    const tx: WriteTx = this._db.transaction(['events', 'sessions', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    const sessions = tx.objectStore('sessions');
    const store = tx.objectStore('events');
    const byCallId = store.index('byCallId');
    // All the lookups are issued at once (one round of requests, not one per event).
    const [current, known] = await Promise.all([
      meta.get('currentSession') as Promise<SessionMark | undefined>,
      Promise.all(events.map((e) => (e.callId === undefined ? undefined : byCallId.getKey(e.callId)))),
    ]);
    let mark: SessionMark | null = current ?? null;
    const touched = new Map<string, StoredSession>();
    const seen = new Set<string>();
    const placed: PlacedEvent[] = [];
    const writes: Array<Promise<unknown>> = [];
    let duplicates = 0;
    let latest = -Infinity;
    for (const [i, event] of events.entries()) {
      if (event.callId !== undefined) {
        if (known[i] !== undefined || seen.has(event.callId)) {
          duplicates++;
          continue;
        }
        seen.add(event.callId);
      }
      const next = sessionAt(mark, event.at, newSessionId, idleMs);
      mark = { id: next.id, lastAt: next.lastAt };
      let session = touched.get(next.id);
      if (!session) {
        session = (!next.isNew && (await sessions.get(next.id))) || { id: next.id, startedAt: event.at, lastAt: event.at, eventCount: 0 };
        touched.set(next.id, session);
      }
      session.lastAt = next.lastAt;
      session.eventCount += 1;
      writes.push(store.add({ ...event, sessionId: next.id }));
      placed.push({ event, sessionId: next.id, newSession: next.isNew });
      latest = Math.max(latest, event.at);
    }
    let pruned = 0;
    if (placed.length > 0) {
      writes.push(meta.put(mark, 'currentSession'));
      for (const session of touched.values()) writes.push(sessions.put(session));
      await Promise.all(writes);
      pruned = await enforceRetention(tx, latest, limits);
    }
    await tx.done;
    return { placed, duplicates, pruned };
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
