import type { SlotRankedInfo } from '../config/config';
import type { RankResult } from '../worker/protocol';
import { isHidden, removeHideSheet, SHOWN_ATTRIBUTE, type HideSheet } from './hideSheet';
import { rankInBatches, type SlotRequest } from './rankInBatches';
import { orderByScores } from './rankOrder';
import { TimeSlice } from './timeSlice';
import { applyOrder, findSlots, sameChildren } from './slotMarkup';

/** What the slot ranker needs from the rest of the SDK. */
export interface SlotRankerOptions {
  doc: Document;
  /** The installed hide rule (null if it could not be installed). */
  sheet: HideSheet | null;
  /** Deadline (`performance.now()` time) for the slots already on the page. */
  firstDeadline: number;
  /** How long a slot added later may stay hidden. */
  timeoutMs: number;
  /** Asks the model for scores. */
  rank: (slots: string[][]) => Promise<RankResult>;
  onRanked: (info: SlotRankedInfo) => void;
  onError: (err: unknown) => void;
  /** Runs SDK work on the main thread while counting its time (see SdkCostMeter). */
  measure: <T>(fn: () => T) => T;
}

type Scores = ReadonlyArray<number | null> | null;

/**
 * Keeps every slot's promise: shown in its ranked order before its deadline, or in its own order
 * at the deadline, never reordered once the shopper may have seen it. Slots added later
 * (MutationObserver) get their own deadline. After an interaction, {@link rerankOffscreen}
 * reorders only shown slots that are entirely outside the viewport.
 *
 * The deadline bounds how long a slot is hidden; what the shopper must not see is a slot that
 * changes. A slot entirely off screen at its deadline is shown (nothing visible changes) and
 * keeps waiting for its first rank while it stays off screen (`deferred`, deadline Infinity);
 * one that comes within 200 px of the viewport first keeps the page's order (`kept: 'timeout'`,
 * told when its scores come). A big page whose Worker is ready just before the deadline thus gets
 * its first viewport ranked first and the rest before the shopper scrolls there.
 *
 * The page may change a slot while its rank is in flight (an SPA, infinite scroll, a filter):
 * a result is applied only to a slot that still holds exactly the children it was computed for
 * (`sameChildren`). Otherwise a waiting slot is ranked again before its deadline, a shown slot is
 * left alone, and a slot out of the document waits (ranked if it comes back, else shown at its
 * deadline). Work runs in time slices, slots that may be on screen first (see rankInBatches).
 */
export class SlotRanker {
  private readonly _pending = new Map<Element, number>(); // slot → deadline
  private readonly _onScreen = new WeakMap<Element, boolean>();
  private _ready = false;
  private _failed = false;
  /** Slots wait that no round has seen as they are now (new, changed, back in the document). */
  private _dirty = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _mutations: MutationObserver | null = null;
  private _viewport: IntersectionObserver | null = null;
  private _flush: Promise<void> | null = null;
  private _offscreen: Promise<void> | null = null;
  private _offscreenAgain: Promise<void> | null = null;

  constructor(private readonly _o: SlotRankerOptions) {}

  /** Takes over the slots on the page and watches for new ones. */
  start(): void {
    const slots = findSlots(this._o.doc);
    for (const slot of slots) this._add(slot, this._o.firstDeadline);
    try {
      // "On screen" includes a margin: a slot about to scroll into view counts as seen.
      this._viewport = new IntersectionObserver(
        (entries) => {
          for (const e of entries) this._onScreen.set(e.target, e.isIntersecting);
        },
        { rootMargin: '200px' },
      );
      for (const slot of slots) this._viewport.observe(slot);
    } catch {
      /* no IntersectionObserver: shown slots are never re-ranked */
    }
    this._mutations = new MutationObserver((records) => this._o.measure(() => this._onMutations(records)));
    this._mutations.observe(this._o.doc.documentElement, { childList: true, subtree: true });
    this._schedule();
  }

  /** The model is ready: rank what waits. */
  ready(): Promise<void> {
    this._ready = true;
    return this._rankPending();
  }

  /** Something failed for good: every slot is shown as the page wrote it, now and from now on. */
  fail(kept: SlotRankedInfo['kept'] = 'error'): void {
    this._failed = true;
    this._reveal([...this._pending.keys()], kept);
    this._pending.clear();
    removeHideSheet(this._o.sheet);
    this.stop();
  }

