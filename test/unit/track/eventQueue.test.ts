import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/track/eventQueue';
import type { TrackedEvent } from '../../../src/track/trackedEvent';

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}
const ev = (itemId: string): TrackedEvent => ({ type: 'view', itemId, at: 1 });

describe('EventQueue', () => {
  it('gives every call its own id, also identical calls, and sends a task’s events in one batch', async () => {
    const sent: TrackedEvent[][] = [];
    const q = new EventQueue(
      memoryStorage(),
      (e) => sent.push(e),
      () => undefined,
    );
    q.add(ev('A'));
    q.add(ev('A'));
    await Promise.resolve();
    expect(sent).toHaveLength(1);
    const [a, b] = sent[0]!;
    expect(a!.callId).toMatch(/^[0-9a-z]+\.0$/);
    expect(b!.callId).toBe(a!.callId!.replace(/0$/, '1'));
    const other = new EventQueue(
      memoryStorage(),
      (e) => sent.push(e),
      () => undefined,
    );
    other.add(ev('A'));
    await Promise.resolve();
    expect(sent[1]![0]!.callId).not.toBe(a!.callId); // another page: another page id
  });

  it('past the bound, drops events and reports one QueueOverflowError per overflow', async () => {
    const sent: TrackedEvent[][] = [];
    const errors: Error[] = [];
    const q = new EventQueue(
      memoryStorage(),
      (e) => sent.push(e),
      (err) => errors.push(err),
      3,
    );
    for (let i = 0; i < 10; i++) q.add(ev(String(i)));
    expect(errors.map((e) => e.name)).toEqual(['QueueOverflowError']);
    await Promise.resolve();
    expect(sent[0]!.map((e) => e.itemId)).toEqual(['0', '1', '2']);
    q.confirm(sent[0]!);
    q.add(ev('x'));
    for (let i = 0; i < 5; i++) q.add(ev(String(i)));
    expect(errors).toHaveLength(2); // a new overflow, a new report
  });

  it('the next page of the tab sends again what was left, with the same call ids', async () => {
    const storage = memoryStorage();
    const sent: TrackedEvent[][] = [];
    const page1 = new EventQueue(
      storage,
      (e) => sent.push(e),
      () => undefined,
    );
    page1.resume();
    page1.add(ev('A'));
    page1.persist(); // pagehide before the Worker answered
    const page2 = new EventQueue(
      storage,
      (e) => sent.push(e),
      () => undefined,
    );
    page2.resume();
    await Promise.resolve();
    expect(sent[1]).toEqual(sent[0]);
  });
});
