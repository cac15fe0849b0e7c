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
 * Records a view of every `[data-personalize-view]` element in or at `root` not in `seen` yet.
 * The loader runs it on the page at start (so a view is kept even if the shopper leaves at once);
 * {@link observeViews} runs it on what is added later.
 */
export function trackViews(root: ParentNode, seen: WeakSet<Element>, track: TrackFn): void {
  const list = root instanceof Element && root.hasAttribute(VIEW_ATTRIBUTE) ? [root] : [];
  list.push(...Array.from(root.querySelectorAll(`[${VIEW_ATTRIBUTE}]`)));
  for (const el of list) {
    if (seen.has(el)) continue;
    seen.add(el);
    const itemId = el.getAttribute(VIEW_ATTRIBUTE);
    if (itemId) track('view', { itemId });
  }
}

/**
 * Tracks views of `[data-personalize-view]` elements added or marked after the start (loaded on
 * demand; the page's own at start are the loader's, see {@link trackViews}). Returns a function
 * that stops it.
 */
export function observeViews(doc: Document, seen: WeakSet<Element>, track: TrackFn): () => void {
  // What changed between the loader's scan and now.
  trackViews(doc, seen, track);
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.target instanceof Element) trackViews(r.target, seen, track);
      for (const node of Array.from(r.addedNodes)) if (node instanceof Element) trackViews(node, seen, track);
    }
  });
  // Attributes too: a page may mark its main element after creating it.
  observer.observe(doc.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: [VIEW_ATTRIBUTE] });
  return () => observer.disconnect();
}
