import type { AggregationServerOptions } from '../src/server/serverOptions';

/**
 * The demo shop's aggregation-server settings: one place, used by `demo/serve.ts` and by the
 * script that checks that these very settings improve the demo model over 20 rounds of honest
 * devices (`npm run demo-rounds`). A demo has a handful of visitors, so rounds are small; the
 * privacy figures the server reports for them are correspondingly weak, and the demo's privacy
 * page shows them as they are.
 */
const targetUpdates = Number(process.env.FL_ROUND_TARGET ?? 3);

export const DEMO_FEDERATED_SETTINGS = {
  targetUpdates,
  minUpdates: Math.min(targetUpdates, 2),
} satisfies Partial<AggregationServerOptions>;
