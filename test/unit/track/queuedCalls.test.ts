import { describe, expect, it } from 'vitest';
import { QUEUED_KEY, takeQueuedCalls } from '../../../src/track/queuedCalls';

function storage(initial: Record<string, string>) {
  const m = new Map(Object.entries(initial));
  return { getItem: (k: string) => m.get(k) ?? null, removeItem: (k: string) => void m.delete(k), m };
}

describe('takeQueuedCalls', () => {
  it("takes over the snippet's saved track calls once, with their times", () => {
    const s = storage({ [QUEUED_KEY]: JSON.stringify([[5, 'view', { itemId: 'A' }], [null, 'click', { itemId: 'B' }], 'junk']) });
    expect(takeQueuedCalls(s)).toEqual([
      { at: 5, type: 'view', props: { itemId: 'A' } },
      { at: null, type: 'click', props: { itemId: 'B' } },
    ]);
    expect(s.m.size).toBe(0);
    expect(takeQueuedCalls(s)).toEqual([]);
  });
  it('ignores unreadable data and missing storage', () => {
    expect(takeQueuedCalls(storage({ [QUEUED_KEY]: '{nope' }))).toEqual([]);
    expect(takeQueuedCalls(null)).toEqual([]);
  });
});
