import type { SlotRankedInfo } from '../config/config';
import type { RankResult } from '../worker/protocol';
import { isHidden, removeHideSheet, SHOWN_ATTRIBUTE, type HideSheet } from './hideSheet';
import { rankOrder } from './rankOrder';
import { applyOrder, findSlots, slotChildren } from './slotMarkup';

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

type Pending = { slot: Element; deadline: number };

/**
 * Keeps every slot's promise: shown in its ranked order before its deadline, or in its own order
 * at the deadline, never reordered once the shopper may have seen it. Slots added later
 * (MutationObserver) get their own deadline. After an interaction, {@link rerankOffscreen}
 * reorders only shown slots that are entirely outside the viewport.
 */
export class SlotRanker {
  private readonly _pending = new Map<Element, Pending>();
  private readonly _onScreen = new Map<Element, boolean>();
  private _ready = false;
  private _failed = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _mutations: MutationObserver | null = null;
  private _viewport: IntersectionObserver | null = null;
  private _flush: Promise<void> | null = null;

  constructor(private readonly _o: SlotRankerOptions) {}

  /** Takes over the slots on the page and watches for new ones. */
  start(): void {
    for (const slot of findSlots(this._o.doc)) this._add(slot, this._o.firstDeadline);
    try {
      this._viewport = new IntersectionObserver((entries) => {
        for (const e of entries) this._onScreen.set(e.target, e.isIntersecting);
      });
      for (const slot of findSlots(this._o.doc)) this._viewport.observe(slot);
    } catch {
      /* no IntersectionObserver: shown slots are never re-ranked */
    }
    this._mutations = new MutationObserver((records) =>
      this._o.measure(() => {
        const now = performance.now();
        for (const r of records)
          for (const node of Array.from(r.addedNodes)) {
            if (!(node instanceof Element)) continue;
            for (const slot of findSlots(node)) {
              this._viewport?.observe(slot);
              this._add(slot, now + this._o.timeoutMs);
            }
          }
        if (this._ready) void this._rankPending();
      }),
    );
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
    for (const { slot } of this._pending.values()) this._show(slot, false, kept);
    this._pending.clear();
    removeHideSheet(this._o.sheet);
    this.stop();
  }

  stop(): void {
    this._mutations?.disconnect();
    this._viewport?.disconnect();
    if (this._timer !== null) clearTimeout(this._timer);
  }

  /** Re-ranks shown slots that are entirely off screen (after an interaction). */
  async rerankOffscreen(): Promise<void> {
    if (!this._ready || this._failed) return;
    const slots = findSlots(this._o.doc).filter((s) => s.hasAttribute(SHOWN_ATTRIBUTE) && this._onScreen.get(s) === false);
    if (slots.length === 0) return;
    const requests = slots.map((s) => slotChildren(s));
    const result = await this._o.rank(requests.map((children) => children.flatMap((c) => (c.itemId ? [c.itemId] : []))));
    this._o.measure(() =>
      slots.forEach((slot, k) => {
        // Only if it is still off screen now that the scores are back.
        if (this._onScreen.get(slot) !== false) return;
        this._reorder(slot, requests[k]!, result.scores[k] ?? null);
      }),
    );
  }

  private _add(slot: Element, deadline: number): void {
    if (this._failed || slot.hasAttribute(SHOWN_ATTRIBUTE) || this._pending.has(slot)) return;
    this._pending.set(slot, { slot, deadline });
    this._schedule();
  }

  private _schedule(): void {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    let next = Infinity;
    for (const p of this._pending.values()) next = Math.min(next, p.deadline);
    if (next === Infinity) return;
    this._timer = setTimeout(
      () =>
        this._o.measure(() => {
          this._timer = null;
          const now = performance.now();
          for (const p of [...this._pending.values()]) {
            if (p.deadline <= now + 1) {
              this._pending.delete(p.slot);
              this._show(p.slot, false, 'timeout');
            }
          }
          this._schedule();
        }),
      Math.max(0, next - performance.now()),
    );
  }

  private _rankPending(): Promise<void> {
    // One request at a time; slots that arrive meanwhile are taken by the next one.
    this._flush ??= Promise.resolve().then(async () => {
      // A slot met while the parser is still writing it may not have all its children yet: rank
      // once the document is parsed (its deadline still holds).
      if (this._o.doc.readyState === 'loading') {
        await new Promise<void>((resolve) => this._o.doc.addEventListener('DOMContentLoaded', () => resolve(), { once: true }));
      }
      const slots = [...this._pending.keys()];
      if (slots.length > 0 && !this._failed) {
        const requests = slots.map((s) => slotChildren(s));
        try {
          const result = await this._o.rank(requests.map((children) => children.flatMap((c) => (c.itemId ? [c.itemId] : []))));
          this._o.measure(() =>
            slots.forEach((slot, k) => {
              if (!this._pending.delete(slot)) return; // its deadline passed meanwhile: it stays as it is
              const scores = result.scores[k] ?? null;
              if (!scores) this._show(slot, false, result.reason ?? 'no_known_items');
              else if (!isHidden(slot) && this._onScreen.get(slot) !== false) this._show(slot, false, 'visible');
              else this._show(slot, this._reorder(slot, requests[k]!, scores));
            }),
          );
        } catch (err) {
          this._o.onError(err);
          for (const slot of slots) if (this._pending.delete(slot)) this._show(slot, false, 'error');
        }
      }
      this._flush = null;
      this._schedule();
      if (this._pending.size > 0 && this._ready) await this._rankPending();
    });
    return this._flush;
  }

  /** Applies scores (aligned with the slot's item children) and returns whether anything moved. */
  private _reorder(slot: Element, children: ReturnType<typeof slotChildren>, scores: ReadonlyArray<number | null> | null): boolean {
    if (!scores) return false;
    const byId = new Map<string, number>();
    let k = 0;
    for (const c of children)
      if (c.itemId) {
        const s = scores[k++];
        if (s !== null && s !== undefined && !byId.has(c.itemId)) byId.set(c.itemId, s);
      }
    try {
      return applyOrder(
        slot,
        children,
        rankOrder(children, (id) => byId.get(id)),
      );
    } catch (err) {
      this._o.onError(err);
      return false;
    }
  }

  private _show(slot: Element, reordered: boolean, kept?: SlotRankedInfo['kept']): void {
    slot.setAttribute(SHOWN_ATTRIBUTE, reordered ? 'ranked' : (kept ?? 'kept'));
    this._o.onRanked(kept && !reordered ? { slot, reordered, kept, at: performance.now() } : { slot, reordered, at: performance.now() });
  }
}
