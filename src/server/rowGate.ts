/**
 * The noisy-row gate: whether (and how far) a round applies one item row of its noised aggregate.
 *
 * Under DP every row of a round's sum carries Gaussian noise, and the rows a round announces (or,
 * with a sparse aggregation, every row of the table) are mostly rows few devices touched: applied
 * as they come, the noise moves rows that nothing moved. The gate applies a row only where the
 * squared norm of its change stands above the noise's expected energy n·std² (n values a row) by
 * z of that energy's standard deviations √(2n)·std² (the noise energy is std²·χ²ₙ), and then
 * shrinks it by the positive-part James-Stein factor 1 − n·std²/‖row‖² (James and Stein 1961): an
 * estimate of the row's change that is never further from it, in expectation, than the noisy row.
 * It reads only the released noisy sum: post-processing, free under DP (Dwork and Roth 2014,
 * Prop. 2.1); ε is unchanged.
 *
 * A row of noise alone clears z = 4 with probability ~3.7·10⁻⁴ at 64 values (the χ² tail), so of
 * 896 announced rows about one every three rounds moves by noise alone.
 */

/**
 * The factor to apply a row with: 0 (leave it alone) when `squaredNorm` ≤ n·std²·(1 + z·√(2/n)),
 * else 1 − n·std²/squaredNorm. `noiseVar` is the noise's variance per value of the row as it would
 * be applied (std², already scaled by the server's learning rate), `rounds` how many rounds' noisy
 * sums the row adds up (their noise adds up too). z = 0 or noiseVar = 0: every row, unshrunk.
 */
export function rowGateFactor(squaredNorm: number, values: number, noiseVar: number, z: number, rounds = 1): number {
  if (!(z >= 0)) throw new RangeError(`rowGateFactor: z must be ≥ 0, got ${z}`);
  if (!(noiseVar >= 0)) throw new RangeError(`rowGateFactor: noiseVar must be ≥ 0, got ${noiseVar}`);
  if (z === 0 || noiseVar === 0) return 1;
  const noiseEnergy = rounds * values * noiseVar;
  if (squaredNorm <= noiseEnergy + z * Math.sqrt(2 * values) * rounds * noiseVar) return 0;
  return 1 - noiseEnergy / squaredNorm;
}
