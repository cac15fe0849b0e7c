import type { TrackedEvent } from './trackedEvent';

/**
 * Events the page has tracked but the Worker has not yet confirmed as stored, mirrored in
 * `sessionStorage` (this tab only, cleared with the tab). A shopper who clicks a product tile
 * leaves the page within milliseconds, often before the Worker has even started; the next page
 * of the same tab replays what was left here, so the click is not lost. The store ignores an
 * exact duplicate (same type, item and time), so a replay after a confirmed write is harmless.
 */
export class PendingEvents {
  private _events: TrackedEvent[] = [];

  constructor(
    private readonly _storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null,
    private readonly _key = 'edge-personalize.pending',
    private readonly _max = 100,
  ) {}

  /** The events a previous page of this tab left unconfirmed (oldest first), now owned by this page. */
  takeOver(): TrackedEvent[] {
    let saved: unknown = [];
    try {
      saved = JSON.parse(this._storage?.getItem(this._key) ?? '[]');
    } catch {
      /* unreadable: nothing to replay */
    }
    this._events = Array.isArray(saved) ? saved.filter(isEvent).slice(-this._max) : [];
    return [...this._events];
  }

  add(event: TrackedEvent): void {
    this._events.push(event);
    if (this._events.length > this._max) this._events.shift();
    this._save();
  }

  /** The Worker stored `event` (or refused it for good): forget it. */
  confirm(event: TrackedEvent): void {
    const i = this._events.indexOf(event);
    if (i < 0) return;
    this._events.splice(i, 1);
    this._save();
  }

  clear(): void {
    this._events = [];
    try {
      this._storage?.removeItem(this._key);
    } catch {
      /* do nothing */
    }
  }

  private _save(): void {
    try {
      if (this._events.length === 0) this._storage?.removeItem(this._key);
      else this._storage?.setItem(this._key, JSON.stringify(this._events));
    } catch {
      /* storage full or refused: the events stay in memory for this page */
    }
  }
}

function isEvent(e: unknown): e is TrackedEvent {
  const v = e as TrackedEvent;
  return !!v && typeof v === 'object' && typeof v.type === 'string' && typeof v.itemId === 'string' && typeof v.at === 'number';
}
