/** The ESM entry: the public API only (a unit test pins this list). */
export { init, track, consent, rank, rankItems, status, topPicks, exportData, eraseData, explain, contribute } from './sdk/defaultInstance';
export { createEdgePersonalize, CONSENT_EVENT } from './sdk/createEdgePersonalize';
export type { EdgePersonalize, SdkStatus, SdkEnvironment } from './sdk/createEdgePersonalize';
export type { RankItemsOptions } from './sdk/rankedLists';
export type { BackendPreference, ConsentState, EdgePersonalizeConfig, RetentionLimits, SlotRankedInfo } from './config/config';
export type { SdkErrorName } from './errors';
export type {
  BackendReport,
  ContributionResult,
  Explanation,
  FederatedStatus,
  UploadLogEntry,
  WorkerStatus,
  WorkerTimings,
  SessionSummary,
} from './worker/protocol';
export type { DeviceDataExport } from './store/deviceData';
export type { ResolvedConsent } from './privacy/consentState';
