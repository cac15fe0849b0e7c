import { describe, expect, it } from 'vitest';
import { BATCH_CHILDREN, BATCH_SLOTS, cutBatches } from '../../../src/dom/rankInBatches';

describe('cutBatches', () => {
  it('keeps the order and cuts at BATCH_SLOTS slots', () => {
    const slots = Array.from({ length: 2 * BATCH_SLOTS + 5 }, (_, i) => i);
    const batches = cutBatches(slots, () => 12);
    expect(batches.map((b) => b.length)).toEqual([BATCH_SLOTS, BATCH_SLOTS, 5]);
    expect(batches.flat()).toEqual(slots);
  });

  it('cuts at about BATCH_CHILDREN children, and a slot bigger than that is a batch of its own', () => {
    const sizes = [BATCH_CHILDREN - 10, 20, 5 * BATCH_CHILDREN, 1, 1];
    expect(cutBatches(sizes, (n) => n)).toEqual([[BATCH_CHILDREN - 10], [20], [5 * BATCH_CHILDREN], [1, 1]]);
  });

  it('returns no batch for no slot', () => {
    expect(cutBatches([], () => 1)).toEqual([]);
  });
});
