import { longestIncreasing } from './longestIncreasing';
import type { SlotChild } from './rankOrder';

/**
 * The markup contract:
 * - a slot is any element with `data-personalize-slot` (its value is a free label);
 * - its element children with `data-personalize-item="<item id>"` may be reordered;
 * - a child with `data-personalize-pin` never moves; children without an item id never move;
 * - an element with `data-personalize-view="<item id>"` records a view of that item when it
 *   appears (a product page's main element);
 * - a click inside an element with `data-personalize-item` records a click on it, or the event
 *   named by the nearest `data-personalize-event` (e.g. `add_to_cart` on a button).
 */
export const SLOT_SELECTOR = '[data-personalize-slot]';
export const ITEM_ATTRIBUTE = 'data-personalize-item';
export const PIN_ATTRIBUTE = 'data-personalize-pin';
export const VIEW_ATTRIBUTE = 'data-personalize-view';
export const EVENT_ATTRIBUTE = 'data-personalize-event';

/** A slot's element children as the ranking sees them. */
export function slotChildren(slot: Element): Array<SlotChild & { element: Element }> {
  return Array.from(slot.children, (element) => ({
    element,
    itemId: element.getAttribute(ITEM_ATTRIBUTE) || null,
    pinned: element.hasAttribute(PIN_ATTRIBUTE),
  }));
}

/** Every slot in or at `root`. */
export function findSlots(root: ParentNode | Element): Element[] {
  const found = Array.from(root.querySelectorAll(SLOT_SELECTOR));
  if (root instanceof Element && root.matches(SLOT_SELECTOR)) found.unshift(root);
  return found;
}

/**
 * Whether `slot` still holds exactly `children` (the same nodes, in the same order, with the same
 * item ids and pins) — false once the page has added, removed, moved or rewritten any of them,
 * or taken the slot out of the document. Ranking results are applied only while this holds.
 */
export function sameChildren(slot: Element, children: ReadonlyArray<SlotChild & { element: Element }>): boolean {
  if (!slot.isConnected) return false;
  const now = slot.children;
  if (now.length !== children.length) return false;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    const e = now[i];
    if (e !== c.element || (e.getAttribute(ITEM_ATTRIBUTE) || null) !== c.itemId || e.hasAttribute(PIN_ATTRIBUTE) !== c.pinned)
      return false;
  }
  return true;
}

/**
 * Puts a slot's element children in `order` (indices into {@link slotChildren}) by moving the
 * existing nodes, never by rewriting HTML, and as few of them as possible: children whose
 * relative order is already right stay where they are. Returns whether anything moved. Does
 * nothing unless the slot still holds exactly `children` ({@link sameChildren}): the SDK never
 * puts back a node the page took out, nor changes which nodes a slot holds.
 */
export function applyOrder(slot: Element, children: ReadonlyArray<SlotChild & { element: Element }>, order: readonly number[]): boolean {
  if (order.every((from, to) => from === to) || !sameChildren(slot, children)) return false;
  const stay = longestIncreasing(order);
  // From the last position back: each moved child goes right before the one that follows it.
  let next: Node | null = children[children.length - 1]!.element.nextSibling;
  for (let to = order.length - 1; to >= 0; to--) {
    const element = children[order[to]!]!.element;
    if (!stay.has(to)) moveNode(slot, element, next);
    next = element;
  }
  return true;
}

type Movable = { moveBefore?: (node: Node, child: Node | null) => void };

/**
 * `moveBefore` where the browser has it (https://dom.spec.whatwg.org/#dom-parentnode-movebefore):
 * the node keeps its state (focus, iframes, CSS transitions) and the move costs less than a
 * removal and an insertion; else `insertBefore`.
 */
function moveNode(parent: Element, node: Element, before: Node | null): void {
  const move = (parent as Movable).moveBefore;
  if (typeof move === 'function') {
    try {
      return move.call(parent, node, before);
    } catch {
      /* a move the browser refuses as atomic: insert instead */
    }
  }
  parent.insertBefore(node, before);
}
