import type { ModelConfig } from './modelConfig';

/**
 * The repeat path's scoring at inference, in plain JavaScript (no tfjs: the Worker's first rank
 * uses it before tfjs is loaded). The model and its training are described in `repeatMixture.ts`.
 */

/** β is soft-capped to ±REPEAT_CAP (`cap·tanh(β/cap)`) so that exp(β) cannot overflow float32. */
export const REPEAT_CAP = 30;

/** Dense repeat weights as plain arrays (inference). */
export interface RepeatWeights {
  query: ArrayLike<number>; // [hidden]
  key: ArrayLike<number>; // [hidden]
  recency: ArrayLike<number>; // [maxLen]: r_0 for the last item, r_1 the one before, …
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * β of every position of a window for its last position: `hidden[j]` is the GRU state after
 * item j (j = 0 … len−1, the last one being the current state).
 */
export function repeatLogits(hidden: ReadonlyArray<ArrayLike<number>>, w: RepeatWeights): Float64Array {
  const len = hidden.length;
  const out = new Float64Array(len);
  if (len === 0) return out;
  const q = dot(hidden[len - 1]!, w.query);
  for (let j = 0; j < len; j++) {
    const raw = q + dot(hidden[j]!, w.key) + w.recency[len - 1 - j]!;
    out[j] = REPEAT_CAP * Math.tanh(raw / REPEAT_CAP);
  }
  return out;
}

/**
 * Mixes the repeat path into scores in place: for each distinct item of the window that has a
 * column (`column(item) ≥ 0`; `row[offset + column]` is its score z), the score becomes
 * `log(exp(z) + Σ_j exp(β_j))` over the window positions j holding that item, or, `exclusive`,
 * `log Σ_j exp(β_j)` (the item score z no longer counts for a window item).
 */
export function mixRepeat(
  row: Float32Array,
  offset: number,
  items: ArrayLike<number>,
  betas: ArrayLike<number>,
  column: (item: number) => number,
  exclusive = false,
): void {
  const done = new Set<number>();
  for (let j = 0; j < items.length; j++) {
    const item = items[j]!;
    if (done.has(item)) continue;
    done.add(item);
    const c = column(item);
    if (c < 0) continue;
    const z = row[offset + c]!;
    let m = exclusive ? -Infinity : z;
    for (let k = j; k < items.length; k++) if (items[k] === item && betas[k]! > m) m = betas[k]!;
    let sum = exclusive ? 0 : Math.exp(z - m);
    for (let k = j; k < items.length; k++) if (items[k] === item) sum += Math.exp(betas[k]! - m);
    row[offset + c] = m + Math.log(sum);
  }
}

/** Maps an item to its column in a score row: itself for a full row, else its index in `candidates` (−1 if absent). */
export function candidateColumn(candidates?: ArrayLike<number>): (item: number) => number {
  if (!candidates) return (item) => item;
  const index = new Map<number, number>();
  for (let j = 0; j < candidates.length; j++) if (!index.has(candidates[j]!)) index.set(candidates[j]!, j);
  return (item) => index.get(item) ?? -1;
}

/** The repeat weights among a model's dense weights (by name), or null for a model without the path. */
export function repeatWeights(config: ModelConfig, dense: ReadonlyMap<string, ArrayLike<number>>): RepeatWeights | null {
  if (!config.repeat) return null;
  const get = (name: string): ArrayLike<number> => {
    const w = dense.get(name);
    if (!w) throw new Error(`model weights lack the tensor "${name}"`);
    return w;
  };
  return { query: get('repeat/query'), key: get('repeat/key'), recency: get('repeat/recency') };
}

/**
 * Applies the repeat path of a session window — its items and the GRU state after each — to a
 * score row in place (see {@link mixRepeat}); `column` maps an item to its place in the row.
 */
export function applyRepeat(
  config: ModelConfig,
  w: RepeatWeights,
  row: Float32Array,
  offset: number,
  items: ArrayLike<number>,
  hidden: ReadonlyArray<ArrayLike<number>>,
  column: (item: number) => number,
): void {
  mixRepeat(row, offset, items, repeatLogits(hidden, w), column, config.repeat === 'exclusive');
}
