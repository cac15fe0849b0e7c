/**
 * `true` only in the test build of the Worker (`npm run build:test` → `dist-test/`, used by the
 * secure-aggregation e2e test); `false` in every build a site gets, where the code it guards is
 * removed. Replaced at build time (rollup.config.ts, `testBuild`); `false` when run unbuilt.
 */
declare const __EDGE_PERSONALIZE_TEST_BUILD__: boolean | undefined;

export const TEST_BUILD: boolean = typeof __EDGE_PERSONALIZE_TEST_BUILD__ !== 'undefined' && __EDGE_PERSONALIZE_TEST_BUILD__ === true;
