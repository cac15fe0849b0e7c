/** Every setting of a training run; stored in checkpoints and in the shipped model's metadata. */
export interface TrainSettings {
  embedDim: number;
  hiddenDim: number;
  attnDim: number;
  /** Cosine-score temperature (see ModelConfig.scale). */
  scale: number;
  /** Longest session window read by the model. */
  maxLen: number;
  /** Sessions per mini-batch. */
  batchSize: number;
  /**
   * Shared negative samples per mini-batch, on top of the batch's own targets. At or above the
   * item count: the full softmax (every item a candidate, no log-Q correction).
   */
  negatives: number;
  /** Negatives are drawn from popularity^sampleAlpha. */
  sampleAlpha: number;
  /** Adam learning rate at the start; decays linearly to `lr * lrFinal` by the last step. */
  lr: number;
  lrFinal: number;
  epochs: number;
  /** Fraction of training sessions (the chronological tail) held out for validation. */
  holdout: number;
  /** Validation cases sampled from the held-out tail (0 = all). */
  validCases: number;
  seed: number;
  /**
   * Training-only inverted dropout rate, applied to the GRU's input item embeddings and to the
   * session vector before scoring. Inference never drops anything; 0 = off. Settings saved before
   * this option existed lack it, which means 0.
   */
  dropout: number;
  /**
   * 1 = the model has the repeat path (`src/model/repeatMixture.ts`), 0 = not. Settings saved
   * before this option existed lack it, which means 0.
   */
  repeat: number;
  /**
   * Epochs at the end of the run over which the weights are averaged (four snapshots per epoch;
   * `train/weightAverage.ts`); the run then ships the average. 0 = off, the last weights ship.
   * Settings saved before this option existed lack it, which means 0.
   */
  averageEpochs: number;
}

/** The committed defaults: the settings the shipped DIGINETICA model was trained with. */
export const DEFAULT_SETTINGS: TrainSettings = {
  embedDim: 64,
  hiddenDim: 128,
  attnDim: 64,
  scale: 9,
  maxLen: 20,
  batchSize: 128,
  negatives: 8192,
  sampleAlpha: 0.5,
  lr: 0.004,
  lrFinal: 0.1,
  epochs: 8,
  holdout: 0,
  validCases: 10000,
  seed: 42,
  dropout: 0,
  repeat: 1,
  averageEpochs: 0,
};

/**
 * The most entries a step's `[rows × candidates]` score matrix may have. The step holds a few
 * tensors of that shape at once in the wasm heap. Measured on DIGINETICA: 46 M entries (16,384
 * negatives, batch 128) and 52 M (the full softmax at batch 64, 532 batches) train; 105 M (the
 * full softmax at batch 128) aborts with "memory access out of bounds".
 */
export const MAX_STEP_SCORES = 64_000_000;

/** Entries of the largest step's score matrix: the longest batch's rows times its candidates. */
export function stepScoreEntries(s: Pick<TrainSettings, 'batchSize' | 'maxLen' | 'negatives'>, numItems: number): number {
  const rows = s.batchSize * (s.maxLen - 1);
  const candidates = Math.min(numItems, s.negatives + rows);
  return rows * candidates;
}
