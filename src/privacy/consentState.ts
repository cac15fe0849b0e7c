import type { ConsentState } from '../config/config';
import type { PrivacySignals } from './privacySignals';

/** The shopper's own choice, kept on the device (`localStorage`) when `consent()` is called. */
export interface ConsentRecord {
  state: ConsentState;
  /** When it was given (ms since the epoch). */
  at: number;
}

/** The consent the SDK acts on, and where it comes from. */
export interface ResolvedConsent {
  state: ConsentState;
  source: 'gpc' | 'dnt' | 'shopper' | 'site';
  reason: string;
}

/**
 * The consent state machine. Inputs: the site's default (`init({ consent })`), the shopper's
 * last explicit choice (`consent()`, remembered on the device) and the browser's signals.
 * - Global Privacy Control or Do Not Track → `denied`, whatever anything else says (a site can
 *   only be stricter than the shopper's browser);
 * - else the shopper's last explicit choice;
 * - else the site's default (`pending` unless the site chose otherwise).
 * Only `granted` lets the SDK record, rank from history, train or upload.
 */
export function resolveConsent(site: ConsentState, record: ConsentRecord | null, signals: PrivacySignals): ResolvedConsent {
  if (signals.globalPrivacyControl) return { state: 'denied', source: 'gpc', reason: 'Global Privacy Control is on' };
  if (signals.doNotTrack) return { state: 'denied', source: 'dnt', reason: 'Do Not Track is on' };
  if (record) return { state: record.state, source: 'shopper', reason: `shopper chose ${record.state}` };
  return { state: site, source: 'site', reason: `site default: ${site}` };
}

const KEY = 'edge-personalize.consent';

/** Reads the remembered choice; null when none, unreadable, or storage is refused. */
export function readConsentRecord(storage: Pick<Storage, 'getItem'> | null): ConsentRecord | null {
  try {
    const v = JSON.parse(storage?.getItem(KEY) ?? 'null') as ConsentRecord | null;
    return v && (v.state === 'granted' || v.state === 'denied' || v.state === 'pending') && typeof v.at === 'number' ? v : null;
  } catch {
    return null;
  }
}

/** Remembers the shopper's choice (or forgets it with null). Never throws. */
export function writeConsentRecord(storage: Pick<Storage, 'setItem' | 'removeItem'> | null, record: ConsentRecord | null): void {
  try {
    if (record) storage?.setItem(KEY, JSON.stringify(record));
    else storage?.removeItem(KEY);
  } catch {
    /* storage refused: the choice holds for this page only */
  }
}
