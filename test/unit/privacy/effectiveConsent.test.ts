import { describe, expect, it } from 'vitest';
import { effectiveConsent, readPrivacySignals } from '../../../src/privacy/effectiveConsent';

const none = { globalPrivacyControl: false, doNotTrack: false };

describe('effectiveConsent', () => {
  it("follows the site's state when the browser sends no signal", () => {
    for (const s of ['granted', 'denied', 'pending'] as const) expect(effectiveConsent(s, none).state).toBe(s);
  });
  it('GPC and DNT deny whatever the site says (a site can only be stricter)', () => {
    expect(effectiveConsent('granted', { ...none, globalPrivacyControl: true })).toEqual({ state: 'denied', reason: 'Global Privacy Control is on' });
    expect(effectiveConsent('granted', { ...none, doNotTrack: true }).state).toBe('denied');
    expect(effectiveConsent('pending', { ...none, globalPrivacyControl: true }).state).toBe('denied');
  });
  it('reads the signals from navigator, absent APIs as off', () => {
    expect(readPrivacySignals({ globalPrivacyControl: true, doNotTrack: '1' } as unknown as Navigator)).toEqual({ globalPrivacyControl: true, doNotTrack: true });
    expect(readPrivacySignals({ doNotTrack: 'unspecified' } as unknown as Navigator)).toEqual(none);
    expect(readPrivacySignals(undefined)).toEqual(readPrivacySignals(globalThis.navigator));
  });
});
