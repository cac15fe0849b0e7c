import { orderByScores } from '../dom/rankOrder';
import { sdkError } from '../errors';
import type { RankResult } from '../worker/protocol';

/** Options of `rankItems()`. */
export interface RankItemsOptions {
  /**
   * Called with the new order whenever a later ranking would order the list differently: after
   * each interaction, when consent is granted later, or when the model answers after the deadline.
   * Never called with the order the promise resolved to, nor twice with the same order.
   */
  onChange?: (order: string[]) => void;
  /** Aborting it stops `onChange` (e.g. when the component that shows the list unmounts). */
  signal?: AbortSignal;
  /** Longest wait for the first order, in ms (0-10,000). Default: the config's `hideTimeoutMs` (300). */
  timeoutMs?: number;
}

/** What the lists need from the rest of the SDK. */
export interface RankedListsOptions {
  /** Scores lists of item ids; null when the model cannot rank now (no consent, no Worker). Never rejects. */
  rank: (lists: string[][]) => Promise<RankResult | null>;
  /** Each first order: reordered or kept (for `status().slots`). */
  onDecided: (reordered: boolean) => void;
}

interface Entry {
  ids: string[];
  /** The order last handed to the site. */
  shown: string[];
  /** Sequence number of the ranking `shown` came from: an older answer never overrides a newer one. */
  seq: number;
  onChange?: (order: string[]) => void;
}

/** A list's order from its scores (aligned with `ids`), or null when the scores say nothing. */
export function orderFromScores(ids: readonly string[], scores: ReadonlyArray<number | null> | null | undefined): string[] | null {
  if (!scores) return null;
  return orderByScores(
    ids.map((itemId) => ({ itemId, pinned: false })),
    scores,
  ).map((i) => ids[i]!);
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The framework side of ranking: orders lists of item ids without touching the DOM. The first
 * order comes by the deadline (the given order if the model has not answered by then); lists
 * with an `onChange` are ranked again by {@link refresh} and told when their order would change.
 * Items the model does not know keep their positions and equal scores keep the given order, as
 * in a slot.
 */
export class RankedLists {
  private readonly _live = new Set<Entry>();
  private _seq = 0;
  private _refreshing: Promise<void> | null = null;
  private _again = false;

  constructor(private readonly _o: RankedListsOptions) {}

  /** Resolves to the list's order by `timeoutMs`; never rejects. */
  add(ids: string[], options: RankItemsOptions, timeoutMs: number): Promise<string[]> {
    const { onChange, signal } = options;
    const entry: Entry = { ids, shown: ids, seq: 0, ...(onChange ? { onChange } : {}) };
    if (onChange && !signal?.aborted) {
      this._live.add(entry);
      signal?.addEventListener('abort', () => this._live.delete(entry), { once: true });
    }
    const seq = ++this._seq;
    return new Promise<string[]>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this._o.onDecided(false);
        resolve(ids);
      }, timeoutMs);
      void this._o.rank([ids]).then((result) => {
        const order = orderFromScores(ids, result?.scores[0]);
        if (settled) return this._apply(entry, order, seq); // too late for the promise: a change, if any
        clearTimeout(timer);
        settled = true;
        entry.shown = order ?? ids;
        entry.seq = seq;
        this._o.onDecided(order !== null && !same(order, ids));
        resolve(entry.shown);
      });
    });
  }

  /** Ranks every list that has an `onChange` again and tells those whose order changed. */
  refresh(): Promise<void> {
    if (this._refreshing) {
      this._again = true; // one more pass once this one is done, for what changed meanwhile
      return this._refreshing;
    }
    this._refreshing = (async () => {
      do {
        this._again = false;
        const entries = [...this._live];
        if (entries.length === 0) break;
        const seq = ++this._seq;
        const result = await this._o.rank(entries.map((e) => e.ids));
        entries.forEach((e, k) => this._apply(e, orderFromScores(e.ids, result?.scores[k]), seq));
      } while (this._again);
      this._refreshing = null;
    })();
    return this._refreshing;
  }

  private _apply(entry: Entry, order: string[] | null, seq: number): void {
    if (!order || seq < entry.seq || !this._live.has(entry)) return;
    entry.seq = seq;
    if (same(order, entry.shown)) return;
    entry.shown = order;
    try {
      entry.onChange!(order);
    } catch {
      /* the site's callback must not break the SDK */
    }
  }
}

/**
 * `rankItems(label, itemIds, options)` of the SDK: a misuse is reported (`ConfigError`) and the
 * given order comes back; otherwise the list is ranked by its deadline (`timeoutMs`, 0-10,000,
 * default the config's `hideTimeoutMs`) counted from `t0`, the moment of the call. Never rejects.
 */
export function rankItems(
  lists: RankedLists,
  report: (err: unknown) => void,
  [label, itemIds, options]: [unknown, unknown, RankItemsOptions | undefined],
  defaultTimeoutMs: number,
  t0: number,
): Promise<string[]> {
  try {
    if (typeof label !== 'string' || !Array.isArray(itemIds)) {
      report(
        sdkError(
          'ConfigError',
          `rankItems(label, itemIds): expected a string and an array of item ids, got ${typeof label} and ${typeof itemIds}`,
        ),
      );
      return Promise.resolve(Array.isArray(itemIds) ? itemIds.map(String) : []);
    }
    const timeout = Number(options?.timeoutMs ?? defaultTimeoutMs);
    const wait = Math.min(10_000, Math.max(0, Number.isFinite(timeout) ? timeout : 0));
    return lists.add(itemIds.map(String), options ?? {}, Math.max(0, wait - (performance.now() - t0)));
  } catch (err) {
    report(err);
    return Promise.resolve(Array.isArray(itemIds) ? itemIds.map(String) : []);
  }
}
