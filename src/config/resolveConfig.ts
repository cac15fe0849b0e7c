import { sdkError } from '../errors';
import { DEFAULT_SESSION_IDLE_MS } from '../track/sessionClock';
import {
  DEFAULT_HIDE_TIMEOUT_MS,
  DEFAULT_RETENTION,
  MAX_HIDE_TIMEOUT_MS,
  type BackendPreference,
  type ConsentState,
  type EdgePersonalizeConfig,
  type ResolvedConfig,
} from './config';

const BACKENDS: readonly BackendPreference[] = ['auto', 'webgl', 'wasm', 'cpu'];
const CONSENTS: readonly ConsentState[] = ['granted', 'denied', 'pending'];

/**
 * Applies defaults to an `init()` config. A bad value is replaced by its default and reported
 * (ConfigError) rather than thrown, so one typo does not switch the SDK off; only a missing
 * `modelUrl` makes the config unusable (`config` is null then).
 */
export function resolveConfig(input: Partial<EdgePersonalizeConfig>): { config: ResolvedConfig | null; problems: Error[] } {
  const problems: Error[] = [];
  const bad = (key: string, value: unknown, expected: string): void => {
    problems.push(sdkError('ConfigError', `init(): ${key} ${JSON.stringify(value)} is not ${expected}; using the default`));
  };
  const pick = <T>(key: string, value: unknown, ok: (v: unknown) => boolean, fallback: T, expected: string): T => {
    if (value === undefined || value === null || value === '') return fallback;
    if (ok(value)) return value as T;
    bad(key, value, expected);
    return fallback;
  };
  const isPositive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const isFunction = (v: unknown): boolean => typeof v === 'function';

  const retention = { ...DEFAULT_RETENTION };
  const r = (input.retention ?? {}) as Record<string, unknown>;
  retention.maxEvents = Math.floor(pick('retention.maxEvents', r.maxEvents, isPositive, DEFAULT_RETENTION.maxEvents, 'a positive number'));
  retention.maxAgeDays = pick('retention.maxAgeDays', r.maxAgeDays, isPositive, DEFAULT_RETENTION.maxAgeDays, 'a positive number');

  const hide = pick(
    'hideTimeoutMs',
    input.hideTimeoutMs,
    (v) => typeof v === 'number' && v >= 0 && v <= MAX_HIDE_TIMEOUT_MS,
    DEFAULT_HIDE_TIMEOUT_MS,
    `a number of ms from 0 to ${MAX_HIDE_TIMEOUT_MS}`,
  );
  const idleMinutes = pick(
    'sessionIdleMinutes',
    input.sessionIdleMinutes,
    isPositive,
    DEFAULT_SESSION_IDLE_MS / 60_000,
    'a positive number',
  );
  const custom = pick<string[]>(
    'customEventTypes',
    input.customEventTypes,
    (v) => Array.isArray(v) && v.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 64),
    [],
    'an array of short strings',
  );

  const config: ResolvedConfig = {
    modelUrl: typeof input.modelUrl === 'string' ? input.modelUrl : '',
    updateEndpoint: pick<string | null>('updateEndpoint', input.updateEndpoint, (v) => typeof v === 'string', null, 'a URL'),
    trainAfterEvents: Math.floor(pick('trainAfterEvents', input.trainAfterEvents, isPositive, 5, 'a positive number')),
    consent: pick<ConsentState>(
      'consent',
      input.consent,
      (v) => CONSENTS.includes(v as ConsentState),
      'pending',
      `one of ${CONSENTS.join(', ')}`,
    ),
    debug: pick('debug', input.debug, (v) => typeof v === 'boolean', false, 'a boolean'),
    backend: pick<BackendPreference>(
      'backend',
      input.backend,
      (v) => BACKENDS.includes(v as BackendPreference),
      'auto',
      `one of ${BACKENDS.join(', ')}`,
    ),
    workerUrl: pick<string | null>('workerUrl', input.workerUrl, (v) => typeof v === 'string', null, 'a URL'),
    hideTimeoutMs: hide,
    autoTrack: pick('autoTrack', input.autoTrack, (v) => typeof v === 'boolean', true, 'a boolean'),
    retention,
    sessionIdleMs: idleMinutes * 60_000,
    customEventTypes: custom,
    onError: pick('onError', input.onError, isFunction, null, 'a function'),
    onRanked: pick('onRanked', input.onRanked, isFunction, null, 'a function'),
    onConsentChange: pick('onConsentChange', input.onConsentChange, isFunction, null, 'a function'),
    onVitals: pick('onVitals', input.onVitals, isFunction, null, 'a function'),
  };
  if (!config.modelUrl) {
    problems.push(sdkError('ConfigError', 'init(): modelUrl is required (the URL of the model.json to load); personalization is off'));
    return { config: null, problems };
  }
  return { config, problems };
}

/**
 * Reads the `data-*` attributes of the SDK's script tag into an `init()` config: `data-model-url`,
 * `data-update-endpoint`, `data-consent`, `data-backend`, `data-worker-url`, `data-debug`
 * (present or "true"), `data-hide-timeout-ms`, `data-auto-track` ("false" turns it off).
 */
export function configFromDataset(dataset: Record<string, string | undefined>): Partial<EdgePersonalizeConfig> {
  const out: Partial<EdgePersonalizeConfig> = {};
  const set = <K extends keyof EdgePersonalizeConfig>(key: K, value: EdgePersonalizeConfig[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  const flag = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : v === '' || v === 'true');
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  set('modelUrl', dataset.modelUrl);
  set('updateEndpoint', dataset.updateEndpoint);
  set('consent', dataset.consent as ConsentState | undefined);
  set('backend', dataset.backend as BackendPreference | undefined);
  set('workerUrl', dataset.workerUrl);
  set('debug', flag(dataset.debug));
  set('autoTrack', flag(dataset.autoTrack));
  set('hideTimeoutMs', num(dataset.hideTimeoutMs));
  return out;
}
