import type { SessionScorer } from '../scorer';
import { ItemKnnScorer } from './itemKnn';
import { PopScorer } from './pop';
import { SknnScorer } from './sknn';
import { SpopScorer } from './spop';
import { VsknnScorer } from './vsknn';

/** Names of the baselines, in the order the CLI runs and prints them. */
export const BASELINE_NAMES = ['pop', 'spop', 'itemknn', 'sknn', 'vsknn'] as const;

/** One of {@link BASELINE_NAMES}. */
export type BaselineName = (typeof BASELINE_NAMES)[number];

/**
 * The settings the harness evaluates with.
 *
 * Item-KNN keeps the GRU4Rec paper's defaults (100 neighbours, λ = 20, α = 0.5), which reproduce
 * the published DIGINETICA row. SKNN and V-SKNN were tuned by `models/eval/tuneKnn.ts` on the last
 * 5% of the training sessions (fit on the first 95%, coordinate search on Recall@20); on that
 * hold-out every setting with k ≥ 100 lies within 0.2 points of the best, so the choice matters
 * little.
 */
export const BASELINE_SETTINGS = {
  itemknn: { neighbours: 100, lambda: 20, alpha: 0.5 },
  sknn: { k: 200, sampleSize: 1000 },
  vsknn: { k: 500, sampleSize: 500, weighting: 'div', weightingScore: 'div', idfWeighting: 10 },
} as const;

/** True when `name` is one of {@link BASELINE_NAMES}. */
export function isBaselineName(name: string): name is BaselineName {
  return (BASELINE_NAMES as readonly string[]).includes(name);
}

/** Builds the named baseline from the training sessions (dense item indices) with {@link BASELINE_SETTINGS}. */
export function createBaseline(name: BaselineName, train: readonly Int32Array[], numItems: number): SessionScorer {
  switch (name) {
    case 'pop':
      return new PopScorer(train, numItems);
    case 'spop':
      return new SpopScorer(train, numItems);
    case 'itemknn':
      return new ItemKnnScorer(train, numItems, BASELINE_SETTINGS.itemknn);
    case 'sknn':
      return new SknnScorer(train, numItems, BASELINE_SETTINGS.sknn);
    case 'vsknn':
      return new VsknnScorer(train, numItems, BASELINE_SETTINGS.vsknn);
  }
}
