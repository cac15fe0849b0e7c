import { UsageError } from '../../src/node/cliArgs';
import type { ModelWeights } from '../../src/node/modelDir';

/**
 * The repeat-offset calibration (`npm run repeat-offset`, see repeatOffset.ts): one offset added
 * to every repeat logit of a model trained with a sampled softmax, chosen on validation cases.
 */

/** The offsets tried, in logits. */
export const OFFSET_GRID = [-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 4] as const;

/** Validation result of one offset. */
export interface OffsetResult {
  offset: number;
  recall20: number;
  mrr20: number;
}

/** A copy of `w` with `offset` added to every repeat logit (its `repeat/recency` biases). */
export function withRepeatOffset(w: ModelWeights, offset: number): ModelWeights {
  const recency = w.dense.get('repeat/recency');
  if (!w.config.repeat || !recency) throw new UsageError('the model has no repeat path to calibrate');
  const dense = new Map(w.dense);
  dense.set(
    'repeat/recency',
    Float32Array.from(recency, (v) => v + offset),
  );
  return { ...w, dense };
}

/** The offset with the highest Recall@20 + MRR@20; ties go to the smaller |offset|. */
export function chooseOffset(results: readonly OffsetResult[]): OffsetResult {
  if (results.length === 0) throw new RangeError('chooseOffset: no results');
  return results.reduce((best, r) => {
    const a = r.recall20 + r.mrr20;
    const b = best.recall20 + best.mrr20;
    return a > b || (a === b && Math.abs(r.offset) < Math.abs(best.offset)) ? r : best;
  });
}
