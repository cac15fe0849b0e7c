import { ServerConfigError, type ResolvedOptions } from './serverOptions';

/** The start-up noise check: how much a full round's noise moves the model, against the model. */
export interface NoiseCheck {
  /** L2 norm of one full round's noise on the model: serverLr·σ·C·√d / (target·expectedWeight). */
  roundNoiseNorm: number;
  /** L2 norm of the trainable weights of the model the server starts from. */
  weightsNorm: number;
  ratio: number;
  limit: number;
}

/**
 * Refuses settings whose noise would swamp the model (throws {@link ServerConfigError} with the
 * arithmetic), over the values a round trains: the dense tensors and the announced rows: with a target of 5 and σ = C = 1, one honest round once added noise of norm 26.8
 * to a model whose trainable weights have norm 24.3 and took Recall@20 from 0.335 to 0.096.
 */
export function checkNoise(
  o: ResolvedOptions,
  trainable: Float32Array,
  /** The announced rows of a round: their values and (expected) squared norm, counted with the dense ones. */
  rows: { values: number; squaredNorm: number } = { values: 0, squaredNorm: 0 },
): NoiseCheck {
  const d = trainable.length + rows.values;
  let sq = rows.squaredNorm;
  for (let i = 0; i < trainable.length; i++) sq += trainable[i]! * trainable[i]!;
  const weightsNorm = Math.sqrt(sq);
  // The rows move at their own learning rate: the noise counts each part at its rate (`lr` below is
  // their root mean square over the d values, = serverLr when both rates are the same).
  const lr = Math.sqrt((o.serverLr ** 2 * trainable.length + o.rowServerLr ** 2 * rows.values) / Math.max(d, 1));
  // A full round's sum carries the noise of `target` devices (std noiseStd each, per value). In a
  // plain round noiseStd = σ·C/√target, so this is serverLr·σ·C·√d/(target·expectedWeight); with
  // secure aggregation each device's noise is sized for the minimum cohort, so a full round has more.
  const roundNoiseNorm = (lr * o.noiseStd * Math.sqrt(o.targetUpdates * d)) / (o.targetUpdates * o.expectedWeight);
  const ratio = weightsNorm > 0 ? roundNoiseNorm / weightsNorm : Infinity;
  const check = { roundNoiseNorm, weightsNorm, ratio, limit: o.maxNoiseRatio };
  if (ratio > o.maxNoiseRatio) {
    const minTarget = Math.ceil((lr * o.noiseMultiplier * o.clipNorm * Math.sqrt(d)) / (o.maxNoiseRatio * weightsNorm * o.expectedWeight));
    if (o.secureAggregation)
      throw new ServerConfigError(
        `the noise of one round would swamp the model: serverLr·noiseStd·√(target·d)/(target·expectedWeight) = ${lr.toPrecision(3)}·${o.noiseStd.toPrecision(3)}·√(${o.targetUpdates}·${d})/(${o.targetUpdates}·${o.expectedWeight}) = ${roundNoiseNorm.toPrecision(3)}, ` +
          `${(ratio * 100).toPrecision(3)} % of the trainable weights' norm ${weightsNorm.toPrecision(3)} (at most ${o.maxNoiseRatio * 100} %; noiseStd = σ·C/√minCohort with secure aggregation): raise the minimum cohort (minUpdates) or the target, or lower the clip norm or noise multiplier`,
      );
    throw new ServerConfigError(
      `the noise of one round would swamp the model: serverLr·σ·C·√d/(target·expectedWeight) = ${lr.toPrecision(3)}·${o.noiseMultiplier}·${o.clipNorm}·√${d}/(${o.targetUpdates}·${o.expectedWeight}) = ${roundNoiseNorm.toPrecision(3)}, ` +
        `${(ratio * 100).toPrecision(3)} % of the trainable weights' norm ${weightsNorm.toPrecision(3)} (at most ${o.maxNoiseRatio * 100} %): raise the target to ≥ ${minTarget}, or lower the clip norm or noise multiplier`,
    );
  }
  return check;
}
