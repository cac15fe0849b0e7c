import { describe, expect, it } from 'vitest';
import * as api from '../../src';

describe('public API', () => {
  it('exports exactly these names (a change here is a change to the public API)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'CONSENT_EVENT',
      'SNIPPET',
      'consent',
      'contribute',
      'createEdgePersonalize',
      'eraseData',
      'explain',
      'exportData',
      'init',
      'rank',
      'rankItems',
      'status',
      'topPicks',
      'track',
    ]);
  });
});
