import type { TrackedEvent } from './trackedEvent';

/**
 * Collects the events tracked during one task and hands them to `send` together, once, in a
 * microtask: a burst of `track()` calls costs one Worker message instead of one per call, and an
 * interaction's event still reaches the Worker before anything the page asks next (a `rank()`
 * awaits at least once before it posts).
 */
export class EventBatcher {
  private _batch: TrackedEvent[] = [];

  constructor(
    private readonly _send: (events: TrackedEvent[]) => void,
    // Called through a wrapper: `queueMicrotask` invoked as a method of this object throws "Illegal invocation".
    private readonly _schedule: (fn: () => void) => void = (fn) => queueMicrotask(fn),
  ) {}

  add(event: TrackedEvent): void {
    if (this._batch.push(event) === 1) this._schedule(() => this._flush());
  }

  /** Forgets what has not been sent (consent withdrawn, data erased). */
  clear(): void {
    this._batch = [];
  }

  private _flush(): void {
    const batch = this._batch;
    this._batch = [];
    if (batch.length > 0) this._send(batch);
  }
}
