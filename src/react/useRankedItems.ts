import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { rankItems, type EdgePersonalize } from '../index';

/** Options of {@link useRankedItems}. */
export interface UseRankedItemsOptions {
  /** The SDK instance; by default the package's own, the one `init()` starts. */
  sdk?: Pick<EdgePersonalize, 'rankItems'>;
  /** Longest wait for the first order, in ms. Default: the config's `hideTimeoutMs` (300). */
  timeoutMs?: number;
}

/** What {@link useRankedItems} returns. */
export interface RankedItems {
  /** The item ids in the order to render: the given order until the ranking is known. */
  items: string[];
  /**
   * False until the first order is known (ranked, or its deadline passed). Hide the list until
   * then with `visibility: hidden` (its space is kept, so nothing shifts), as the SDK does for slots.
   */
  ready: boolean;
  /**
   * Put it on the list's element: a later order (after the shopper's interactions) is applied
   * only while that element is entirely off screen, so nothing moves under the shopper's eyes.
   * Without it the list keeps its first order.
   */
  ref: (element: Element | null) => void;
}

/**
 * Ranks `itemIds` for the slot `label` with the SDK's model and returns them in the order to
 * render; React renders the list itself and the SDK never touches its DOM nodes. The first
 * render (and server rendering) uses the given order, so hydration matches the server's markup.
 * Any failure (no consent, no model, an error reported to `onError`) keeps the given order.
 * Render each item with `data-personalize-item={id}` so that clicks are tracked, and do not put
 * `data-personalize-slot` on the list: slots are the SDK's to reorder.
 */
export function useRankedItems(label: string, itemIds: readonly string[], options: UseRankedItemsOptions = {}): RankedItems {
  const { sdk, timeoutMs } = options;
  // The list's content, not the array's identity: a new array with the same ids ranks nothing again.
  const key = JSON.stringify([label, itemIds]);
  const given = useMemo(() => [...itemIds], [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const [state, setState] = useState({ key, items: given, ready: false });
  const offScreen = useRef(false);
  const held = useRef<{ key: string; items: string[] } | null>(null);
  const observer = useRef<IntersectionObserver | null>(null);

  useEffect(() => {
    const done = new AbortController();
    held.current = null;
    const show = (items: string[]): void => {
      if (!done.signal.aborted) setState({ key, items, ready: true });
    };
    void (sdk ?? { rankItems })
      .rankItems(label, given, {
        signal: done.signal,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        onChange: (items) => {
          if (offScreen.current) show(items);
          else held.current = { key, items };
        },
      })
      .then(show);
    return () => done.abort();
  }, [key, sdk, timeoutMs]); // eslint-disable-line react-hooks/exhaustive-deps

  const ref = useCallback((element: Element | null) => {
    observer.current?.disconnect();
    observer.current = null;
    offScreen.current = false;
    if (!element || typeof IntersectionObserver !== 'function') return;
    observer.current = new IntersectionObserver((entries) => {
      for (const e of entries) offScreen.current = !e.isIntersecting;
      const next = held.current;
      if (!offScreen.current || !next) return;
      held.current = null;
      setState((s) => (s.key === next.key ? { ...s, items: next.items } : s));
    });
    observer.current.observe(element);
  }, []);

  return state.key === key ? { items: state.items, ready: state.ready, ref } : { items: given, ready: false, ref };
}
