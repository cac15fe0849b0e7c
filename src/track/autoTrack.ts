import { EVENT_ATTRIBUTE, ITEM_ATTRIBUTE, VIEW_ATTRIBUTE } from '../dom/slotMarkup';

/** Records interactions from the markup contract (see `slotMarkup.ts`) through `track`. */
export type TrackFn = (type: string, props: { itemId: string }) => void;

/**
 * Tracks clicks inside `[data-personalize-item]` elements (type from the nearest
 * `data-personalize-event`, else `click`). In the loader, so that no early click is missed; the
 * listener is passive and only reads attributes. Returns a function that stops it.
 */
export function startClickTracking(doc: Document, track: TrackFn): () => void {
  const onClick = (e: Event): void => {
    const target = e.target instanceof Element ? e.target : null;
    const item = target?.closest(`[${ITEM_ATTRIBUTE}]`);
    const itemId = item?.getAttribute(ITEM_ATTRIBUTE);
    if (!item || !itemId) return;
    const type = target!.closest(`[${EVENT_ATTRIBUTE}]`)?.getAttribute(EVENT_ATTRIBUTE) || 'click';
    track(type, { itemId });
  };
  doc.addEventListener('click', onClick, { capture: true, passive: true });
  return () => doc.removeEventListener('click', onClick, { capture: true });
}

/**
 * Tracks views of `[data-personalize-view]` elements, those on the page now and those added or
 * marked later. Loaded on demand (a view already on the page is found whenever this starts).
 * Returns a function that stops it.
 */
export function startViewTracking(doc: Document, track: TrackFn): () => void {
  const seen = new WeakSet<Element>();
  const views = (root: ParentNode): void => {
    const list = root instanceof Element && root.hasAttribute(VIEW_ATTRIBUTE) ? [root] : [];
    list.push(...Array.from(root.querySelectorAll(`[${VIEW_ATTRIBUTE}]`)));
    for (const el of list) {
      if (seen.has(el)) continue;
      seen.add(el);
      const itemId = el.getAttribute(VIEW_ATTRIBUTE);
      if (itemId) track('view', { itemId });
    }
  };
  views(doc);
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.target instanceof Element) views(r.target);
      for (const node of Array.from(r.addedNodes)) if (node instanceof Element) views(node);
    }
  });
  // Attributes too: a page may mark its main element after creating it.
  observer.observe(doc.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: [VIEW_ATTRIBUTE] });
  return () => observer.disconnect();
}
