import { createEdgePersonalize } from './createEdgePersonalize';

/**
 * A file beside this bundle. Not written as `new URL('./…', import.meta.url)`: bundlers (Vite,
 * webpack) copy such a file under a hashed name on its own, and the Worker's chunks and wasm
 * binaries, which it loads from beside itself, would be missing. A site that bundles the SDK
 * sets `workerUrl` instead (README, "With a bundler").
 */
const beside = (name: string): string => new URL(name, import.meta.url).toString();

/** The instance behind the ESM exports; its Worker is `edge-personalize.worker.js` beside the bundle. */
export const defaultInstance = createEdgePersonalize({
  workerUrl: beside('./edge-personalize.worker.js'),
  vitalsUrl: beside('./edge-personalize.vitals.js'),
});

export const { init, track, consent, rank, rankItems, status, topPicks, exportData, eraseData, explain, contribute } = defaultInstance;
