import { DEFAULT_HIDE_TIMEOUT_MS, type EdgePersonalizeConfig, type ResolvedConfig } from '../config/config';
import { resolveConfig } from '../config/resolveConfig';
import { installHideSheet, removeHideSheet, type HideSheet } from '../dom/hideSheet';
import { SlotRanker } from '../dom/slotRanker';
import { asError, sdkError } from '../errors';
import { readConsentRecord, resolveConsent, writeConsentRecord, type ResolvedConsent } from '../privacy/consentState';
import { readPrivacySignals } from '../privacy/privacySignals';
import { startClickTracking, trackViews } from '../track/autoTrack';
import { EventQueue } from '../track/eventQueue';
import { PENDING_KEY } from '../track/pendingEvents';
import { QUEUED_KEY, takeQueuedCalls } from '../track/queuedCalls';
import type { TrackedEvent } from '../track/trackedEvent';
import { validateEvent } from '../track/validateEvent';
import type { WorkerStatus } from '../worker/protocol';
import { startWorker, type WorkerHandle } from '../worker/startWorker';
import { SdkCostMeter } from '../vitals/sdkCostMeter';
import { CONSENT_EVENT, type EdgePersonalize, type SdkEnvironment } from './publicApi';
import type { RankedLists } from './rankedLists';

export { CONSENT_EVENT, type EdgePersonalize, type SdkEnvironment, type SdkStatus } from './publicApi';

const storageOf = (name: 'localStorage' | 'sessionStorage'): Storage | null => {
  try {
    return globalThis[name] ?? null;
  } catch {
    return null; // access itself throws where storage is disabled
  }
};

/**
 * Builds the SDK object. Everything that can fail at run time (storage, Worker, network, model)
 * is caught and reported through `onError` with a name of the vocabulary (`src/errors.ts`); the
 * page keeps its own order. No method throws. Of the promises they return, only `exportData()`
 * and `eraseData()` can reject (`StorageUnavailableError`, e.g. another tab holds the database
 * open during an erase, or `WorkerUnavailableError`): a privacy action that did not happen must not look done. `status()`,
 * `rank()`, `topPicks()`, `explain()` and `contribute()` resolve (to an empty or null answer on failure).
 */
