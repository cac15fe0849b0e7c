import { sdkError } from '../errors';
import { EventBatcher } from './eventBatcher';
import { MAX_PENDING_EVENTS, PendingEvents } from './pendingEvents';
import type { TrackedEvent } from './trackedEvent';

/**
 * The page side of the event path, between `track()` and the Worker: each event gets its call's
 * id, waits in the tab's bounded {@link PendingEvents} until the Worker confirms it, and travels
 * with the other events of its task in one message ({@link EventBatcher}). A call costs a few
 * microseconds: nothing is serialised or posted per call. Past the bound, events are dropped and
 * one `QueueOverflowError` is reported per overflow.
 */
export class EventQueue {
  private readonly _pending: PendingEvents;
  private readonly _batcher: EventBatcher;
  /** A random id for this page; a call's id is `<page>.<n>` (random per page, not per tab: a duplicated tab copies sessionStorage). */
  private readonly _page = Math.random().toString(36).slice(2, 10);
  private _calls = 0;
  private _overflowing = false;

  constructor(
    storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null,
    send: (events: TrackedEvent[]) => void,
    private readonly _report: (err: Error) => void,
    private readonly _max = MAX_PENDING_EVENTS,
  ) {
    this._pending = new PendingEvents(storage, _max);
    this._batcher = new EventBatcher(send);
  }

  /** Sends again what an earlier page of this tab left unconfirmed (it keeps its call ids). */
  resume(): void {
    for (const event of this._pending.takeOver()) this._batcher.add(event);
  }

  /** Queues a validated event for the Worker's next batch. */
  add(event: TrackedEvent): void {
    event.callId = `${this._page}.${this._calls++}`;
    if (!this._pending.add(event)) {
      if (!this._overflowing)
        this._report(
          sdkError('QueueOverflowError', `more than ${this._max} events wait for the Worker: new ones are dropped until it catches up`),
        );
      this._overflowing = true;
      return;
    }
    this._overflowing = false;
    this._batcher.add(event);
  }

  /** The Worker has these events: they no longer wait. */
  confirm(events: readonly TrackedEvent[]): void {
    this._pending.confirm(events);
  }

  /** Writes what waits to sessionStorage (the page is hidden or left; `exportData`). */
  persist(): void {
    this._pending.persist();
  }

  /** Forgets everything waiting, in memory and in storage (consent withdrawn, data erased). */
  clear(): void {
    this._pending.clear();
    this._batcher.clear();
  }
}
