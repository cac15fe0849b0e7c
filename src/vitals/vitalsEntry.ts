/**
 * `dist/edge-personalize.vitals.js`: loaded by the SDK only when the site passes `onVitals`.
 * Measures, with `web-vitals`, the page's CLS, LCP and INP, and separately the SDK's own cost:
 * layout shifts whose moved nodes sit inside a personalized slot, and the main-thread time
 * counted by the loader's {@link SdkCostMeter}. Reports go to the site's callback only; the SDK
 * never sends them anywhere.
 */
import { onCLS, onINP, onLCP } from 'web-vitals';
import type { SdkCostMeter } from './sdkCostMeter';

/** What `onVitals` receives, each time a value changes. */
export interface SdkVitals {
  /** The page's Cumulative Layout Shift so far (web-vitals), whatever caused it. */
  cls: number | null;
  /** Largest Contentful Paint (ms). */
  lcp: number | null;
  /** Interaction to Next Paint (ms), once the shopper has interacted. */
  inp: number | null;
  sdk: {
    /** Layout shift scored on nodes inside `[data-personalize-slot]` (0 when reordering never shifts anything). */
    slotLayoutShift: number;
    /** Main-thread time spent in SDK code (ms) and the longest piece of it. */
    mainThreadMs: number;
    longestMs: number;
  };
}

export function startVitals(report: (v: SdkVitals) => void, meter: SdkCostMeter): void {
  const v: SdkVitals = { cls: null, lcp: null, inp: null, sdk: { slotLayoutShift: 0, mainThreadMs: 0, longestMs: 0 } };
  let queued = false;
  const emit = (): void => {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      v.sdk.mainThreadMs = meter.mainThreadMs;
      v.sdk.longestMs = meter.longestMs;
      try {
        report({ ...v, sdk: { ...v.sdk } });
      } catch {
        /* the site's callback must not break the SDK */
      }
    }, 0);
  };
  onCLS((m) => ((v.cls = m.value), emit()), { reportAllChanges: true });
  onLCP((m) => ((v.lcp = m.value), emit()), { reportAllChanges: true });
  onINP((m) => ((v.inp = m.value), emit()), { reportAllChanges: true });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as Array<
        PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: Array<{ node?: Node | null }> }
      >) {
        if (e.hadRecentInput) continue;
        const inSlot = (e.sources ?? []).some((s) => s.node instanceof Element && s.node.closest('[data-personalize-slot]'));
        if (inSlot) v.sdk.slotLayoutShift += e.value;
      }
      emit();
    }).observe({ type: 'layout-shift', buffered: true });
  } catch {
    /* no Layout Instability API: slotLayoutShift stays 0 and says nothing */
  }
  emit();
}
