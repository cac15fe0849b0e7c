/** The ESM entry: the public API only (a unit test pins this list). */
export { init, track, consent, rank, status, topPicks } from './sdk/defaultInstance';
export { createEdgePersonalize } from './sdk/createEdgePersonalize';
export { SNIPPET } from './loader/snippet';
export type { EdgePersonalize, SdkStatus, SdkEnvironment } from './sdk/createEdgePersonalize';
export type { BackendPreference, ConsentState, EdgePersonalizeConfig, RetentionLimits, SlotRankedInfo } from './config/config';
export type { SdkErrorName } from './errors';
export type { BackendReport, WorkerStatus, WorkerTimings, SessionSummary } from './worker/protocol';
