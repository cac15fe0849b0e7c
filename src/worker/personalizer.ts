import { asError, sdkError, type SdkError } from '../errors';
import { TEST_BUILD } from './testBuild';
import { deleteDeviceDatabase } from '../store/deviceData';
import { HistoryStore, type StoredSession } from '../store/historyStore';
import type { TrackedEvent } from '../track/trackedEvent';
import type { FetchedModel } from './mlRuntime';
import type { FederatedState } from '../federated/federatedState';
import type { ContributionHost, ContributionResult } from '../federated/contribution/types';
import type { ModelFiles } from '../model/plain/modelFiles';
import { ReadoutScorer } from '../model/plain/readoutScorer';
import { EventWriter } from './eventWriter';
import { revalidateModel } from './modelCache';
import { readModelFiles } from './readModelFiles';
import { explainItem, itemSequences, topPicksFor } from './sessionQueries';
import { SessionTracker } from './sessionTracker';
import type {
  Explanation,
  RankRequest,
  RankResult,
  RecordResult,
  SessionSummary,
  WorkerApi,
  WorkerStartOptions,
  WorkerStatus,
  WorkerTimings,
} from './protocol';

type MlRuntime = typeof import('./mlRuntime');

/** How many problems the status keeps. */
const MAX_ERRORS = 20;

/**
 * The Worker's state and logic behind {@link WorkerApi}: the history store, the model, and the
 * current session ({@link SessionTracker}). Operations run one at a time (a promise chain), so an event
 * recorded while the model loads is read exactly once: either by the restore after loading or
 * by the step that follows it.
 *
 * Degrades rather than fails: without IndexedDB the session lives in memory for this page; a
 * backend that cannot start is replaced by the next one. Only a model that cannot be loaded, or
 * no backend at all, makes `start()` reject (named error), and the page keeps its own order.
 */
export class Personalizer implements WorkerApi {
  /** Test build only: the values of each secure report before masking (see testBuild.ts). */
  private readonly _testReports: number[][] = [];
  private _options: WorkerStartOptions | null = null;
  private _store: HistoryStore | null = null;
  private _model: FetchedModel | null = null;
  /** The model's files, decoded: enough to rank from a stored state before tfjs is up. */
  private _files: { files: ModelFiles; index: Map<string, number>; scorer: ReadoutScorer } | null = null;
  private _modelReady: Promise<void> | null = null;
  /** The `model.json` URL of the model in use. */
  private _modelUrl: string | null = null;
  private _backend: WorkerStatus['backend'] = null;
  private readonly _tracker = new SessionTracker();
  private _chain: Promise<unknown> = Promise.resolve();
  private readonly _writer = new EventWriter(
    (op) => this._serial(op),
    (events) => this._writeEvents(events),
  );
  private readonly _errors: WorkerStatus['errors'] = [];
  private _federated: FederatedState | null = null;
  private _serverVersion: string | null = null;
  private _lastContribution: ContributionResult | null = null;
  /** The timings the status reports (the last GRU step's is the tracker's). */
  private readonly _timings: Omit<WorkerTimings, 'lastAdvanceMs'> = {
    runtimeLoadMs: null,
    backendInitMs: null,
    modelFetchMs: null,
    modelBuildMs: null,
    modelSource: null,
    sessionRestoreMs: null,
    lastRankMs: null,
    lastRankPath: null,
    scriptAt: performance.timeOrigin + performance.now(),
    startAt: null,
    rankableAt: null,
    readyAt: null,
  };

  constructor(
    private readonly _loadRuntime: () => Promise<MlRuntime>,
    private readonly _wasmBase: string,
    private readonly _openStore: () => Promise<HistoryStore> = () => HistoryStore.open(),
  ) {}

  /**
   * Opens the store, reads the model's files and the current session's saved state, and resolves
   * as soon as the Worker can rank: a returning shopper's slots are scored from the saved state in
   * plain JavaScript ({@link ReadoutScorer}) while tfjs loads. tfjs, the backend and the model's
   * tensors follow; {@link modelReady} tells when (and reports a backend that could not start).
   */
  start(options: WorkerStartOptions): Promise<WorkerStatus> {
    return this._serial(async () => {
      this._options = options;
      this._timings.startAt = performance.timeOrigin + performance.now();
      const storeReady = this._openStore().then(
        (store) => (this._store = store),
        (err) => this._note(storageError(err)),
      );
      // With federated learning on, the newest published version (learned from the server on an
      // earlier page) replaces the page's model URL; the page's URL stays the fallback.
      const urls = [options.modelUrl];
      if (options.federated) {
        await storeReady;
        this._federated = (await this._store?.getMeta<FederatedState>('federated').catch(() => undefined)) ?? emptyFederatedState();
        if (this._federated.modelUrl) urls.unshift(this._federated.modelUrl);
      }
      const read = await readModelFiles(urls);
      this._timings.modelFetchMs = read.ms;
      this._timings.modelSource = read.source;
      this._adoptFiles(read.files, read.url);
      await storeReady;
      const r = performance.now();
      await this._readSavedSession(read.files.manifest.modelVersion);
      this._timings.sessionRestoreMs = performance.now() - r;
      this._timings.rankableAt = performance.timeOrigin + performance.now();
      this._modelReady = this._loadTf(options);
      this._modelReady.catch(() => undefined); // reported through modelReady()
      return await this._status();
    });
  }

