import type { SdkVitals } from '../vitals/vitalsEntry';

/** Where the Worker runs the model. `auto` picks WebGL only where it is hardware-accelerated. */
export type BackendPreference = 'auto' | 'webgl' | 'wasm' | 'cpu';

/** The shopper's consent to on-device personalization (see `consent()`). */
export type ConsentState = 'granted' | 'denied' | 'pending';

/** How many interactions the device keeps, and for how long. Enforced on every write. */
export interface RetentionLimits {
  /** Most events kept; the oldest go first. Default 10,000. */
  maxEvents: number;
  /** Events older than this are deleted. Default 90. */
  maxAgeDays: number;
}

/** What `onRanked` receives after a slot was reordered (or left alone). */
export interface SlotRankedInfo {
  slot: Element;
  /** Whether the children moved. */
  reordered: boolean;
  /** Why the slot kept its order, when it did. */
  kept?: 'no_history' | 'no_known_items' | 'timeout' | 'error' | 'visible' | 'no_consent';
  /** When the decision was made (`performance.now()`, ms since the page's navigation started). */
  at: number;
}

/**
 * Everything `init()` accepts (camelCase), also settable as `data-*` attributes on the script tag
 * (`data-model-url`, `data-update-endpoint`, `data-consent`, `data-debug`, `data-backend`,
 * `data-worker-url`, `data-hide-timeout-ms`).
 */
export interface EdgePersonalizeConfig {
  /** URL of the model's `model.json` (its weights and vocabulary sit beside it). Required. */
  modelUrl: string;
  /**
   * The aggregation server's base URL (e.g. `/fl`): turns federated learning on. With consent
   * granted, the device trains on its own history once the page is idle and uploads one clipped,
   * noised, int8 update per round; newer published models are picked up. Off when absent.
   */
  updateEndpoint?: string;
  /** New interactions needed before the device contributes again. Default 5. */
  trainAfterEvents?: number;
  /**
   * The consent the site has for this shopper. Default `pending`: nothing is recorded until
   * `consent('granted')`. Global Privacy Control and Do Not Track turn it into `denied`.
   */
  consent?: ConsentState;
  /** Console warnings for every reported error. Default false. */
  debug?: boolean;
  /** Backend choice; `auto` by default. */
  backend?: BackendPreference;
  /** The Worker script; by default `edge-personalize.worker.js` beside the SDK script. */
  workerUrl?: string;
  /** Longest time a slot stays hidden waiting for its ranking (ms, at most 1,000). Default 300. */
  hideTimeoutMs?: number;
  /** Record clicks and views on marked elements automatically. Default true. */
  autoTrack?: boolean;
  /** Retention caps for the on-device history. */
  retention?: Partial<RetentionLimits>;
  /** A session ends after this many idle minutes. Default 30. */
  sessionIdleMinutes?: number;
  /** Event types accepted besides `view`, `click`, `add_to_cart`, `purchase`. */
  customEventTypes?: string[];
  /** Receives every error the SDK meets (named: `err.name`). Never throws into the page. */
  onError?: (error: Error) => void;
  /** Called after each slot decision, for analytics or the site's own debugging. */
  onRanked?: (info: SlotRankedInfo) => void;
  /** Called when the consent in effect changes (also dispatched as `edge-personalize:consent` on `window`). */
  onConsentChange?: (consent: { state: ConsentState; source: string; reason: string }) => void;
  /**
   * Receives the page's CLS/LCP/INP (web-vitals) and the SDK's own cost on the page (layout shift
   * inside slots, main-thread time), whenever they change. Loads `edge-personalize.vitals.js`
   * (web-vitals) only when set. The data goes to this callback only, never to us.
   */
  onVitals?: (vitals: SdkVitals) => void;
}

/** The config with every default applied, as the SDK uses it. */
export interface ResolvedConfig {
  modelUrl: string;
  updateEndpoint: string | null;
  trainAfterEvents: number;
  consent: ConsentState;
  debug: boolean;
  backend: BackendPreference;
  workerUrl: string | null;
  hideTimeoutMs: number;
  autoTrack: boolean;
  retention: RetentionLimits;
  sessionIdleMs: number;
  customEventTypes: string[];
  onError: ((error: Error) => void) | null;
  onRanked: ((info: SlotRankedInfo) => void) | null;
  onConsentChange: ((consent: { state: ConsentState; source: string; reason: string }) => void) | null;
  onVitals: ((vitals: SdkVitals) => void) | null;
}

export const DEFAULT_RETENTION: RetentionLimits = { maxEvents: 10_000, maxAgeDays: 90 };
export const DEFAULT_HIDE_TIMEOUT_MS = 300;
export const MAX_HIDE_TIMEOUT_MS = 1_000;
