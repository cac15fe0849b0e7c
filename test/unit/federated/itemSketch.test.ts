import { describe, expect, it } from 'vitest';
import { itemSketch, sketchEstimates, sketchHash } from '../../../src/federated/itemSketch';
import { Random } from '../../../models/random';

describe('item sketch', () => {
  it('counts each distinct item of a device once and has exactly the norm asked for', () => {
    const h = sketchHash(64, 7);
    const sk = itemSketch(
      [
        [1, 2, 2, 3],
        [3, 1],
      ],
      h,
      0.3,
    );
    let e = 0;
    for (const v of sk) e += v * v;
    expect(Math.sqrt(e)).toBeCloseTo(0.3, 6);
    expect(itemSketch([], h, 0.3).every((v) => v === 0)).toBe(true);
  });

  it("recovers the popular items from the sum of many devices' sketches, new hash seeds averaging collisions out", () => {
    const rng = new Random(3);
    const numItems = 2000;
    // Items 0-19 are popular (each device touches one with probability 0.5), the rest a long tail.
    const truth = new Float64Array(numItems);
    const running = new Float64Array(numItems);
    for (let round = 0; round < 20; round++) {
      const h = sketchHash(512, round);
      const sum = new Float64Array(512);
      for (let dev = 0; dev < 200; dev++) {
        const items = [rng.int(numItems), rng.int(numItems), ...(rng.next() < 0.5 ? [rng.int(20)] : [])];
        for (const i of new Set(items)) truth[i]! += 1;
        const sk = itemSketch([items], h, 1);
        const scale = Math.sqrt(new Set(items).size);
        sk.forEach((v, b) => (sum[b]! += v * scale));
      }
      sketchEstimates(sum, h, numItems).forEach((v, i) => (running[i]! += v));
    }
    const top = [...running.keys()].sort((a, b) => running[b]! - running[a]!).slice(0, 20);
    expect(top.filter((i) => i < 20).length).toBeGreaterThanOrEqual(18);
    expect(Math.abs(running[5]! - truth[5]!)).toBeLessThan(0.3 * truth[5]!);
  });

  it('refuses a sketch without buckets', () => {
    expect(() => sketchHash(0, 1)).toThrow(RangeError);
  });
});