  /** Resolves when tfjs and the model's tensors are up (with the status, whose `errors` name any backend fallback); rejects if no backend starts. */
  async modelReady(): Promise<WorkerStatus> {
    if (!this._modelReady) throw sdkError('ModelNotReadyError', 'start() has not run');
    await this._modelReady;
    return await this._status();
  }

  /** tfjs, a backend, the model's tensors; then the session state is brought up to date with the GRU. */
  private async _loadTf(options: WorkerStartOptions): Promise<void> {
    // Let the page's first rank request (sent as soon as start() answers) run before tfjs'
    // modules are evaluated on this thread.
    await new Promise((resolve) => setTimeout(resolve, 20));
    let t = performance.now();
    const ml = await this._loadRuntime();
    this._timings.runtimeLoadMs = performance.now() - t;
    const backend = await ml.startBackend(options.backend, this._wasmBase);
    this._backend = backend.report;
    if (backend.failures.length > 0) {
      this._note(sdkError('BackendUnavailableError', `${backend.failures.join('; ')}; running on ${backend.report.name}`));
    }
    this._timings.backendInitMs = backend.initMs;
    await this._serial(async () => {
      t = performance.now();
      this._model = ml.buildModel(this._files!.files);
      this._timings.modelBuildMs = performance.now() - t;
      if (this._store) await this._restoreSession();
      else this._tracker.stepPending(this._model);
      this._timings.readyAt = performance.timeOrigin + performance.now();
    });
    // The model was read cache-first: ask the network whether its URL now serves another version,
    // so that a newly published model is used from the next page on.
    void revalidateModel(this._modelUrl!, this._files!.files.manifest.modelVersion);
  }

  /** Makes `files` the model the Worker ranks with before (and builds after) tfjs is up. */
  private _adoptFiles(files: ModelFiles, url: string): void {
    this._files = {
      files,
      index: new Map(files.vocab.map((id, i) => [id, i])),
      scorer: new ReadoutScorer(files.manifest.config, files.dense, files.items),
    };
    this._modelUrl = url;
  }

  /** The current session and, if it is current for this model version, its saved state (no tfjs needed). */
  private async _readSavedSession(modelVersion: string): Promise<void> {
    if (!this._store || !this._options) return;
    await this._tracker.load(this._store, this._options.sessionIdleMs, modelVersion);
  }

  record(events: TrackedEvent[]): Promise<RecordResult> {
    return this._writer.add(events);
  }

  /** One chunk of a batch (see {@link EventWriter}): one transaction, then one model update and one state save. */
  private async _writeEvents(events: TrackedEvent[]): Promise<RecordResult> {
    const options = this._options;
    if (!options) return { handedOver: false, stored: 0, duplicates: 0, pruned: 0 };
    if (!this._store) {
      this._tracker.record(this._tracker.placeInMemory(events, options.sessionIdleMs), this._model);
      return { handedOver: true, stored: 0, duplicates: 0, pruned: 0 };
    }
    try {
      const r = await this._store.append(events, options.sessionIdleMs, options.retention);
      this._tracker.record(r.placed, this._model);
      if (r.placed.length > 0) await this._saveState();
      return { handedOver: true, stored: r.placed.length, duplicates: r.duplicates, pruned: r.pruned };
    } catch (err) {
      const error = storageError(err);
      this._note(error);
      this._tracker.record(this._tracker.placeInMemory(events, options.sessionIdleMs), this._model);
      return { handedOver: true, stored: 0, duplicates: 0, pruned: 0, error: { name: error.name, message: error.message } };
    }
  }

