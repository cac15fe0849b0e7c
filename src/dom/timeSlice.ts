/**
 * Main-thread budget for the SDK's DOM work. It runs in slices of at most {@link SLICE_MS},
 * each its own task (input is handled between them), and at most {@link FRAME_MS} of it between
 * two frames: then it waits for the next frame, so rendering is never held up long (a long
 * animation frame is one of 50 ms or more: https://w3c.github.io/long-animation-frames/).
 */
export const SLICE_MS = 8;
export const FRAME_MS = 16;

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
 * Resolves at the page's next frame, so the work done before it is rendered first. Yielding
 * tasks alone is not enough: Chromium runs `scheduler.yield()` continuations (and other queued
 * tasks) ahead of rendering, and slices yielded only that way were measured to pile up into one
 * frame (9 slices, ~110 ms of SDK script in one long animation frame on a 500-slot page). A hidden page renders
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
 * The clock of one piece of SDK work: `expired()` once the current slice has run
 * {@link SLICE_MS}, or the SDK's work since the page last rendered has reached
 * {@link FRAME_MS}; `next()` yields (a task, or the next frame once the frame's budget is used).
 * Waiting on something else (a Worker reply, `pause()` … `resume()`) is not work. Frames are
 * seen by `requestAnimationFrame`; a hidden page renders none, and there only slices count.
 */
export class TimeSlice {
  private _start = performance.now();
  /** SDK work done in the current frame before the running slice. */
  private _frameSpent = 0;
  private _watching = false;

  constructor() {
    this._watch();
  }

  /** Whether the running slice (or the frame's budget) is used up. */
  expired(): boolean {
    const ran = performance.now() - this._start;
    return ran >= SLICE_MS || this._frameSpent + ran >= FRAME_MS;
  }

  /** Stops the clock while the work waits on something other than the page. */
  pause(): void {
    this._frameSpent += performance.now() - this._start;
  }

  /** Starts a new slice (in the same frame, unless the page rendered meanwhile). */
  resume(): void {
    this._start = performance.now();
    this._watch();
  }

  /** Yields to the page (until its next frame once this frame's budget is used), then resumes. */
  async next(): Promise<void> {
    this.pause();
    if (this._frameSpent + SLICE_MS > FRAME_MS) {
      await yieldToPage();
      this._frameSpent = 0;
    } else await yieldTask();
    this.resume();
  }

  /** Notes the next frame: the frame's budget starts again there. */
  private _watch(): void {
    if (this._watching) return;
    try {
      if (document.visibilityState === 'hidden') return;
      this._watching = true;
      requestAnimationFrame(() => {
        this._watching = false;
        this._frameSpent = 0;
      });
    } catch {
      /* no frames to watch: only slices count */
      this._watching = false;
    }
  }
}
