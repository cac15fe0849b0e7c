/**
 * `dist/edge-personalize.on-demand.js`: the parts of the page's SDK that no first rank needs, so
 * they stay out of the ≤ 10 KB loader and load on first use from beside it (or beside `workerUrl`):
 * framework lists (`rankItems`), reading or deleting the device's data without a Worker
 * (`exportData`, `eraseData`), and watching for views added later (the loader records the page's
 * views and clicks itself, so that nothing is missed when the shopper leaves at once).
 */
export { RankedLists, rankItems } from './rankedLists';
export { deleteDeviceDatabase, readDeviceData } from '../store/deviceData';
export { observeViews } from '../track/autoTrack';
