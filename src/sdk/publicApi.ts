import type { ConsentState, EdgePersonalizeConfig } from '../config/config';
import type { SnippetState } from '../loader/snippet';
import type { ResolvedConsent } from '../privacy/consentState';
import type { DeviceDataExport } from '../store/deviceData';
import type { ContributionResult, Explanation, WorkerStatus } from '../worker/protocol';
import type { RankItemsOptions } from './rankedLists';

/** What `status()` returns: the page's view plus the Worker's. */
export interface SdkStatus {
  initialized: boolean;
  consent: ResolvedConsent;
  /** Null until the Worker runs (consent granted). */
  worker: WorkerStatus | null;
  /** Slot decisions so far. */
  slots: { ranked: number; kept: number };
  /** When the first slot decisions were made (`performance.now()`), for timing the SDK. */
  firstRankedAt: number | null;
}

/** The SDK's public API, as `window.edgePersonalize` and as the ESM exports. */
export interface EdgePersonalize {
  /** Starts the SDK. Call once; later calls are reported (ConfigError) and ignored. */
  init(config: EdgePersonalizeConfig): void;
  /** Records an interaction (`view`, `click`, `add_to_cart`, `purchase`, or a registered custom type). Never throws. */
  track(type: string, props: { itemId: string } & Record<string, unknown>): void;
  /** Sets the shopper's consent; `granted` starts personalization, anything else stops it at once. */
  consent(state: ConsentState): void;
  /** Re-ranks the slots that are off screen now (the SDK also does this after each interaction). */
  rank(): Promise<void>;
  /**
   * Ranks a list of item ids for a slot label without touching the DOM, for pages whose framework
   * renders the list itself (React, Vue, Svelte, SSR with hydration). Resolves to the ids in their
   * ranked order by `timeoutMs` (default `hideTimeoutMs`), or in the given order when the model
   * cannot rank (no consent, no history, unknown items, a failure: reported to `onError`). Items
   * the model does not know keep their positions; equal scores keep the given order. With
   * `onChange`, the list is ranked again after each interaction and `onChange` receives each new
   * order (until `signal` aborts). Never throws or rejects.
   */
  rankItems(label: string, itemIds: readonly string[], options?: RankItemsOptions): Promise<string[]>;
  /** The SDK's state: consent, backend, session, timings. */
  status(): Promise<SdkStatus>;
  /** The model's best items for the current session, best first. */
  topPicks(count?: number): Promise<Array<{ itemId: string; score: number }>>;
  /** Everything the SDK keeps about the shopper on this device, as JSON-ready data. Works in any consent state. */
  exportData(): Promise<DeviceDataExport>;
  /** Deletes everything the SDK keeps on this device (history, model state, consent choice, this tab's pending events) and resets the Worker. */
  eraseData(): Promise<void>;
  /** Why `itemId` ranks where it does: the session items that most raised its score (leave-one-out). Null without a session. */
  explain(itemId: string): Promise<Explanation | null>;
  /**
   * Federated learning: train on this device's history and upload one update now, if eligible
   * (consent granted, `updateEndpoint` set, enough new interactions, no other tab busy). The SDK
   * also does this by itself once per page, when the page is idle.
   */
  contribute(): Promise<ContributionResult | null>;
  /** The queue protocol of the install snippet: `push(['track', 'view', { itemId }])`. */
  push(call: unknown): void;
}

/** The event dispatched on `window` when the consent in effect changes (`detail`: {@link ResolvedConsent}). */
export const CONSENT_EVENT = 'edge-personalize:consent';

/** Where the SDK's files are, decided by the entry point (script tag or ESM import). */
export interface SdkEnvironment {
  workerUrl: string;
  /** The web-vitals module (`edge-personalize.vitals.js`), loaded only for `onVitals`. */
  vitalsUrl: string;
  snippet?: SnippetState;
}
