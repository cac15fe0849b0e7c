/**
 * `dist/edge-personalize.on-demand.js`: the parts of the page's SDK that no first rank needs, so
 * they stay out of the ≤ 10 KB loader and load on first use from beside it (or beside `workerUrl`):
 * framework lists (`rankItems`), reading or deleting the device's data without a Worker
 * (`exportData`, `eraseData`), and view tracking (a view on the page is found whenever it starts;
 * clicks are tracked by the loader itself, so that no early click is missed).
 */
export { RankedLists, rankItems } from './rankedLists';
export { deleteDeviceDatabase, readDeviceData } from '../store/deviceData';
export { startViewTracking } from '../track/autoTrack';
