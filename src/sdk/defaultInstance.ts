import { createEdgePersonalize } from './createEdgePersonalize';

/** The instance behind the ESM exports; its Worker is `edge-personalize.worker.js` beside the bundle. */
export const defaultInstance = createEdgePersonalize({
  workerUrl: new URL('./edge-personalize.worker.js', import.meta.url).toString(),
  vitalsUrl: new URL('./edge-personalize.vitals.js', import.meta.url).toString(),
});

export const { init, track, consent, rank, rankItems, status, topPicks, exportData, eraseData, explain, contribute } = defaultInstance;
