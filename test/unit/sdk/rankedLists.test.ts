import { describe, expect, it } from 'vitest';
import { orderFromScores, RankedLists } from '../../../src/sdk/rankedLists';
import type { RankResult } from '../../../src/worker/protocol';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A model that scores items by a table the test changes, answering after `delay` ms. */
function fakeModel(table: Record<string, number>, delay = 0) {
  const calls: string[][][] = [];
  const decided: boolean[] = [];
  let fail = false;
  const lists = new RankedLists({
    rank: async (slots) => {
      calls.push(slots);
      // Scored when asked, answered after `delay`: a slow answer carries the scores of its time.
      const result: RankResult | null = fail ? null : { scores: slots.map((ids) => ids.map((id) => table[id] ?? null)), ms: 0 };
      await sleep(delay);
      return result;
    },
    onDecided: (reordered) => decided.push(reordered),
  });
  return { lists, calls, decided, table, setFail: (f: boolean) => (fail = f), setDelay: (d: number) => (delay = d) };
}

describe('orderFromScores', () => {
  it('sorts known items by score, keeps unknown ones in place and ties in the given order', () => {
    expect(orderFromScores(['a', 'b', 'c', 'd'], [1, null, 3, 1])).toEqual(['c', 'b', 'a', 'd']);
    expect(orderFromScores(['a', 'b'], null)).toBeNull();
  });
});

describe('RankedLists', () => {
  it('resolves to the ranked order when the model answers before the deadline', async () => {
    const m = fakeModel({ a: 1, b: 2, c: 3 });
    expect(await m.lists.add(['a', 'b', 'c'], {}, 200)).toEqual(['c', 'b', 'a']);
    expect(m.decided).toEqual([true]);
  });

  it('resolves to the given order at the deadline, then tells onChange once the model answers', async () => {
    const m = fakeModel({ a: 1, b: 2 }, 80);
    const changes: string[][] = [];
    const t0 = Date.now();
    expect(await m.lists.add(['a', 'b'], { onChange: (o) => changes.push(o) }, 20)).toEqual(['a', 'b']);
    expect(Date.now() - t0).toBeLessThan(70);
    expect(changes).toEqual([]);
    await sleep(100);
    expect(changes).toEqual([['b', 'a']]);
    expect(m.decided).toEqual([false]);
  });

  it('keeps the given order when the model cannot rank', async () => {
    const m = fakeModel({});
    m.setFail(true);
    expect(await m.lists.add(['x', 'y'], {}, 100)).toEqual(['x', 'y']);
  });

  it('re-notifies only lists with onChange, only when the order changes, and stops on abort', async () => {
    const m = fakeModel({ a: 1, b: 2 });
    const changes: string[][] = [];
    const ac = new AbortController();
    expect(await m.lists.add(['a', 'b'], { onChange: (o) => changes.push(o), signal: ac.signal }, 100)).toEqual(['b', 'a']);
    await m.lists.add(['a', 'b'], {}, 100); // no onChange: never ranked again
    await m.lists.refresh();
    expect(changes).toEqual([]); // same order: nothing to tell
    m.table.a = 5;
    await m.lists.refresh();
    expect(changes).toEqual([['a', 'b']]);
    expect(m.calls.at(-1)).toEqual([['a', 'b']]); // one request, for the live list only
    ac.abort();
    m.table.b = 9;
    await m.lists.refresh();
    expect(changes).toEqual([['a', 'b']]);
  });

  it('a failed re-rank keeps the order shown; a throwing onChange does not break later lists', async () => {
    const m = fakeModel({ a: 1, b: 2 });
    const changes: string[][] = [];
    await m.lists.add(
      ['a', 'b'],
      {
        onChange: () => {
          throw new Error('site bug');
        },
      },
      100,
    );
    await m.lists.add(['a', 'b'], { onChange: (o) => changes.push(o) }, 100);
    m.setFail(true);
    m.table.a = 5;
    await m.lists.refresh();
    expect(changes).toEqual([]);
    m.setFail(false);
    await m.lists.refresh();
    expect(changes).toEqual([['a', 'b']]);
  });

  it('an answer that arrives late never overrides a newer one', async () => {
    const m = fakeModel({ a: 1, b: 2 }, 60);
    const changes: string[][] = [];
    const first = m.lists.add(['a', 'b'], { onChange: (o) => changes.push(o) }, 10);
    m.setDelay(0);
    m.table.a = 5; // the newer ranking says a first; the first, slower one (b first) must not win
    await m.lists.refresh();
    expect(await first).toEqual(['a', 'b']);
    await sleep(80);
    expect(changes).toEqual([]);
  });
});