export function createEdgePersonalize(env: SdkEnvironment): EdgePersonalize {
  let config: ResolvedConfig | null = null;
  let consent: ResolvedConsent = { state: 'pending', source: 'site', reason: 'not initialised' };

  /** Applies a newly resolved consent: starts or stops personalization and tells the site. */
  const applyConsent = (next: ResolvedConsent): void => {
    const before = consent;
    consent = next;
    if (before.state !== 'granted' && next.state === 'granted') startPersonalization();
    if (before.state === 'granted' && next.state !== 'granted') stopPersonalization();
    if (before.state !== next.state) {
      try {
        config?.onConsentChange?.(next);
      } catch {
        /* the site's callback must not break the SDK */
      }
      try {
        window.dispatchEvent(new CustomEvent(CONSENT_EVENT, { detail: next }));
      } catch {
        /* no window (tests) */
      }
    }
  };
  let worker: WorkerHandle | null = null;
  let workerReady: Promise<boolean> | null = null;
  let ranker: SlotRanker | null = null;
  let sheet: HideSheet | null = null;
  let stopAutoTrack: (() => void) | null = null;
  let firstRankedAt: number | null = null;
  const counts = { ranked: 0, kept: 0 };
  const early: Array<[string, unknown[]]> = [];
  let queue: EventQueue | null = null;
  const meter = new SdkCostMeter();
  let initialized: () => void;
  const whenInitialized = new Promise<void>((resolve) => (initialized = resolve));
  /**
   * A file of the SDK: beside `workerUrl` when the site sets it (a bundled SDK), else beside the
   * loader. The on-demand module (framework lists, device data without a Worker) and web-vitals
   * load from there on first use, at a URL only known at run time (bundlers leave it alone).
   */
  const sdkFile = (name: string): string =>
    config?.workerUrl ? new URL(name, new URL(config.workerUrl, location.href)).href : new URL(name, env.vitalsUrl).href;
  let onDemand: Promise<typeof import('./onDemand')> | null = null;
  const loadOnDemand = (): Promise<typeof import('./onDemand')> =>
    (onDemand ??= import(/* webpackIgnore: true */ /* @vite-ignore */ sdkFile('edge-personalize.on-demand.js')).catch((err: unknown) => {
      onDemand = null; // a later call tries again
      throw sdkError('InternalError', `cannot load ${sdkFile('edge-personalize.on-demand.js')}: ${asError(err, 'InternalError').message}`);
    }));
  // Lists a framework renders itself (rankItems): ranked by the Worker like slots, never in the DOM.
  let lists: RankedLists | null = null;
  const listRanking = {
    rank: async (slots: string[][]) => {
      await whenInitialized;
      if (!workerReady || !(await workerReady)) return null;
      return call((w) => w.api.rank({ slots })).catch((err) => {
        report(err);
        return null;
      });
    },
    onDecided: (reordered: boolean) => void counts[reordered ? 'ranked' : 'kept']++,
  };

  /** Hands a batch of events to the Worker (one message); they stop waiting once the Worker answers. */
  const record = (events: TrackedEvent[]): void => {
    call((w) => w.api.record(events)).then(
      (result) =>
        meter.measure(() => {
          // Stored, or kept in the Worker's memory because storage failed: either way handed over.
          if (result.handedOver) queue?.confirm(events);
          if (result.error) report(result.error);
          void lists?.refresh();
          return ranker?.rerankOffscreen().catch(report);
        }),
      report,
    );
  };

  /** `track()` at time `at`: validate, then queue for the Worker's next batch. */
  const trackAt = (type: unknown, props: unknown, at: number): void => {
    if (!config) return;
    const event = validateEvent(type, props, at, { maxItemIdLength: 128, maxPropsBytes: 2048, customTypes: config.customEventTypes });
    if (event instanceof Error) return report(event);
    if (consent.state === 'granted' && worker) queue?.add(event);
  };
  // What waits for the Worker goes to sessionStorage when the page is hidden or left, not per call.
  try {
    addEventListener('pagehide', () => queue?.persist());
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && queue?.persist());
  } catch {
    /* no window (tests) */
  }

  /** Tells the site (`onError`: the config's, or the one an unusable config gave) and, without a config or in debug, the console. */
  const report = (err: unknown, onError: unknown = config?.onError): void => {
    const error = asError(err, 'InternalError');
    try {
      if (typeof onError === 'function') onError(error);
    } catch {
      /* a throwing onError must not break the SDK or the page */
    }
    if (!config || config.debug) console.warn(`[edge-personalize] ${error.name}: ${error.message}`);
  };

  /** A Worker call once it has started; `fallback` when it has not or the call fails (reported). */
  const ask = async <T, F>(fn: (w: WorkerHandle) => Promise<T>, fallback: F): Promise<T | F> =>
    workerReady && (await workerReady)
      ? call(fn).catch((err: unknown) => {
          report(err);
          return fallback;
        })
      : fallback;

  /** Races a Worker call with the Worker's death, so nothing waits forever on a dead Worker. */
  const call = <T>(fn: (w: WorkerHandle) => Promise<T>): Promise<T> => {
    if (!worker) return Promise.reject(sdkError('WorkerUnavailableError', 'the Worker is not running'));
    return Promise.race([fn(worker), worker.failed]);
  };

  const startPersonalization = (): void => {
    const c = config!;
    try {
      worker = startWorker(c.workerUrl ?? env.workerUrl);
    } catch (err) {
      report(err);
      ranker?.fail();
      return;
    }
    worker.failed.catch((err) => {
      report(err);
      ranker?.fail();
    });

    workerReady = call((w) =>
      w.api.start({
        modelUrl: new URL(c.modelUrl, location.href).toString(),
        backend: c.backend,
        retention: c.retention,
        sessionIdleMs: c.sessionIdleMs,
        // The device's own training settings apply only when the server announces none (its
        // `training`, see federated/contribution/serverModel.ts); they are the server's defaults
        // (lr 0.5 × 2 epochs, the earlier values, undid the pretrained demo model in ten honest
        // rounds).
        federated: c.updateEndpoint
          ? {
              endpoint: new URL(c.updateEndpoint, location.href).toString().replace(/\/$/, ''),
              minNewEvents: c.trainAfterEvents,
              localEpochs: 1,
              lr: 0.02,
            }
          : null,
      }),
    ).then(
      (status) => {
        for (const e of status.errors) report(e);
        void ranker?.ready();
        void lists?.refresh();
        // tfjs and the backend come up after the first ranking; report what that start met.
        const seen = status.errors.length;
        call((w) => w.api.modelReady()).then((ready) => {
          for (const e of ready.errors.slice(seen)) report(e);
          if (c.updateEndpoint) scheduleContribution();
        }, report);
        return true;
      },
      (err) => {
        report(err);
        ranker?.fail();
        return false;
      },
    );
    // Events an earlier page of this tab could not hand over (it was left too soon) go first,
    // right after start() (the Worker runs calls in order).
    queue ??= new EventQueue(storageOf('sessionStorage'), record, report);
    queue.resume();
    if (c.autoTrack) {
      try {
        const trackFn = (type: string, props: { itemId: string }): void => api.track(type, props);
        const stopClicks = startClickTracking(document, trackFn);
        // The page's views now (kept even if the shopper leaves at once); those added later are
        // watched by the on-demand module.
        const seen = new WeakSet<Element>();
        trackViews(document, seen, trackFn);
        let stopViews: (() => void) | null = null;
        let stopped = false;
        loadOnDemand().then((m) => {
          if (!stopped) stopViews = m.observeViews(document, seen, trackFn);
        }, report);
        stopAutoTrack = () => {
          stopped = true;
          stopClicks();
          stopViews?.();
        };
      } catch (err) {
        report(err);
      }
    }
  };

  /** Once per page, when the page has loaded and is idle: train and upload if eligible. */
  const scheduleContribution = (): void => {
    const go = (): void => {
      const idle = (globalThis as { requestIdleCallback?: (cb: () => void, o: { timeout: number }) => void }).requestIdleCallback;
      const run = (): void => void api.contribute();
      if (idle) idle(run, { timeout: 5000 });
      else setTimeout(run, 1000);
    };
    if (document.readyState === 'complete') go();
    else addEventListener('load', go, { once: true });
  };

  const stopPersonalization = (): void => {
    queue?.clear();
    stopAutoTrack?.();
    stopAutoTrack = null;
    worker?.terminate();
    worker = null;
    workerReady = null;
    ranker?.fail('no_consent');
  };

  const api: EdgePersonalize = {
    init(input) {
      try {
        if (config) return report(sdkError('ConfigError', 'init() was called more than once; the first configuration stays'));
        const { config: resolved, problems } = resolveConfig((input ?? {}) as Partial<EdgePersonalizeConfig>);
        if (!resolved) {
          // Unusable config: tell the site (its onError if it gave one) and show the page as it is.
          for (const p of problems) report(p, (input as { onError?: unknown } | undefined)?.onError);
          if (env.snippet) clearTimeout(env.snippet.timer);
          removeHideSheet(env.snippet?.sheet ?? null);
          return;
        }
        config = resolved;
        for (const p of problems) report(p);
        // Take over from the snippet: its timer no longer reveals the slots, the ranker does.
        if (env.snippet) clearTimeout(env.snippet.timer);
        sheet = env.snippet?.sheet ?? installHideSheet();
        const t0 = env.snippet?.t0 ?? performance.now();
        ranker = new SlotRanker({
          doc: document,
          sheet,
          firstDeadline: t0 + Math.min(resolved.hideTimeoutMs, env.snippet?.timeout ?? Infinity),
          timeoutMs: resolved.hideTimeoutMs,
          rank: (slots) => call((w) => w.api.rank({ slots })),
          onRanked: (info) => {
            firstRankedAt ??= info.at;
            counts[info.reordered ? 'ranked' : 'kept']++;
            try {
              resolved.onRanked?.(info);
            } catch {
              /* the site's callback must not break the SDK */
            }
          },
          onError: report,
          measure: (fn) => meter.measure(fn),
        });
        if (resolved.onVitals) {
          const onVitals = resolved.onVitals;
          const vitalsUrl = sdkFile('edge-personalize.vitals.js');
          // A URL only known at run time: bundlers leave it alone and the browser loads it on demand.
          import(/* webpackIgnore: true */ /* @vite-ignore */ vitalsUrl).then(
            (m: { startVitals(report: typeof onVitals, meter: SdkCostMeter): void }) => m.startVitals(onVitals, meter),
            (err) => report(sdkError('InternalError', `cannot load ${vitalsUrl}: ${asError(err, 'InternalError').message}`)),
          );
        }
        consent = resolveConsent(resolved.consent, readConsentRecord(storageOf('localStorage')), readPrivacySignals());
        ranker.start();
        initialized();
        // Calls an earlier page of this tab queued in the snippet before it was left (the SDK had
        // not arrived): recorded with their own time if consent is granted now, else dropped.
        const queued = takeQueuedCalls(storageOf('sessionStorage'));
        if (consent.state === 'granted') startPersonalization();
        else ranker.fail('no_consent');
        for (const c of queued) trackAt(c.type, c.props, c.at ?? Date.now());
        for (const [method, args] of early.splice(0)) (api as unknown as Record<string, (...a: unknown[]) => void>)[method]!(...args);
      } catch (err) {
        report(err);
        ranker?.fail();
      }
    },

    track(type, props) {
      try {
        if (!config) {
          early.push(['track', [type, props]]);
          return;
        }
        trackAt(type, props, Date.now());
      } catch (err) {
        report(err);
      }
    },

    consent(state) {
      try {
        if (!config) {
          early.push(['consent', [state]]);
          return;
        }
        if (state !== 'granted' && state !== 'denied' && state !== 'pending') {
          return report(sdkError('ConfigError', `consent(): ${JSON.stringify(state)} is not granted, denied or pending`));
        }
        const record = { state, at: Date.now() };
        writeConsentRecord(storageOf('localStorage'), record);
        applyConsent(resolveConsent(config.consent, record, readPrivacySignals()));
      } catch (err) {
        report(err);
      }
    },

    async rank() {
      if (!workerReady || !(await workerReady)) return;
      await Promise.all([lists?.refresh(), ranker?.rerankOffscreen().catch(report)]);
    },

    rankItems(label, itemIds, options = {}) {
      // The deadline runs from this call, also while the on-demand module loads; checks and ranking are there.
      const t0 = performance.now();
      return loadOnDemand().then(
        (m) =>
          m.rankItems(
            (lists ??= new m.RankedLists(listRanking)),
            report,
            [label, itemIds, options],
            config?.hideTimeoutMs ?? DEFAULT_HIDE_TIMEOUT_MS,
            t0,
          ),
        (err: unknown) => {
          report(err);
          return Array.isArray(itemIds) ? itemIds.map(String) : [];
        },
      );
    },

    async status() {
      let w: WorkerStatus | null = null;
      if (worker) w = await call((h) => h.api.status()).catch(() => null);
      return { initialized: config !== null, consent, worker: w, slots: { ...counts }, firstRankedAt };
    },

    topPicks(count = 10) {
      return ask((w) => w.api.topPicks(count), []);
    },

    async exportData() {
      queue?.persist(); // what waits in memory is on the device too
      return (await loadOnDemand())
        .readDeviceData([storageOf('localStorage'), storageOf('sessionStorage')], ['edge-personalize.consent', PENDING_KEY, QUEUED_KEY])
        .catch((err: unknown) => {
          throw asError(err, 'StorageUnavailableError');
        });
    },

    async eraseData() {
      queue?.clear();
      takeQueuedCalls(storageOf('sessionStorage'));
      writeConsentRecord(storageOf('localStorage'), null);
      // The Worker holds the database open: it closes and deletes it and forgets its state.
      try {
        if (worker) await call((w) => w.api.forget());
        else await (await loadOnDemand()).deleteDeviceDatabase();
      } catch (err) {
        throw asError(err, 'StorageUnavailableError');
      }
      if (config) applyConsent(resolveConsent(config.consent, null, readPrivacySignals()));
    },

    contribute() {
      return ask((w) => w.api.contribute(), null);
    },

    explain(itemId) {
      return ask((w) => w.api.explain(String(itemId)), null);
    },

    push(entry) {
      try {
        // Any method of the API but push itself (the snippet queues calls as arrays).
        if (!Array.isArray(entry) || entry[0] === 'push' || !{}.hasOwnProperty.call(api, entry[0])) {
          return report(sdkError('ConfigError', `edgePersonalize.push(): expected [an API method, ...args], got ${JSON.stringify(entry)}`));
        }
        const [method, ...args] = entry as [string, ...unknown[]];
        const result = (api as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
        if (result instanceof Promise) result.catch(report);
      } catch (err) {
        report(err);
      }
    },
  };
  // Every public call is SDK work on the page's main thread: count it (see onVitals).
  const methods = api as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of Object.keys(api)) {
    const fn = methods[name]!;
    methods[name] = (...args: unknown[]) => meter.measure(() => fn(...args));
  }
  return api;
}
