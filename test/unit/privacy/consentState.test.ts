import { describe, expect, it } from 'vitest';
import { readConsentRecord, resolveConsent, writeConsentRecord } from '../../../src/privacy/consentState';

const none = { globalPrivacyControl: false, doNotTrack: false };
const gpc = { globalPrivacyControl: true, doNotTrack: false };

describe('consent state machine', () => {
  it("starts from the site's default", () => {
    expect(resolveConsent('pending', null, none)).toEqual({ state: 'pending', source: 'site', reason: 'site default: pending' });
    expect(resolveConsent('granted', null, none).state).toBe('granted');
  });
  it("the shopper's explicit choice overrides the site's default, both ways", () => {
    expect(resolveConsent('pending', { state: 'granted', at: 1 }, none)).toMatchObject({ state: 'granted', source: 'shopper' });
    expect(resolveConsent('granted', { state: 'denied', at: 1 }, none)).toMatchObject({ state: 'denied', source: 'shopper' });
  });
  it('GPC and DNT deny over everything', () => {
    expect(resolveConsent('granted', { state: 'granted', at: 1 }, gpc)).toMatchObject({ state: 'denied', source: 'gpc' });
    expect(resolveConsent('granted', null, { globalPrivacyControl: false, doNotTrack: true })).toMatchObject({
      state: 'denied',
      source: 'dnt',
    });
  });
  it('remembers a choice, forgets it, and survives bad storage', () => {
    const m = new Map<string, string>();
    const storage = {
      getItem: (k: string) => m.get(k) ?? null,
      setItem: (k: string, v: string) => void m.set(k, v),
      removeItem: (k: string) => void m.delete(k),
    };
    writeConsentRecord(storage, { state: 'granted', at: 5 });
    expect(readConsentRecord(storage)).toEqual({ state: 'granted', at: 5 });
    writeConsentRecord(storage, null);
    expect(readConsentRecord(storage)).toBeNull();
    m.set('edge-personalize.consent', '{"state":"maybe","at":1}');
    expect(readConsentRecord(storage)).toBeNull();
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
      removeItem: () => undefined,
    };
    expect(readConsentRecord(throwing)).toBeNull();
    expect(() => writeConsentRecord(throwing, { state: 'denied', at: 1 })).not.toThrow();
  });
});
