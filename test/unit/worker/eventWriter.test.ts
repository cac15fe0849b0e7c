import { describe, expect, it } from 'vitest';
import type { TrackedEvent } from '../../../src/track/trackedEvent';
import { EventWriter } from '../../../src/worker/eventWriter';
import type { RecordResult } from '../../../src/worker/protocol';

/** The Worker's serial chain, as Personalizer._serial builds it. */
function serialChain() {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(op: () => Promise<T>): Promise<T> => {
    const run = chain.then(op, op);
    chain = run.catch(() => undefined);
    return run;
  };
}

const events = (n: number, from = 0): TrackedEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'view', itemId: 'A', at: from + i }));
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('EventWriter', () => {
  it('writes a batch in chunks, in order, and an operation queued meanwhile runs after one chunk, not after the backlog', async () => {
    const serial = serialChain();
    const log: string[] = [];
    const writer = new EventWriter(
      (op) => serial(op),
      async (chunk): Promise<RecordResult> => {
        log.push(`write ${chunk[0]!.at}-${chunk[chunk.length - 1]!.at}`);
        await tick();
        return { handedOver: true, stored: chunk.length, duplicates: 0, pruned: 1 };
      },
      100,
    );
    const done = writer.add(events(350));
    await tick(); // the first chunk is being written when the rank arrives
    const ranked = serial(async () => void log.push('rank'));
    const second = writer.add(events(10, 1000));
    expect(await done).toEqual({ handedOver: true, stored: 350, duplicates: 0, pruned: 4 });
    await ranked;
    expect(await second).toMatchObject({ stored: 10 });
    expect(log).toEqual(['write 0-99', 'rank', 'write 100-199', 'write 200-299', 'write 300-349', 'write 1000-1009']);
  });

  it('drop() forgets what is not yet written (an erase): nothing is written after it', async () => {
    const serial = serialChain();
    const written: number[] = [];
    const writer = new EventWriter(
      (op) => serial(op),
      async (chunk) => {
        written.push(chunk.length);
        await tick();
        return { handedOver: true, stored: chunk.length, duplicates: 0, pruned: 0 };
      },
      100,
    );
    const done = writer.add(events(1000));
    await tick();
    writer.drop();
    expect(await done).toMatchObject({ handedOver: true });
    await serial(async () => undefined);
    await tick();
    expect(written).toEqual([100]); // the chunk in flight finishes; the other 900 are gone
  });

  it('a failing write rejects its batch and the next batch is still written', async () => {
    const serial = serialChain();
    let calls = 0;
    const writer = new EventWriter(
      (op) => serial(op),
      async (chunk) => {
        if (calls++ === 0) throw new Error('boom');
        return { handedOver: true, stored: chunk.length, duplicates: 0, pruned: 0 };
      },
    );
    const a = writer.add(events(3));
    const b = writer.add(events(2));
    await expect(a).rejects.toThrow('boom');
    expect(await b).toMatchObject({ stored: 2 });
  });
});
