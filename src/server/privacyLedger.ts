import { epsilonFromRdp, rdpCurve, type EpsilonAtOrder } from './privacyAccountant';

/**
 * The privacy spent by the server's rounds so far.
 *
 * Noise model ("distributed noise"): no party adds noise centrally. With `m` the round's target
 * number of updates and σ the configured noise multiplier, every device clips its update to L2
 * norm C and adds Gaussian noise of std `σ·C/√m` per coordinate, so a full round's sum carries
 * noise of std `σ·C`, the central DP-FedAvg mechanism. This holds only if devices are honest
 * (a device that skips its noise weakens everybody's guarantee), and only if the server is the
 * one described here: the guarantee is about what the published models reveal, not about what
 * the server sees in one update (see `src/server/README.md`).
 *
 * Updates are weighted (`w_i ≤ 1`, see `fedAvg.ts`), which scales each device's noise too, so
 * the noise multiplier a round really had is computed from its weights
 * ({@link roundNoiseMultiplier}) rather than assumed to be σ.
 */

/**
 * The effective noise multiplier of a closed round: for the device with the largest weight
 * `w_j`, the noise the *other* devices put into the weighted sum (std `σ·C/√m · ‖w_{−j}‖`)
 * divided by that device's sensitivity `w_j·C`. Its own noise is left out: removing the device
 * removes its noise too, and counting only the others' keeps the bound valid (the own noise is
 * data-independent post-processing). A full round of equal weights gives `σ·√((m−1)/m)`;
 * fewer updates or uneven weights give less, and one lone update gives 0 (no protection).
 */
export function roundNoiseMultiplier(weights: readonly number[], noiseMultiplier: number, targetUpdates: number): number {
  if (weights.length === 0) return Infinity;
  let sumSq = 0;
  let max = 0;
  for (const w of weights) {
    sumSq += w * w;
    if (w > max) max = w;
  }
  if (max === 0) return Infinity;
  return (noiseMultiplier * Math.sqrt(Math.max(sumSq - max * max, 0))) / (Math.sqrt(targetUpdates) * max);
}

/** One closed round as the ledger records it. */
export interface RoundPrivacy {
  noiseMultiplier: number;
  samplingRate: number;
}

/** Per-round and cumulative (ε, δ), with and without amplification by sampling. */
export interface PrivacyReport {
  delta: number;
  /** ε of the latest round alone. */
  lastRound: EpsilonAtOrder | null;
  /** ε of every round so far, composed by RDP, with sampling at the configured rate. */
  cumulative: EpsilonAtOrder;
  /**
   * The same without amplification by sampling (q = 1): what holds if devices were not a
   * random sample of the population (they self-select by visiting the shop).
   */
  cumulativeWithoutSampling: EpsilonAtOrder;
}

/** The ledger as saved in the state file: RDP per order (null = unbounded) and the last round's ε. */
export interface LedgerSnapshot {
  sampled: Array<number | null>;
  unsampled: Array<number | null>;
  last: EpsilonAtOrder | null;
}

/** Composes the RDP of closed rounds order by order; cheap to update per round. */
export class PrivacyLedger {
  private readonly sampled: Float64Array;
  private readonly unsampled: Float64Array;
  private last: EpsilonAtOrder | null = null;

  /** @param saved the curves of {@link snapshot}, to resume after a restart (default: no round yet). */
  constructor(
    private readonly delta: number,
    saved?: LedgerSnapshot,
  ) {
    this.sampled = rdpCurve({ noiseMultiplier: 1, samplingRate: 1, rounds: 0 });
    this.unsampled = this.sampled.slice();
    if (saved && saved.sampled.length === this.sampled.length && saved.unsampled.length === this.unsampled.length) {
      // JSON has no Infinity: an unbounded order is saved as null.
      saved.sampled.forEach((v, i) => (this.sampled[i] = v ?? Infinity));
      saved.unsampled.forEach((v, i) => (this.unsampled[i] = v ?? Infinity));
      this.last = saved.last;
    }
  }

  /** Records a closed round and returns its own ε. */
  add(round: RoundPrivacy): EpsilonAtOrder {
    const one = rdpCurve({ ...round, rounds: 1 });
    const worst = rdpCurve({ noiseMultiplier: round.noiseMultiplier, samplingRate: 1, rounds: 1 });
    for (let i = 0; i < one.length; i++) {
      this.sampled[i]! += one[i]!;
      this.unsampled[i]! += worst[i]!;
    }
    this.last = epsilonFromRdp(one, this.delta);
    return this.last;
  }

  /** The cumulative ε (with sampling) if one more round like `round` were added; nothing is recorded. */
  epsilonAfter(round: RoundPrivacy): number {
    const one = rdpCurve({ ...round, rounds: 1 });
    return epsilonFromRdp(
      this.sampled.map((v, i) => v + one[i]!),
      this.delta,
    ).epsilon;
  }

  /** The composed curves, a fixed-size record for the state file (it does not grow per round). */
  snapshot(): LedgerSnapshot {
    const finite = (a: Float64Array): Array<number | null> => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
    return {
      sampled: finite(this.sampled),
      unsampled: finite(this.unsampled),
      last: this.last && Number.isFinite(this.last.epsilon) ? this.last : null,
    };
  }

  /** The current report. */
  report(): PrivacyReport {
    return {
      delta: this.delta,
      lastRound: this.last,
      cumulative: epsilonFromRdp(this.sampled, this.delta),
      cumulativeWithoutSampling: epsilonFromRdp(this.unsampled, this.delta),
    };
  }
}
