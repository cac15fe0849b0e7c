import { describe, expect, it } from 'vitest';
import { EventBatcher } from '../../../src/track/eventBatcher';
import type { TrackedEvent } from '../../../src/track/trackedEvent';

const ev = (at: number): TrackedEvent => ({ type: 'view', itemId: 'A', at });

describe('EventBatcher', () => {
  it('hands every event of one task to the Worker in one message, in order', async () => {
    const sent: TrackedEvent[][] = [];
    const b = new EventBatcher((events) => sent.push(events));
    for (let i = 0; i < 10_000; i++) b.add(ev(i));
    expect(sent).toEqual([]); // nothing posted inside the loop
    await Promise.resolve();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((e) => e.at)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    b.add(ev(1));
    await Promise.resolve();
    expect(sent).toHaveLength(2);
  });

  it('sends nothing that was cleared', async () => {
    const sent: TrackedEvent[][] = [];
    const b = new EventBatcher((events) => sent.push(events));
    b.add(ev(1));
    b.clear();
    await Promise.resolve();
    expect(sent).toEqual([]);
  });
});