  stop(): void {
    this._mutations?.disconnect();
    this._viewport?.disconnect();
    if (this._timer !== null) clearTimeout(this._timer);
  }

  /**
   * Re-ranks shown slots that are entirely off screen (after an interaction). One re-rank runs at
   * a time; calls meanwhile share one more run after it, which reads the slots afresh.
   */
  rerankOffscreen(): Promise<void> {
    if (!this._ready || this._failed) return Promise.resolve();
    if (this._offscreen) {
      const again = (): Promise<void> => {
        this._offscreenAgain = null;
        return this.rerankOffscreen();
      };
      return (this._offscreenAgain ??= this._offscreen.then(again, again));
    }
    const run = this._o.measure(() => this._rerankOffscreen());
    this._offscreen = run.finally(() => (this._offscreen = null));
    return this._offscreen;
  }

  private async _rerankOffscreen(): Promise<void> {
    const offscreen = (s: Element): boolean => s.hasAttribute(SHOWN_ATTRIBUTE) && !this._pending.has(s) && this._onScreen.get(s) === false;
    const slots = findSlots(this._o.doc).filter(offscreen);
    return rankInBatches([slots], {
      rank: this._o.rank,
      measure: this._o.measure,
      wanted: (s) => !this._failed && s.isConnected && offscreen(s),
      apply: ({ slot, children }, scores) => {
        // Only if it is still off screen now that the scores are back, and still as it was read.
        if (this._failed || this._onScreen.get(slot) !== false || !sameChildren(slot, children)) return;
        this._reorder({ slot, children }, scores);
      },
      failed: (err) => this._o.onError(err),
    });
  }

  /** Slots added to the page (or put back) get their own deadline. */
  private _onMutations(records: MutationRecord[]): void {
    if (records.length === 0) return;
    const now = performance.now();
    for (const r of records)
      for (const node of Array.from(r.addedNodes)) {
        if (!(node instanceof Element)) continue;
        for (const slot of findSlots(node)) {
          this._viewport?.observe(slot);
          this._add(slot, now + this._o.timeoutMs);
        }
      }
    this._schedule();
    if (this._ready && this._dirty) void this._rankPending();
  }

  private _add(slot: Element, deadline: number): void {
    if (this._failed || slot.hasAttribute(SHOWN_ATTRIBUTE)) return;
    this._dirty = true; // new, or back in the document: a round should see it
    if (!this._pending.has(slot)) this._pending.set(slot, deadline);
  }

  private _schedule(): void {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    let next = Infinity;
    for (const deadline of this._pending.values()) next = Math.min(next, deadline);
    if (next === Infinity) return;
    this._timer = setTimeout(
      () =>
        this._o.measure(() => {
          this._timer = null;
          const now = performance.now();
          const due: Element[] = [];
          for (const [slot, deadline] of this._pending) if (deadline <= now + 1) due.push(slot);
          this._due(due);
          this._schedule();
        }),
      next - performance.now(), // a negative delay runs at once
    );
  }

  /** Slots whose deadline passed: shown; those off screen are deferred (see the class comment). */
  private _due(slots: Element[]): void {
    const seen = slots.filter((slot) => {
      if (this._pending.get(slot) !== Infinity && this._onScreen.get(slot) === false && slot.isConnected) {
        this._pending.set(slot, Infinity);
        slot.setAttribute(SHOWN_ATTRIBUTE, 'deferred');
        return false;
      }
      return this._pending.delete(slot);
    });
    this._reveal(seen, 'timeout');
  }

  private _rankPending(): Promise<void> {
    this._dirty = true;
    // One round at a time; slots that arrive or change meanwhile are taken by the next one.
    this._flush ??= Promise.resolve().then(async () => {
      // A slot met while the parser is still writing it may not have all its children yet: rank
      // once the document is parsed (its deadline still holds).
      if (this._o.doc.readyState === 'loading') {
        await new Promise<void>((resolve) => this._o.doc.addEventListener('DOMContentLoaded', () => resolve(), { once: true }));
      }
      try {
        while (this._dirty && this._ready && !this._failed) {
          this._dirty = false;
          await this._round();
        }
      } catch (err) {
        this._o.onError(err);
      }
      this._flush = null;
    });
    return this._flush;
  }

