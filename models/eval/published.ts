/** A published Recall@20 / MRR@20 pair (in %) with where it comes from. */
export interface PublishedResult {
  /** Method the number belongs to, as named in its source. */
  method: string;
  recall20: number;
  mrr20: number;
  source: string;
}

/**
 * Published numbers printed beside ours, keyed by our method name (see
 * /work/shared/data/README.md). Only the SR-GNN Table 2 rows are on this exact split; the SKNN
 * and V-SKNN rows come from Ludewig et al. (RecSys 2019) on their own DIGINETICA preprocessing,
 * close to but not the same split, and serve as a sanity range, not a target.
 */
export const PUBLISHED: Record<string, PublishedResult> = {
  pop: { method: 'POP', recall20: 0.89, mrr20: 0.2, source: 'SR-GNN Table 2' },
  spop: { method: 'S-POP', recall20: 21.06, mrr20: 13.68, source: 'SR-GNN Table 2' },
  itemknn: { method: 'Item-KNN', recall20: 35.75, mrr20: 11.57, source: 'SR-GNN Table 2' },
  sknn: { method: 'SKNN', recall20: 48.46, mrr20: 17.36, source: 'Ludewig et al. 2019 (other split)' },
  vsknn: { method: 'V-SKNN', recall20: 52.03, mrr20: 18.41, source: 'Ludewig et al. 2019 (other split)' },
  float: { method: 'SR-GNN', recall20: 50.73, mrr20: 17.59, source: 'SR-GNN Table 2' },
  int8: { method: 'SR-GNN', recall20: 50.73, mrr20: 17.59, source: 'SR-GNN Table 2' },
};
