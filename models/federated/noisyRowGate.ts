// How the server applies the aggregators' noised sum of the devices' own rows (`privateRows`).
// Under DP that sum holds noise on every row of the table (the aggregators cannot know which
// rows were touched), so applying it row by row puts noise into every item; the gate applies a
// row only where it stands above the noise (`rowGateFactor`, the server's gate). Everything here
// reads the released noisy sums only: post-processing, free under DP (Dwork and Roth 2014, Prop. 2.1).

import { addGaussianNoise } from '../../src/federated/clipAndNoise';
import { rowGateFactor } from '../../src/server/rowGate';
import type { ServerOptimizer } from '../../src/server/serverOptimizer';

/** What {@link NoisyRowGate} is configured with. */
export interface NoisyRowGateOptions {
  numItems: number;
  /** Values a row. */
  rowSize: number;
  /**
   * z: a row moves only where its squared norm exceeds the noise's expected energy n·d·std² by z
   * of the noise energy's standard deviations √(2d)·n·std² (n: the rounds summed), and then by
   * the positive-part James-Stein factor 1 − n·d·std²/‖row‖². 0 = every row moves, noise and all.
   */
  threshold: number;
  /**
   * Rows under the bar keep their noisy sums and add the next rounds' until they stand above it
   * (the signal grows with the rounds n, the noise with √n). Off: they are dropped each round.
   */
  accumulate: boolean;
}

/** Applies each round's noised row sums to the item table, through the gate. */
export class NoisyRowGate {
  private readonly pending: Float32Array | null;
  private readonly pendingRounds: Int32Array | null;

  constructor(private readonly o: NoisyRowGateOptions) {
    if (!(o.threshold >= 0)) throw new RangeError(`NoisyRowGate: threshold must be ≥ 0, got ${o.threshold}`);
    if (o.accumulate && o.threshold === 0) throw new RangeError('NoisyRowGate: accumulating needs a threshold > 0');
    this.pending = o.accumulate ? new Float32Array(o.numItems * o.rowSize) : null;
    this.pendingRounds = o.accumulate ? new Int32Array(o.numItems) : null;
  }

  /**
   * One round: `mean(r, out)` writes row r of the cohort's mean (codes × step / K) into `out`
   * and says whether it is nonzero; noise of `std` a value is added to every row when std > 0;
   * the rows that pass step the table through `optimizer`, scaled by `decay`.
   * @returns the rows applied this round.
   */
  step(
    mean: (row: number, out: Float32Array) => boolean,
    std: number,
    decay: number,
    uniform: () => number,
    items: Float32Array,
    optimizer: ServerOptimizer,
  ): number {
    const d = this.o.rowSize;
    const gated = this.o.threshold > 0 && std > 0;
    const row = new Float32Array(d);
    let applied = 0;
    for (let r = 0; r < this.o.numItems; r++) {
      if (!mean(r, row) && !(std > 0)) continue;
      if (std > 0) addGaussianNoise(row, std, uniform);
      let f = decay;
      if (gated) {
        let rounds = 1;
        if (this.pending) {
          const at = r * d;
          for (let c = 0; c < d; c++) row[c] = this.pending[at + c]! + row[c]!;
          rounds = ++this.pendingRounds![r]!;
          this.pending.set(row, at);
        }
        let energy = 0;
        for (let c = 0; c < d; c++) energy += row[c]! ** 2;
        const g = rowGateFactor(energy, d, std ** 2, this.o.threshold, rounds);
        if (g === 0) continue;
        f *= g;
        if (this.pending) {
          this.pending.fill(0, r * d, r * d + d);
          this.pendingRounds![r] = 0;
        }
      }
      if (f !== 1) for (let c = 0; c < d; c++) row[c] = row[c]! * f;
      optimizer.step(items, r * d, row);
      applied++;
    }
    return applied;
  }
}
