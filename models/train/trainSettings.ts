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
};
