import { describe, expect, it } from 'vitest';
import * as api from '../../src';

describe('public API', () => {
  it('exports exactly these names (a change here is a change to the public API)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'CONSENT_EVENT',
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

  it('the install snippet is its own entry (edge-personalize/snippet), out of the budgeted ESM entry', async () => {
    const snippet = await import('../../src/loader/snippet');
    expect(Object.keys(snippet)).toEqual(['SNIPPET']);
  });
});
