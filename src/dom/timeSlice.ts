/**
 * Main-thread budget for the SDK's DOM work: it runs in slices of about {@link SLICE_MS} and
 * yields to the page between them, so no frame holds more than one slice of SDK work
 * (a long animation frame is one of 50 ms or more: https://w3c.github.io/long-animation-frames/)
 * and input and rendering go first.
 */
export const SLICE_MS = 8;

type Scheduler = { yield?: () => Promise<void> };

let channel: MessageChannel | null = null;
const waiting: Array<() => void> = [];

/**
 * Resolves in a new task after letting the page run: `scheduler.yield()` where the browser has
 * it (https://wicg.github.io/scheduling-apis/#dom-scheduler-yield), else a MessageChannel
 * message (not clamped like nested `setTimeout`), else `setTimeout`.
 */
export function yieldTask(): Promise<void> {
  try {
    const scheduler = (globalThis as { scheduler?: Scheduler }).scheduler;
    if (typeof scheduler?.yield === 'function') return scheduler.yield().catch(() => undefined);
  } catch {
    /* fall through */
  }
  return new Promise<void>((resolve) => {
    try {
      if (!channel) {
        channel = new MessageChannel();
        channel.port1.onmessage = () => waiting.shift()?.();
      }
      waiting.push(resolve);
      channel.port2.postMessage(null);
    } catch {
      setTimeout(() => resolve(), 0);
    }
  });
}

/**
 * Resolves at the page's next frame, so the work done before it is rendered first. Yielding a
 * task is not enough: Chromium runs `scheduler.yield()` continuations (and other queued tasks)
 * ahead of rendering, and slices yielded that way were measured to pile up into one frame
 * (~110 ms of SDK script in one long animation frame on a 500-slot page). A hidden page renders
 * nothing (and runs no animation frames): there a task is yielded. If no frame comes within
 * 50 ms (a throttled frame), the work goes on anyway. Every callback is the SDK's own function
 * (not a bare `resolve`), so the work that follows is attributed to the SDK's script in the Long
 * Animation Frames API.
 */
export function yieldToPage(): Promise<void> {
  try {
    if (typeof requestAnimationFrame !== 'function' || document.visibilityState === 'hidden') return yieldTask();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => resolve(), 50);
      requestAnimationFrame(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  } catch {
    return yieldTask();
  }
}

/**
 * The SDK's main-thread budget for the current frame: `expired()` once {@link SLICE_MS} of work
 * has run since the page last rendered (as far as the SDK can tell), `next()` waits for the next
 * frame and starts a fresh budget. Time spent waiting on something else (a Worker reply,
 * `pause()` … `resume()`) is not work; a frame rendered meanwhile renews the budget, else the
 * work resumed in the same frame continues on what is left of it.
 */
export class TimeSlice {
  private _spent = 0;
  private _since = performance.now();
  private _framed = false;

  constructor(private readonly _budgetMs = SLICE_MS) {}

  /** Whether this frame's budget is used up. */
  expired(): boolean {
    return this._spent + performance.now() - this._since >= this._budgetMs;
  }

  /** Stops the clock while the work waits on something other than the page. */
  pause(): void {
    this._spent += performance.now() - this._since;
    this._framed = false;
    try {
      requestAnimationFrame(() => (this._framed = true));
    } catch {
      this._framed = true; // no frames to protect
    }
  }

  /** Starts the clock again: with a fresh budget if the page rendered (or cannot) meanwhile. */
  resume(): void {
    let hidden = false;
    try {
      hidden = document.visibilityState === 'hidden';
    } catch {
      /* no document: no frames */
    }
    if (this._framed || hidden) this._spent = 0;
    this._since = performance.now();
  }

  /** Yields to the page until its next frame and starts a fresh budget. */
  async next(): Promise<void> {
    await yieldToPage();
    this._spent = 0;
    this._since = performance.now();
  }
}
