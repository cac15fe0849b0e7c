import type { ConsentState } from '../config/config';

/** The browser's privacy signals, as read from `navigator`. */
export interface PrivacySignals {
  /** `navigator.globalPrivacyControl` (https://privacycg.github.io/gpc-spec/). */
  globalPrivacyControl: boolean;
  /** `navigator.doNotTrack === '1'` (legacy, still honoured). */
  doNotTrack: boolean;
}

/** Reads the privacy signals of the current browser; absent APIs read as "not set". */
export function readPrivacySignals(nav: Navigator | undefined = globalThis.navigator): PrivacySignals {
  const n = (nav ?? {}) as Navigator & { globalPrivacyControl?: boolean; doNotTrack?: string | null };
  return { globalPrivacyControl: n.globalPrivacyControl === true, doNotTrack: n.doNotTrack === '1' };
}

/**
 * The consent the SDK acts on: the site's state, made stricter by the browser's signals. A shopper
 * who sends GPC or DNT is treated as `denied` whatever the site says; a site can only be stricter.
 */
export function effectiveConsent(site: ConsentState, signals: PrivacySignals): { state: ConsentState; reason: string } {
  if (signals.globalPrivacyControl) return { state: 'denied', reason: 'Global Privacy Control is on' };
  if (signals.doNotTrack) return { state: 'denied', reason: 'Do Not Track is on' };
  return { state: site, reason: `site consent: ${site}` };
}
