import type { Random } from '../random';

/**
 * Session-parallel mini-batches: each row of a batch is one whole session (full back-propagation
 * through the session, and the attention read-out can see every earlier position). Sessions are
 * grouped by length so that rows of a batch are nearly the same length and padding stays small;
 * the order of batches is shuffled each epoch (the file is in date order, see PLATFORM.md).
 * Returns the batches' session lists; `buildBatch` (`src/model/tfjs/sessionLoss.ts`) lays one out.
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
