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
 * Puts a slot's element children in `order` (indices into {@link slotChildren}) by moving the
 * existing nodes, never by rewriting HTML. Children already in place are not touched; returns
 * whether anything moved.
 */
export function applyOrder(slot: Element, children: ReadonlyArray<{ element: Element }>, order: readonly number[]): boolean {
  if (order.every((from, to) => from === to)) return false;
  const anchor = children[children.length - 1]!.element.nextSibling;
  for (const from of order) slot.insertBefore(children[from]!.element, anchor);
  return true;
}
