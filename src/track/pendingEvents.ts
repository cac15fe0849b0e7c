import type { TrackedEvent } from './trackedEvent';

/** The sessionStorage key of a tab's unconfirmed events. */
export const PENDING_KEY = 'edge-personalize.pending';

/** Most events a page keeps waiting for the Worker (the default retention cap: more would be pruned anyway). */
export const MAX_PENDING_EVENTS = 10_000;

/**
 * Events the page has tracked but the Worker has not yet confirmed as stored: the bounded queue of
 * the page side. A shopper who clicks a product tile leaves the page within milliseconds, often
 * before the Worker has even started; the list is written to `sessionStorage` (this tab only,
 * cleared with the tab) when the page is hidden or left ({@link persist}, on `pagehide` and
 * `visibilitychange`), and the next page of the same tab takes it over. Nothing is serialised per
 * call: `add` and `confirm` touch memory only. A replay of an event that was stored after all
 * carries its call's id and the store recognises it.
 */
export class PendingEvents {
  /** By call id, in call order. */
  private _events = new Map<string, TrackedEvent>();

  constructor(
    private readonly _storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null,
    private readonly _max = MAX_PENDING_EVENTS,
  ) {}

  /** Events waiting. */
  get size(): number {
    return this._events.size;
  }

  /** The events a previous page of this tab left unconfirmed (oldest first), now owned by this page. */
  takeOver(): TrackedEvent[] {
    let saved: unknown = [];
    try {
      saved = JSON.parse(this._storage?.getItem(PENDING_KEY) ?? '[]');
    } catch {
      /* unreadable: nothing to replay */
    }
    const list = Array.isArray(saved) ? saved.filter(isEvent).slice(-this._max) : [];
    // Lists written before events had call ids: give each one, kept from here on.
    list.forEach((e, i) => (e.callId ??= `replay.${e.at}.${i}`));
    this._events = new Map(list.map((e) => [e.callId!, e]));
    return list;
  }

  /** Adds an event (it must carry a `callId`); false, and nothing kept, when the queue is full. */
  add(event: TrackedEvent): boolean {
    if (this._events.size >= this._max) return false;
    this._events.set(event.callId!, event);
    return true;
  }

  /** The Worker stored these events (or refused them for good): forget them. */
  confirm(events: readonly TrackedEvent[]): void {
    for (const e of events) this._events.delete(e.callId!);
  }

  /** Writes the waiting events to `sessionStorage` for the next page of the tab (or removes the key when none wait). */
  persist(): void {
    try {
      if (this._events.size === 0) this._storage?.removeItem(PENDING_KEY);
      else this._storage?.setItem(PENDING_KEY, JSON.stringify([...this._events.values()]));
    } catch {
      /* storage full or refused: the events stay in memory for this page */
    }
  }

  clear(): void {
    this._events.clear();
    try {
      this._storage?.removeItem(PENDING_KEY);
    } catch {
      /* do nothing */
    }
  }
}

function isEvent(e: unknown): e is TrackedEvent {
  const v = e as TrackedEvent;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.type === 'string' &&
    typeof v.itemId === 'string' &&
    typeof v.at === 'number' &&
    (v.callId === undefined || typeof v.callId === 'string')
  );
}
