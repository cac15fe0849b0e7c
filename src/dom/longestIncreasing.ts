/**
 * Positions (indices into `xs`) of one longest strictly increasing subsequence of `xs`. Used to
 * reorder a slot with the fewest node moves: the children whose old indices form this run keep
 * their place and only the others are moved (as keyed DOM diffs do, e.g. Vue 3's renderer).
 * O(n log n) (patience sorting).
 */
export function longestIncreasing(xs: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[k]: position of the smallest last value of a run of length k + 1
  const prev: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[tails[mid]!]! < xs[i]!) lo = mid + 1;
      else hi = mid;
    }
    prev[i] = lo > 0 ? tails[lo - 1]! : -1;
    tails[lo] = i;
  }
  const keep = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) keep.add(i);
  return keep;
}
