import { describe, expect, it } from 'vitest';
import { RowSchedule } from '../../../src/server/rowSchedule';

const rowsOf = (a: Int32Array): number[] => [...a];

describe('RowSchedule', () => {
  it('announces the new rows first, then cycles over the catalogue; always rowsPerRound distinct sorted rows', () => {
    const s = new RowSchedule({ numItems: 20, rowsPerRound: 4, newRows: [17, 18, 19], exploitShare: 0 });
    const first = s.next();
    expect(rowsOf(first)).toEqual([0, 17, 18, 19]);
    s.observe(first, new Float32Array(4 * 2), 2);
    expect(s.untrained).toBe(0);
    expect(rowsOf(s.next())).toEqual([1, 2, 3, 4]);
    const seen = new Set<number>();
    for (let r = 0; r < 10; r++) {
      const rows = s.next();
      expect(rows).toHaveLength(4);
      expect(new Set(rows).size).toBe(4);
      expect(rowsOf(rows)).toEqual([...rows].sort((a, b) => a - b));
      rows.forEach((x) => seen.add(x));
      s.observe(rows, new Float32Array(8), 2);
    }
    // The cycle reaches every row.
    expect(seen.size).toBe(20);
  });

  it('gives the exploit share to the rows whose aggregate stood out above the noise', () => {
    const s = new RowSchedule({ numItems: 100, rowsPerRound: 10, exploitShare: 0.5 });
    const r1 = s.next();
    // Row r1[3] had a large aggregate, r1[7] a smaller one; the rest only noise (energy ≤ noise).
    const delta = new Float32Array(r1.length * 2).fill(0.01);
    delta.set([3, 4], 3 * 2);
    delta.set([1, 1], 7 * 2);
    s.observe(r1, delta, 2, 0.001);
    const r2 = rowsOf(s.next());
    expect(r2).toContain(r1[3]);
    expect(r2).toContain(r1[7]);
    // The other rows of round 1 had usage 0.0002 - 0.001 < 0: not exploited, and the cycle moved on.
    expect(r2.filter((x) => rowsOf(r1).includes(x))).toHaveLength(2);
  });

  it('keeps its state through toJSON (a restart announces the same next round) and takes rows added later first', () => {
    const a = new RowSchedule({ numItems: 50, rowsPerRound: 5, newRows: [40, 41] });
    a.observe(a.next(), new Float32Array(10), 2);
    const b = new RowSchedule({ numItems: 50, rowsPerRound: 5 }, JSON.parse(JSON.stringify(a.toJSON())));
    expect(rowsOf(b.next())).toEqual(rowsOf(a.next()));
    b.addRows([49]);
    expect(rowsOf(b.next())).toContain(49);
  });

  it('rotates the exploit share through a pool of the most popular rows, and keeps its place through toJSON', () => {
    // 100 rows, popularity 100 - i: row 0 the most popular. 8 rows a round, all exploit, pool 3 × 8.
    const s = new RowSchedule({ numItems: 100, rowsPerRound: 8, exploitShare: 1, exploitPool: 3 });
    s.observePopularity(
      Float64Array.from({ length: 100 }, (_, i) => 100 - i),
      1,
    );
    expect(rowsOf(s.next())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rowsOf(s.next())).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    const restarted = new RowSchedule({ numItems: 100, rowsPerRound: 8, exploitShare: 1, exploitPool: 3 }, s.toJSON());
    expect(rowsOf(restarted.next())).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    // Then back to the top of the pool: rows past its 24 are never exploited.
    expect(rowsOf(restarted.next())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Pool 1 (the default) gives the top rows every round.
    const top = new RowSchedule({ numItems: 100, rowsPerRound: 8, exploitShare: 1 });
    top.observePopularity(
      Float64Array.from({ length: 100 }, (_, i) => 100 - i),
      1,
    );
    expect(rowsOf(top.next())).toEqual(rowsOf(top.next()));
    expect(() => new RowSchedule({ numItems: 10, rowsPerRound: 2, exploitPool: 0 })).toThrow(RangeError);
    expect(() => new RowSchedule({ numItems: 10, rowsPerRound: 2, exploitPool: 1.5 })).toThrow(RangeError);
  });

  it('refuses impossible settings and rows outside the table', () => {
    expect(() => new RowSchedule({ numItems: 10, rowsPerRound: 11 })).toThrow(RangeError);
    expect(() => new RowSchedule({ numItems: 10, rowsPerRound: 2, newRows: [10] })).toThrow(/not a row/);
    expect(() => new RowSchedule({ numItems: 10, rowsPerRound: 2, exploitShare: 2 })).toThrow(RangeError);
    const s = new RowSchedule({ numItems: 10, rowsPerRound: 2 });
    expect(() => s.addRows([-1])).toThrow(/not a row/);
    expect(() => s.observe(Int32Array.from([1, 2]), new Float32Array(3), 2)).toThrow(RangeError);
  });
});

describe('RowSchedule with item-sketch popularity', () => {
  it('gives the exploit share to the most popular rows, new ones included, once estimates arrive', () => {
    const s = new RowSchedule({ numItems: 100, rowsPerRound: 10, exploitShare: 0.5 });
    const pop = new Float64Array(100);
    pop[42] = 5;
    pop[7] = 3;
    pop[99] = 1;
    s.observePopularity(pop);
    const rows = [...s.next()];
    expect(rows).toEqual(expect.arrayContaining([7, 42, 99]));
    expect(() => s.observePopularity(new Float64Array(3))).toThrow(RangeError);
    const restored = new RowSchedule({ numItems: 100, rowsPerRound: 10, exploitShare: 0.5 }, JSON.parse(JSON.stringify(s.toJSON())));
    expect([...restored.next()]).toEqual([...s.next()]);
  });
});
