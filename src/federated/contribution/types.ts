import type { ModelFiles } from '../../model/plain/modelFiles';
import type { FederatedState } from '../federatedState';
import type { SecureReportHeader } from '../secureAggregation/secureReport';
import type { TrainingWorkerOptions } from './runTrainingJob';

// The interface between the Worker and a contribution (`contribute` in contribute.ts): what the
// Worker supplies, what it may set, what it gets back.

/** Why a contribution did or did not happen. */
export interface ContributionResult {
  outcome: 'uploaded' | 'skipped' | 'retry_later' | 'rejected';
  reason: string;
  bytes?: number;
  roundId?: string;
  /** Local training: examples, first and last epoch loss, ms. */
  training?: {
    examples: number;
    firstLoss: number;
    lastLoss: number;
    ms: number;
    /** True when the training Worker did the work (`runTrainingJob.ts`), false when the SDK's Worker did. */
    inWorker: boolean;
  };
}

/**
 * What a contribution needs from the Worker, and nothing more. The Worker keeps its own rules:
 * the cross-tab Web Lock around `contribute`, the serial chain behind {@link ContributionHost.snapshot}, and
 * the atomic model swap behind {@link ContributionHost.adoptServerModel}.
 */
export interface ContributionHost {
  /** The round client's state, changed in place by `contribute`; {@link ContributionHost.saveState} persists it. */
  readonly state: FederatedState;
  /**
   * The version the server runs now: the Worker records it (its status shows it) and, if it runs
   * another, loads that one and swaps it in. Rejects if it cannot load it.
   */
  adoptServerModel(modelVersion: string, modelUrl: string): Promise<void>;
  /** The model the Worker runs and the device's sessions in its terms, read in one step (no swap in between). */
  snapshot(): Promise<DeviceSnapshot>;
  /** Persists {@link ContributionHost.state}. Never rejects: the Worker reports a storage failure itself. */
  saveState(): Promise<void>;
}

/** The device's data for one contribution. */
export interface DeviceSnapshot {
  /** The files of the model the Worker runs: training starts from their weights. */
  files: ModelFiles;
  /** Every stored session as that model's item indices (unknown items left out, repeats collapsed). */
  sessions: number[][];
  /** Events stored on the device, by every tab. */
  storedEvents: number;
}

/** Settings of a contribution: the site's (`updateEndpoint`, …), and test seams. */
export interface ContributionOptions {
  /** Absolute base URL of the aggregation server (`…/fl`). */
  endpoint: string;
  /** New stored events needed since the last contribution. */
  minNewEvents: number;
  /** Local passes over the device's sessions, unless the server says otherwise. */
  localEpochs: number;
  lr: number;
  /** Awaited between training steps, so the Worker keeps answering rank calls. Default: a macrotask. */
  yieldFn?: () => Promise<void>;
  /**
   * Run the training and the report in a Worker of their own, on this backend (the SDK's Worker
   * sets it; absent: in the caller's thread, between `yieldFn` macrotasks).
   */
  trainingWorker?: TrainingWorkerOptions;
  /** Every request goes through it. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Called once a secure report is built, with its header and the int8 codes it hides (before
   * masking): for a test that checks what the aggregators recombine. Nothing in the SDK passes it.
   */
  onSecureReport?(info: { header: SecureReportHeader; codes: Int8Array }): void;
}
