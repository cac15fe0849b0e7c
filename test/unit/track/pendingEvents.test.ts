import { describe, expect, it } from 'vitest';
import { PENDING_KEY, PendingEvents } from '../../../src/track/pendingEvents';
import type { TrackedEvent } from '../../../src/track/trackedEvent';

function memoryStorage() {
  const m = new Map<string, string>();
  const writes: string[] = [];
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => {
      writes.push(k);
      m.set(k, v);
    },
    removeItem: (k: string) => void m.delete(k),
    m,
    writes,
  };
}

const ev = (itemId: string, at: number, callId = `p.${at}`): TrackedEvent => ({ type: 'view', itemId, at, callId });

describe('PendingEvents', () => {
  it('keeps unconfirmed events for the next page of the tab, in order, with their call ids', () => {
    const storage = memoryStorage();
    const page1 = new PendingEvents(storage);
    page1.takeOver();
    const a = ev('A', 1);
    const b = ev('B', 2);
    page1.add(a);
    page1.add(b);
    page1.confirm([a]);
    page1.persist(); // pagehide
    const page2 = new PendingEvents(storage);
    expect(page2.takeOver()).toEqual([b]);
  });

  it('writes nothing per call: storage is touched only when the page asks (pagehide, hidden)', () => {
    const storage = memoryStorage();
    const p = new PendingEvents(storage);
    for (let i = 0; i < 1000; i++) p.add(ev('A', i));
    p.confirm(Array.from({ length: 500 }, (_, i) => ev('A', i)));
    expect(storage.writes).toEqual([]); // before: one JSON of the whole list per add and per confirm
    p.persist();
    expect(storage.writes).toEqual([PENDING_KEY]);
    expect(JSON.parse(storage.m.get(PENDING_KEY)!)).toHaveLength(500);
  });

  it('is bounded: a full queue refuses new events (the caller reports the overflow)', () => {
    const p = new PendingEvents(memoryStorage(), 3);
    expect([0, 1, 2, 3, 4].map((i) => p.add(ev(String(i), i)))).toEqual([true, true, true, false, false]);
    expect(p.size).toBe(3);
    p.confirm([ev('0', 0)]);
    expect(p.add(ev('5', 5))).toBe(true);
  });

  it('forgets everything once confirmed or cleared, and ignores unreadable or foreign data', () => {
    const storage = memoryStorage();
    const p = new PendingEvents(storage);
    const a = ev('A', 1);
    p.add(a);
    p.persist();
    p.confirm([a]);
    p.persist();
    expect(storage.m.size).toBe(0);
    p.add(a);
    p.persist();
    p.clear();
    expect(storage.m.size).toBe(0);
    storage.setItem(PENDING_KEY, '{not json');
    expect(new PendingEvents(storage).takeOver()).toEqual([]);
    storage.setItem(
      PENDING_KEY,
      JSON.stringify([
        { type: 'view', itemId: 3, at: 1 },
        { type: 'view', itemId: 'ok', at: 2, callId: 'x.1' },
        { type: 'view', itemId: 'old', at: 3 }, // written before call ids: given one, kept from then on
      ]),
    );
    const taken = new PendingEvents(storage).takeOver();
    expect(taken.map((e) => [e.itemId, e.callId])).toEqual([
      ['ok', 'x.1'],
      ['old', 'replay.3.1'],
    ]);
  });

  it('works without storage', () => {
    const none = new PendingEvents(null);
    expect(none.takeOver()).toEqual([]);
    expect(none.add(ev('x', 1))).toBe(true);
    none.persist();
  });
});