  rank(request: RankRequest): Promise<RankResult> {
    // Before tfjs is up, a state that is current can be scored in plain JS; one that needs GRU
    // steps first (events since it was saved) waits for the model.
    if (!this._model && !(this._files && this._tracker.rankable)) {
      return (this._modelReady ?? Promise.reject(new Error('start() has not run'))).then(() => this.rank(request));
    }
    return this._serial(async () => {
      const t = performance.now();
      const index = this._model?.index ?? this._files!.index;
      const empty = { scores: request.slots.map(() => null) };
      const state = this._tracker.state;
      if (state.items.length === 0) return { ...empty, reason: 'no_history' as const, ms: performance.now() - t };
      const wanted = new Map<string, number>();
      for (const slot of request.slots)
        for (const id of slot) {
          const i = index.get(id);
          if (i !== undefined) wanted.set(id, i);
        }
      if (wanted.size === 0) return { ...empty, reason: 'no_known_items' as const, ms: performance.now() - t };
      const ids = [...wanted.keys()];
      const candidates = Int32Array.from(ids.map((id) => wanted.get(id)!));
      const scores = this._model ? this._model.model.scoreState(state, candidates)! : this._files!.scorer.score(state, candidates)!;
      this._timings.lastRankPath = this._model ? (this._backend?.name ?? null) : 'js';
      const byId = new Map(ids.map((id, j) => [id, scores[j]!]));
      const result: RankResult = {
        scores: request.slots.map((slot) => {
          const s = slot.map((id) => byId.get(id) ?? null);
          return s.some((v) => v !== null) ? s : null;
        }),
        ms: 0,
      };
      result.ms = this._timings.lastRankMs = performance.now() - t;
      return result;
    });
  }

  async topPicks(count: number): Promise<Array<{ itemId: string; score: number }>> {
    await this._modelReady;
    return this._serial(async () => topPicksFor(this._requireModel(), this._tracker.state, count));
  }

  async explain(itemId: string): Promise<Explanation | null> {
    await this._modelReady;
    return this._serial(async () => explainItem(this._requireModel(), this._tracker.state, itemId));
  }

  async contribute(): Promise<ContributionResult> {
    await this._modelReady?.catch(() => undefined);
    const fed = this._options?.federated;
    if (!fed || !this._model)
      return this._contributed({
        outcome: 'skipped',
        reason: fed ? 'the model is not loaded' : 'federated learning is off (no updateEndpoint)',
      });
    const state = (this._federated ??= emptyFederatedState());
    const host: ContributionHost = {
      state,
      adoptServerModel: async (version, url) => {
        this._serverVersion = version;
        if (version !== this._model?.manifest.modelVersion) await this._swapModel(url);
      },
      // In the serial chain: the sessions are read in the terms of the model that ranks them.
      snapshot: () =>
        this._serial(async () => {
          const model = this._model!;
          const store = this._store;
          return {
            files: model.files,
            storedEvents: store ? await store.countEvents() : 0,
            sessions: itemSequences(model.index, store ? await store.allSessions() : []),
          };
        }),
      saveState: async () => {
        await this._store?.putMeta('federated', state).catch((err: unknown) => this._note(storageError(err)));
      },
    };
    // The flow lives in federated/ and its chunk (with the training code) loads on first use.
    // Withdrawn consent terminates this Worker, which ends a contribution wherever it is.
    // The test build keeps each secure report's values before masking, for the e2e test to read
    // from status() (the only way they leave the device, and only in that build).
    // The training and the report run in a Worker of their own on this Worker's backend, so that
    // rank calls keep being answered (runTrainingJob.ts).
    const withWorker = this._backend ? { ...fed, trainingWorker: { backend: this._backend.name } } : fed;
    const options = TEST_BUILD
      ? { ...withWorker, onSecureReport: (r: { codes: Int8Array }) => this._testReports.push(Array.from(r.codes)) }
      : withWorker;
    const run = async (): Promise<ContributionResult> => (await import('../federated/contribution/contribute')).contribute(options, host);
    // One tab at a time: the others skip rather than wait (Web Locks; absent → just run).
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    try {
      const result = locks
        ? await locks.request('edge-personalize-federated', { ifAvailable: true }, (lock) =>
            lock ? run() : { outcome: 'skipped' as const, reason: 'another tab is contributing' },
          )
        : await run();
      return this._contributed(result);
    } catch (err) {
      const e = asError(err, 'InternalError');
      this._note(e);
      return this._contributed({ outcome: 'retry_later', reason: `${e.name}: ${e.message}` });
    }
  }

  private _contributed(result: ContributionResult): ContributionResult {
    this._lastContribution = result;
    return result;
  }

  /**
   * Loads another model version and swaps it in atomically (inside the serial chain, so no rank
   * sees half of it); the session state is recomputed with the new weights and the URL remembered
   * for the next page. The old model's tensors are freed.
   */
  private async _swapModel(manifestUrl: string): Promise<void> {
    const { files } = await readModelFiles([manifestUrl]);
    const ml = await this._loadRuntime();
    await this._serial(async () => {
      const old = this._model;
      this._model = ml.buildModel(files);
      this._adoptFiles(files, manifestUrl);
      old?.model.dispose();
      if (this._federated) this._federated.modelUrl = manifestUrl;
      await this._restoreSession();
    });
    if (this._federated) await this._store?.putMeta('federated', this._federated).catch(() => undefined);
  }

