import { describe, expect, it } from 'vitest';
import { PendingEvents } from '../../../src/track/pendingEvents';

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    m,
  };
}

describe('PendingEvents', () => {
  it('keeps unconfirmed events for the next page of the tab, in order', () => {
    const storage = memoryStorage();
    const page1 = new PendingEvents(storage);
    page1.takeOver();
    const a = { type: 'click', itemId: 'A', at: 1 };
    const b = { type: 'view', itemId: 'B', at: 2 };
    page1.add(a);
    page1.add(b);
    page1.confirm(a);
    const page2 = new PendingEvents(storage);
    expect(page2.takeOver()).toEqual([b]);
  });
  it('forgets everything once confirmed or cleared, and ignores unreadable or foreign data', () => {
    const storage = memoryStorage();
    const p = new PendingEvents(storage);
    const a = { type: 'click', itemId: 'A', at: 1 };
    p.add(a);
    p.confirm(a);
    expect(storage.m.size).toBe(0);
    p.add(a);
    p.clear();
    expect(storage.m.size).toBe(0);
    storage.setItem('edge-personalize.pending', '{not json');
    expect(new PendingEvents(storage).takeOver()).toEqual([]);
    storage.setItem(
      'edge-personalize.pending',
      JSON.stringify([
        { type: 'view', itemId: 3, at: 1 },
        { type: 'view', itemId: 'ok', at: 2 },
      ]),
    );
    expect(new PendingEvents(storage).takeOver()).toEqual([{ type: 'view', itemId: 'ok', at: 2 }]);
  });
  it('is bounded, and works without storage', () => {
    const p = new PendingEvents(memoryStorage(), 'k', 3);
    for (let i = 0; i < 5; i++) p.add({ type: 'view', itemId: String(i), at: i });
    expect(
      new PendingEvents((p as unknown as { _storage: ReturnType<typeof memoryStorage> })._storage, 'k', 3).takeOver().map((e) => e.itemId),
    ).toEqual(['2', '3', '4']);
    const none = new PendingEvents(null);
    expect(none.takeOver()).toEqual([]);
    none.add({ type: 'view', itemId: 'x', at: 1 });
  });
});
