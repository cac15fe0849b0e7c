import type { SdkErrorName } from '../errors';
/**
 * The messages between the page and the SDK's Worker, alone in this file (as in comlink's
 * `protocol.ts`). The page holds a comlink proxy of {@link WorkerApi}; every argument and result
 * is structured-cloneable. Errors cross as `{ name, message, stack }`: check `err.name`.
 */
import type { BackendPreference, RetentionLimits } from '../config/config';
import type { TrackedEvent } from '../track/trackedEvent';
import type { UploadLogEntry } from '../federated/federatedState';
import type { ContributionResult } from '../federated/contribution/types';

export type { ContributionResult, UploadLogEntry };

/** Settings the page passes to the Worker once. */
export interface WorkerStartOptions {
  /** Absolute URL of the model's `model.json`. */
  modelUrl: string;
  backend: BackendPreference;
  retention: RetentionLimits;
  sessionIdleMs: number;
  /** Federated learning, when the site set `updateEndpoint` (absolute URL); null = off. */
  federated: { endpoint: string; minNewEvents: number; localEpochs: number; lr: number } | null;
}

/** The backend the Worker runs the model on, and why it was chosen. */
export interface BackendReport {
  name: 'webgl' | 'wasm' | 'cpu';
  /** e.g. "WebGL renderer is software (SwiftShader): wasm is 10-70× faster". */
  reason: string;
  /** The WebGL renderer string seen, when WebGL was probed. */
  webglRenderer: string | null;
}

/** Where time went, in milliseconds (measured in the Worker with `performance.now()`). */
export interface WorkerTimings {
  /** Importing the ML runtime chunk (tfjs + backends). */
  runtimeLoadMs: number | null;
  /** Initialising the chosen backend. */
  backendInitMs: number | null;
  /** Fetching the model's files (or reading them from Cache Storage) and decoding them; overlaps the runtime load. */
  modelFetchMs: number | null;
  /** Building the model's tensors on the backend. */
  modelBuildMs: number | null;
  /** Where the model came from on this start. */
  modelSource: 'network' | 'cache' | null;
  /** Restoring the session state from IndexedDB. */
  sessionRestoreMs: number | null;
  /** The last `rank()` call, inside the Worker. */
  lastRankMs: number | null;
  /** The last model step after an interaction. */
  lastAdvanceMs: number | null;
  /**
   * Wall-clock moments (`performance.timeOrigin + performance.now()`, ms since the epoch) so the
   * page can place the Worker's start on its own timeline: the Worker script ran, `start()`
   * arrived, the model was ready.
   */
  scriptAt: number | null;
  startAt: number | null;
  /** The Worker could rank (model files and saved session read; before tfjs). */
  rankableAt: number | null;
  readyAt: number | null;
  /** What scored the last rank: `js` (the saved state, before tfjs was up) or the backend. */
  lastRankPath: 'js' | 'webgl' | 'wasm' | 'cpu' | null;
}

/** The current session as stored (whichever tab recorded it). */
export interface SessionSummary {
  id: string;
  startedAt: number;
  lastAt: number;
  /** Item ids this page's model has read, oldest first (at most the model's window; empty until it has read the session). */
  items: string[];
  /** Events stored for the session. */
  eventCount: number;
}

/** Everything the demo panel (and a curious developer) may want to see. */
export interface WorkerStatus {
  /** tfjs and the model's tensors are up. */
  ready: boolean;
  /** Slots can be ranked (possibly before `ready`, from the saved session state). */
  rankable: boolean;
  backend: BackendReport | null;
  modelVersion: string | null;
  modelItems: number | null;
  timings: WorkerTimings;
  session: SessionSummary | null;
  /** Events stored on this device (by every tab: read from IndexedDB when asked). */
  storedEvents: number;
  /** Problems met so far (named), newest last. */
  errors: Array<{ name: SdkErrorName; message: string }>;
  /** Federated learning on this device; null when off. */
  federated: FederatedStatus | null;
}

/** The round client's state, for the page's transparency panel. */
export interface FederatedStatus {
  endpoint: string;
  /** The device's upload log (what was sent, when, how much, with which privacy parameters). */
  uploads: UploadLogEntry[];
  /** An update waits for a retry. */
  pendingUpload: boolean;
  /** The newest version the server announced, and the last contribution's outcome. */
  serverVersion: string | null;
  lastResult: ContributionResult | null;
}

/** One slot's candidate items, in page order. */
export interface RankRequest {
  slots: string[][];
}

/**
 * Scores for each slot's items, aligned with the request; `null` for a slot that keeps its order
 * (no session yet, or no item known to the model). Unknown items score `null`.
 */
export interface RankResult {
  scores: Array<Array<number | null> | null>;
  /** Why slots are left alone, when they are. */
  reason?: 'no_history' | 'no_known_items';
  ms: number;
}

/** What `record()` did with one batch. */
export interface RecordResult {
  /** The Worker has the batch: stored, recognised as already stored, or kept in memory because storage failed. */
  handedOver: boolean;
  /** Events written to IndexedDB. */
  stored: number;
  /** Replays of calls already stored (same `callId`): not written again. */
  duplicates: number;
  /** Events deleted by the retention caps (or quota pruning) during these writes. */
  pruned: number;
  /** A problem met while recording (the events are then kept in memory only). */
  error?: { name: SdkErrorName; message: string };
}

/**
 * The Worker's API, exposed with comlink. The page starts a Worker only once the shopper's
 * consent is granted, and terminates it when consent is withdrawn.
 */
export interface WorkerApi {
  /** Opens the store, reads the model's files and the saved session. Resolves when slots can be ranked; tfjs follows. */
  start(options: WorkerStartOptions): Promise<WorkerStatus>;
  /** Resolves when tfjs and the model's tensors are up; its `errors` name a backend fallback. */
  modelReady(): Promise<WorkerStatus>;
  /**
   * Stores a batch of validated events (in order) and advances the session state. Batches are
   * written a few hundred events per IndexedDB transaction, and a `rank()` that arrives meanwhile
   * runs between two of them rather than after the whole backlog.
   */
  record(events: TrackedEvent[]): Promise<RecordResult>;
  /** Scores the items of the page's slots for the current session. */
  rank(request: RankRequest): Promise<RankResult>;
  /**
   * Why `itemId` ranks where it does: leave-one-out over the session — each session item's
   * influence is how much the item's score drops when that item is removed from the session.
   */
  explain(itemId: string): Promise<Explanation | null>;
  /**
   * Trains on this device's history and uploads one model update if eligible (consent is implied:
   * the Worker runs only with it; enough new events; no other tab contributing), then picks up a
   * newer published model. Training yields between steps, so ranking stays prompt.
   */
  contribute(): Promise<ContributionResult>;
  /** Forgets everything: closes and deletes the database, resets the session state in memory. */
  forget(): Promise<void>;
  /** The model's top picks for the current session (item ids, best first). */
  topPicks(count: number): Promise<Array<{ itemId: string; score: number }>>;
  status(): Promise<WorkerStatus>;
}

/** What `explain(itemId)` returns. */
export interface Explanation {
  itemId: string;
  /** The item's score for the whole session. */
  score: number;
  /** The session's items, most influential first: `influence` = score − score without that item. */
  influences: Array<{ itemId: string; influence: number }>;
}