  /** Ranks the waiting slots that are in the document, those that may be on screen first. */
  private _round(): Promise<void> {
    // A deferred slot the page took out is shown; if it comes back, it is not ranked.
    this._due([...this._pending.keys()].filter((s) => !s.isConnected && this._pending.get(s) === Infinity));
    const slots = [...this._pending.keys()].filter((s) => s.isConnected);
    const hidden = new Map<Element, boolean>();
    const wanted = (s: Element): boolean => this._pending.has(s) && s.isConnected;
    return rankInBatches([slots.filter((s) => this._onScreen.get(s) !== false), slots.filter((s) => this._onScreen.get(s) === false)], {
      rank: this._o.rank,
      measure: this._o.measure,
      wanted,
      // Styles are read once per slice, before its writes (a read after a write forces a style
      // recalculation), and only for slots that may still be reordered on screen: even the
      // first read recalculates whatever the page changed (thousands of slots shown at once).
      prepare: (requests, from) => {
        const now = performance.now();
        for (let i = from; i < requests.length; i++) {
          const slot = requests[i]!.slot;
          if (this._onScreen.get(slot) !== false && (this._pending.get(slot) ?? 0) > now && slot.isConnected)
            hidden.set(slot, isHidden(slot));
        }
      },
      apply: (request, scores, result) => this._applyFirst(request, scores, result, hidden.get(request.slot)),
      failed: (err, rest) => {
        this._o.onError(err);
        for (const slot of rest) if (this._pending.delete(slot)) this._show(slot, false, 'error');
      },
    }).then(() => this._schedule());
  }

  /** A waiting slot's first rank, if it is still waiting and still holds what was ranked. */
  private _applyFirst(request: SlotRequest, scores: Scores, result: RankResult, hidden?: boolean): void {
    const { slot } = request;
    const deadline = this._pending.get(slot);
    if (deadline === undefined) return; // shown at its deadline meanwhile: it stays as it is
    // Past its deadline (or deferred) and possibly seen: it stays in the page's order.
    if ((deadline === Infinity || performance.now() >= deadline) && this._onScreen.get(slot) !== false) {
      this._pending.delete(slot);
      return this._show(slot, false, 'timeout');
    }
    if (!slot.isConnected) return; // out of the document: ranked if it comes back, else its deadline shows it
    if (!sameChildren(slot, request.children)) {
      this._dirty = true; // the page changed it: the next round ranks what it holds now
      return;
    }
    this._pending.delete(slot);
    if (!scores) this._show(slot, false, result.reason ?? 'no_known_items');
    else if (this._onScreen.get(slot) !== false && !(hidden ?? isHidden(slot))) this._show(slot, false, 'visible');
    else this._show(slot, this._reorder(request, scores));
  }

  /** Applies scores (aligned with the slot's item children) and returns whether anything moved. */
  private _reorder({ slot, children }: SlotRequest, scores: Scores): boolean {
    if (!scores) return false;
    try {
      // The records of the SDK's own moves are dropped (they add no slot; reading them costs as
      // much as the moves); the page's records before them are handled first.
      if (this._mutations) this._onMutations(this._mutations.takeRecords());
      const moved = applyOrder(slot, children, orderByScores(children, scores));
      this._mutations?.takeRecords();
      return moved;
    } catch (err) {
      this._o.onError(err);
      return false;
    }
  }

  /**
   * Shows `slots` in the page's order at once (a deadline, a failure: there may be thousands),
   * and tells the site in time slices afterwards: its callback may be slow, the slots are shown.
   */
  private _reveal(slots: Element[], kept: SlotRankedInfo['kept']): void {
    const at = performance.now();
    for (const slot of slots) {
      slot.setAttribute(SHOWN_ATTRIBUTE, kept ?? 'kept');
      if (!slot.isConnected) this._viewport?.unobserve(slot);
    }
    if (slots.length === 0) return;
    const slice = new TimeSlice();
    const notify = async (): Promise<void> => {
      for (let i = 0; i < slots.length;) {
        if (slice.expired()) await slice.next();
        this._o.measure(() => {
          do this._o.onRanked({ slot: slots[i++]!, reordered: false, kept, at });
          while (i < slots.length && !slice.expired());
        });
      }
    };
    notify().catch(this._o.onError);
  }

  private _show(slot: Element, reordered: boolean, kept?: SlotRankedInfo['kept']): void {
    slot.setAttribute(SHOWN_ATTRIBUTE, reordered ? 'ranked' : (kept ?? 'kept'));
    if (!slot.isConnected) this._viewport?.unobserve(slot);
    this._o.onRanked({ slot, reordered, kept, at: performance.now() }); // kept comes only with reordered false
  }
}
