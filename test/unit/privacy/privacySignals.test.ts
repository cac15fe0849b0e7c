import { describe, expect, it } from 'vitest';
import { readPrivacySignals } from '../../../src/privacy/privacySignals';

describe('readPrivacySignals', () => {
  it('reads GPC and DNT from navigator, absent APIs as off', () => {
    expect(readPrivacySignals({ globalPrivacyControl: true, doNotTrack: '1' } as unknown as Navigator)).toEqual({
      globalPrivacyControl: true,
      doNotTrack: true,
    });
    expect(readPrivacySignals({ doNotTrack: 'unspecified' } as unknown as Navigator)).toEqual({
      globalPrivacyControl: false,
      doNotTrack: false,
    });
    expect(readPrivacySignals(undefined)).toEqual(readPrivacySignals(globalThis.navigator));
  });
});
