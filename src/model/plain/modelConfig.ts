/**
 * Shape and read-out settings of the session model. Stored in every model file, so the browser
 * builds exactly the network that was trained.
 */
export interface ModelConfig {
  /** Items in the vocabulary (rows of the item-embedding table). */
  numItems: number;
  /** Item-embedding size; also the size of the session representation (tied output layer). */
  embedDim: number;
  /** GRU hidden size. */
  hiddenDim: number;
  /** Size of the attention layer of the read-out; 0 = no attention (last state + last item only). */
  attnDim: number;
  /**
   * Scores are `scale · cos(session, item)`: item and session vectors are L2-normalised and the
   * cosine is multiplied by this constant (a softmax temperature; see NISER, Gupta et al. 2019).
   */
  scale: number;
  /** Only the last `maxLen` items of a session are read (training windows have the same size). */
  maxLen: number;
  /**
   * The repeat path (`repeatMixture.ts`), if the model has one: items of the session window are
   * also proposed by their own logits, either mixed with their item scores (`mixture`) or instead
   * of them (`exclusive`: RepeatNet's repeat/explore split, the item scores rank only items not in
   * the window). Absent in models saved before it existed: no repeat path.
   */
  repeat?: 'mixture' | 'exclusive';
}

/** Names of the dense (non-embedding) weights, in file order, with their shapes. */
export function denseShapes(c: ModelConfig): Array<[string, number[]]> {
  const { embedDim: d, hiddenDim: h, attnDim: a } = c;
  return [
    ['gru/Wz', [d, h]],
    ['gru/Wr', [d, h]],
    ['gru/Wh', [d, h]],
    ['gru/Uz', [h, h]],
    ['gru/Ur', [h, h]],
    ['gru/Uh', [h, h]],
    ['gru/bz', [h]],
    ['gru/br', [h]],
    ['gru/bh', [h]],
    ...(a > 0
      ? ([
          ['attn/query', [h, a]],
          ['attn/key', [h, a]],
          ['attn/bias', [a]],
          ['attn/v', [a, 1]],
          ['out/context', [h, d]],
        ] as Array<[string, number[]]>)
      : []),
    ['out/last', [h, d]],
    ['out/item', [d, d]],
    ...(c.repeat
      ? ([
          ['repeat/query', [h, 1]],
          ['repeat/key', [h, 1]],
          ['repeat/recency', [c.maxLen]],
        ] as Array<[string, number[]]>)
      : []),
  ];
}