  forget(): Promise<void> {
    // Batches that arrived before the erase are erased with the rest, not written after it.
    this._writer.drop();
    return this._serial(async () => {
      this._store?.close();
      this._store = null;
      this._tracker.clear();
      this._federated = this._options?.federated ? emptyFederatedState() : null;
      this._lastContribution = null;
      await deleteDeviceDatabase();
      // A fresh, empty store for whatever the shopper does next (if consent still allows it).
      this._store = await this._openStore().catch((err: unknown) => {
        this._note(storageError(err));
        return null;
      });
    });
  }

  status(): Promise<WorkerStatus> {
    return this._status();
  }

  /** Runs `op` after every earlier operation; a failed operation does not block later ones. */
  private _serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this._chain.then(op, op);
    this._chain = run.catch(() => undefined);
    return run;
  }

  private _requireModel(): FetchedModel {
    if (!this._model) throw sdkError('ModelNotReadyError', 'the model is not loaded (start() failed or has not run)');
    return this._model;
  }

  /** Reads the current session from the store; reuses its saved model state when it is current, else replays its events. */
  private async _restoreSession(): Promise<void> {
    if (!this._store || !this._options) return;
    const outcome = await this._tracker.load(this._store, this._options.sessionIdleMs, this._model!.manifest.modelVersion);
    if (outcome !== 'stale') return;
    await this._tracker.replay(this._store, this._model!).catch((err: unknown) => this._note(storageError(err)));
  }

  /** Saves the session's model state (once the model is up) so the next page can rank without tfjs. */
  private async _saveState(): Promise<void> {
    if (!this._store || !this._model) return;
    try {
      await this._tracker.save(this._store, this._model);
    } catch (err) {
      this._note(storageError(err));
    }
  }

  private _note(err: unknown): void {
    const e = asError(err, 'InternalError');
    this._errors.push({ name: e.name, message: e.message });
    if (this._errors.length > MAX_ERRORS) this._errors.shift();
  }

  /**
   * What IndexedDB holds now: every tab of the origin writes there, so an idle tab's own counts
   * would say nothing (read outside the serial chain, so a backlog does not delay it). Null
   * without a store.
   */
  private async _stored(): Promise<{ events: number; session: StoredSession | null } | null> {
    if (!this._store || !this._options) return null;
    try {
      const [events, session] = await Promise.all([
        this._store.countEvents(),
        this._store.currentSession(Date.now(), this._options.sessionIdleMs),
      ]);
      return { events, session };
    } catch {
      return null;
    }
  }

  private async _status(): Promise<WorkerStatus> {
    const model = this._model;
    const { session: mine, state } = this._tracker;
    const stored = await this._stored();
    const s = stored ? stored.session : mine;
    const session: SessionSummary | null = s
      ? {
          id: s.id,
          startedAt: s.startedAt,
          lastAt: s.lastAt,
          eventCount: s.eventCount,
          // What this page's model has read: the stored session's items once this page has read it.
          items: model && mine?.id === s.id ? state.items.map((i) => model.vocab[i]!) : [],
        }
      : null;
    return {
      ready: model !== null && this._timings.readyAt !== null,
      rankable: this._timings.rankableAt !== null,
      backend: this._backend,
      modelVersion: model?.manifest.modelVersion ?? this._files?.files.manifest.modelVersion ?? null,
      modelItems: model?.vocab.length ?? this._files?.files.vocab.length ?? null,
      timings: { ...this._timings, lastAdvanceMs: this._tracker.lastAdvanceMs },
      session,
      storedEvents: stored?.events ?? 0,
      errors: [...this._errors],
      federated: this._options?.federated
        ? {
            endpoint: this._options.federated.endpoint,
            uploads: [...(this._federated?.uploads ?? [])],
            pendingUpload: !!this._federated?.pending,
            serverVersion: this._serverVersion,
            lastResult: this._lastContribution,
            ...(TEST_BUILD ? { testSecureReports: this._testReports } : {}),
          }
        : null,
    };
  }
}

/** Any storage failure (IndexedDB missing, refused, broken, over quota twice) as one named error. */
function storageError(err: unknown): SdkError {
  const e = asError(err, 'StorageUnavailableError');
  return sdkError(
    'StorageUnavailableError',
    `IndexedDB failed (${e.name}: ${e.message}); the session is kept in memory for this page only`,
  );
}

/**
 * A device that has never contributed. Defined here rather than in `federated/` so that the
 * Worker does not load the federated chunk (and tfjs with it) at start.
 */
function emptyFederatedState(): FederatedState {
  return { contributedAtEvents: 0, modelUrl: null, pending: null, uploads: [] };
}
