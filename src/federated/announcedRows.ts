/**
 * The item rows a round announces, as `GET /v1/model` carries them: sorted ascending and written as
 * inclusive ranges (`[[first, last], …]`), compact for the schedule's runs of consecutive rows.
 * Shared by the server (which writes them) and the device (which reads and checks them).
 */

/** Inclusive ranges of consecutive rows. */
export type RowRanges = Array<[number, number]>;

/** Sorted distinct rows as inclusive ranges. */
export function toRowRanges(rows: ArrayLike<number>): RowRanges {
  const out: RowRanges = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const last = out[out.length - 1];
    if (last && r === last[1] + 1) last[1] = r;
    else out.push([r, r]);
  }
  return out;
}

/**
 * The rows of announced ranges, checked: integers in `[0, numItems)`, ascending, disjoint and at
 * most `maxRows` in all; a string saying what is wrong otherwise (the device then skips the round).
 */
export function fromRowRanges(ranges: unknown, numItems: number, maxRows: number): Int32Array | string {
  if (!Array.isArray(ranges)) return 'the rows are not a list of ranges';
  let count = 0;
  let previous = -1;
  for (const range of ranges) {
    const [a, b] = Array.isArray(range) && range.length === 2 ? (range as unknown[]) : [];
    if (!Number.isInteger(a) || !Number.isInteger(b) || (a as number) > (b as number) || (a as number) <= previous)
      return `the rows are not ascending ranges of integers (at ${JSON.stringify(range)})`;
    if ((b as number) >= numItems) return `row ${b as number} is not an item of this model (${numItems} items)`;
    count += (b as number) - (a as number) + 1;
    if (count > maxRows) return `more than ${maxRows} rows announced`;
    previous = b as number;
  }
  const rows = new Int32Array(count);
  let k = 0;
  for (const [a, b] of ranges as Array<[number, number]>) for (let r = a; r <= b; r++) rows[k++] = r;
  return rows;
}
