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
