import type { RankResult } from '../worker/protocol';
import { slotChildren } from './slotMarkup';
import { TimeSlice } from './timeSlice';

/** A slot and its children as they were when its rank request was built. */
export interface SlotRequest {
  slot: Element;
  children: ReturnType<typeof slotChildren>;
}

/** Most slots, and most children, in one rank request: each request is built within a slice. */
export const BATCH_SLOTS = 100;
export const BATCH_CHILDREN = 1500;

/** What {@link rankInBatches} needs from its caller. */
export interface BatchRanking {
  /** Asks the model for scores, one array of item ids per slot. */
  rank: (slots: string[][]) => Promise<RankResult>;
  /** Runs SDK work on the main thread while counting its time (see SdkCostMeter). */
  measure: <T>(fn: () => T) => T;
  /** Whether a slot still wants its rank when its request is built (e.g. still hidden). */
  wanted: (slot: Element) => boolean;
  /**
   * Called at the start of each slice of results with the requests from `from` on, before any
   * of them is applied: read styles or layout here, so a slice reads once and then writes.
   */
  prepare?: (requests: readonly SlotRequest[], from: number) => void;
  /** Applies one slot's scores (aligned with its item children; null: none known). */
  apply: (request: SlotRequest, scores: ReadonlyArray<number | null> | null, result: RankResult) => void;
  /** A request failed: `slots` were not applied. Nothing more is asked in this call. */
  failed: (err: unknown, slots: Element[]) => void;
}

/** Cuts `slots` into consecutive batches of at most {@link BATCH_SLOTS} slots and about {@link BATCH_CHILDREN} children. */
export function cutBatches<T>(slots: readonly T[], childCount: (slot: T) => number): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let children = 0;
  for (const slot of slots) {
    const n = childCount(slot);
    if (batch.length > 0 && (batch.length >= BATCH_SLOTS || children + n > BATCH_CHILDREN)) {
      batches.push(batch);
      batch = [];
      children = 0;
    }
    batch.push(slot);
    children += n;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

type Sent = { requests: SlotRequest[]; outcome: Promise<RankResult | { error: unknown }> };

const itemIds = (r: SlotRequest): string[] => r.children.flatMap((c) => (c.itemId ? [c.itemId] : []));

/**
 * Ranks `groups` of slots (the first group first: the slots that may be on screen) in batches, so
 * that no piece of main-thread work runs past one time slice: a batch's request is built (the
 * children read) within a slice and sent while the previous batch's answer is applied; answers
 * are applied slot by slot, yielding to the page whenever the slice is used up. A slot's
 * children are read when its request is built: `apply` must check they are still the same.
 */
export async function rankInBatches(groups: ReadonlyArray<readonly Element[]>, o: BatchRanking): Promise<void> {
  const batches = groups.flatMap((g) => cutBatches(g, (slot) => slot.childElementCount));
  const slice = new TimeSlice();
  const send = (k: number): Sent =>
    o.measure(() => {
      const requests = batches[k]!.filter(o.wanted).map((slot) => ({ slot, children: slotChildren(slot) }));
      if (requests.length === 0) return { requests, outcome: Promise.resolve({ scores: [], ms: 0 }) };
      const outcome = Promise.resolve()
        .then(() => o.rank(requests.map(itemIds)))
        .catch((error: unknown) => ({ error }));
      return { requests, outcome };
    });

  let next: Sent | null = batches.length > 0 ? send(0) : null;
  for (let k = 0; next; k++) {
    const current: Sent = next;
    next = null;
    if (k + 1 < batches.length) {
      if (slice.expired()) await slice.next();
      next = send(k + 1); // the Worker ranks it while this batch is applied
    }
    slice.pause(); // waiting for the Worker is not work on the page's thread
    const outcome = await current.outcome;
    slice.resume();
    if ('error' in outcome) {
      const rest = [...current.requests, ...(next?.requests ?? [])].map((r) => r.slot).concat(batches.slice(k + 2).flat());
      o.measure(() => o.failed(outcome.error, rest));
      return;
    }
    const { requests } = current;
    let i = 0;
    while (i < requests.length) {
      if (slice.expired()) await slice.next();
      o.measure(() => {
        o.prepare?.(requests, i);
        do {
          o.apply(requests[i]!, outcome.scores[i] ?? null, outcome);
          i++;
        } while (i < requests.length && !slice.expired());
      });
    }
  }
}
