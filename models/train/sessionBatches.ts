import type { Random } from '../random';

/** One mini-batch: `batch` sessions, left-aligned and padded to `steps` items. */
export interface SessionBatch {
  steps: number;
  batch: number;
  /** Item indices, time-major: `items[t*batch + b]` (-1 = padding). */
  items: Int32Array;
  /** Next-item targets at each position, time-major like `items` (-1 = no target: masked). */
  targets: Int32Array;
}

/**
 * Cuts sessions into windows of at most `maxLen` items. Consecutive windows share one item (the
 * last input of one is the first input of the next), so every target of a long session is
 * predicted exactly once.
 */
export function windowSessions(sessions: Int32Array[], maxLen: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (const s of sessions) {
    if (s.length < 2) continue;
    for (let start = 0; start < s.length - 1; start += maxLen - 1) {
      out.push(s.subarray(start, Math.min(s.length, start + maxLen)));
    }
  }
  return out;
}

/**
 * Session-parallel mini-batches: each row of a batch is one whole session (full back-propagation
 * through the session, and the attention read-out can see every earlier position). Sessions are
 * grouped by length so that rows of a batch are nearly the same length and padding stays small;
 * the order of batches is shuffled each epoch (the file is in date order, see PLATFORM.md).
 * Returns the batches' session lists; {@link buildBatch} lays one out.
 */
export function planEpoch(windows: Int32Array[], batchSize: number, rng: Random): Int32Array[][] {
  const order = rng.shuffle(windows.map((_, i) => i));
  // Stable sort by length after a shuffle: random order within each length.
  order.sort((a, b) => windows[a]!.length - windows[b]!.length);
  const batches: Int32Array[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    batches.push(order.slice(i, i + batchSize).map((k) => windows[k]!));
  }
  return rng.shuffle(batches);
}

/** Lays out sessions as a time-major {@link SessionBatch}. */
export function buildBatch(sessions: Int32Array[]): SessionBatch {
  const batch = sessions.length;
  let steps = 1;
  for (const s of sessions) if (s.length - 1 > steps) steps = s.length - 1;
  const items = new Int32Array(steps * batch).fill(-1);
  const targets = new Int32Array(steps * batch).fill(-1);
  sessions.forEach((s, b) => {
    // Inputs are items 0…n-2, targets items 1…n-1: the last item is never an input.
    for (let t = 0; t < s.length - 1; t++) {
      items[t * batch + b] = s[t]!;
      targets[t * batch + b] = s[t + 1]!;
    }
  });
  return { steps, batch, items, targets };
}
