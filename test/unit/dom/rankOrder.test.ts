import { describe, expect, it } from 'vitest';
import { rankOrder, type SlotChild } from '../../../src/dom/rankOrder';

const kids = (...ids: Array<string | null>): SlotChild[] => ids.map((itemId) => ({ itemId, pinned: false }));
const scores = (m: Record<string, number>) => (id: string) => m[id];

describe('rankOrder', () => {
  it('sorts scored children by score, highest first', () => {
    expect(rankOrder(kids('a', 'b', 'c'), scores({ a: 1, b: 3, c: 2 }))).toEqual([1, 2, 0]);
  });

  it('keeps pinned children, children without ids and unknown items where they are', () => {
    const children: SlotChild[] = [
      { itemId: 'a', pinned: false },
      { itemId: 'hero', pinned: true },
      { itemId: null, pinned: false },
      { itemId: 'unknown', pinned: false },
      { itemId: 'b', pinned: false },
      { itemId: 'c', pinned: false },
    ];
    const order = rankOrder(children, scores({ a: 0.1, hero: 9, b: 0.5, c: 0.3 }));
    expect(order).toEqual([4, 1, 2, 3, 5, 0]);
  });

  it('changes nothing when every score ties or nothing is known, and treats NaN as unknown', () => {
    expect(rankOrder(kids('a', 'b', 'c'), () => 0)).toEqual([0, 1, 2]);
    expect(rankOrder(kids('a', 'b', 'c'), () => undefined)).toEqual([0, 1, 2]);
    expect(rankOrder(kids('a', 'b', 'c'), scores({ a: NaN, b: 1, c: 2 }))).toEqual([0, 2, 1]);
    expect(rankOrder([], () => 1)).toEqual([]);
  });

  it('is a permutation of the children', () => {
    const children = kids('d', 'a', null, 'c', 'b', 'e');
    const order = rankOrder(children, scores({ a: 4, b: 3, c: 2, d: 1 }));
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
