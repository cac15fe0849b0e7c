import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { checkManifest } from '../model/plain/modelFile';
import type { ModelConfig } from '../model/plain/modelConfig';
import { decodeUpdate, updateLayout, type UpdateLayout } from '../federated/modelUpdate';
import { DataDirLock } from './dataDirLock';
import { accumulate, applyFedAvg, fedAvgDenominator, trainableVector, withTrainable } from './fedAvg';
import { epsilonFor } from './privacyAccountant';
import { PrivacyLedger, roundNoiseMultiplier, type RoundPrivacy } from './privacyLedger';
import { ServerConfigError, type ResolvedOptions } from './serverOptions';
import { readUpdateLog, type LogMeta, type UpdateLog } from './updateLog';
import { DataDirError, RECENT_ROUNDS, TOKEN_PREFIX, UpdateStore, type ClosedRound, type ServerState } from './updateStore';
import { maxUpdateBytes, type AcceptedUpdate, type UpdateRejection, type ValidationContext } from './validateUpdate';
import { checkNoise, type NoiseCheck } from './noiseCheck';
import { addShare } from '../federated/secureAggregation/additiveShares';
import { decodeSecureReport, type SecureReport } from '../federated/secureAggregation/secureReport';
import type { AggregateResponse } from './secureAggregation/helperAggregator';
import { HelperRefusal } from './secureAggregation/helperClient';
import {
  acceptedIds,
  announce,
  combine,
  maxReportBytes,
  helperRequest,
  leaderSum,
  type AcceptedReport,
  type SecureAggregation,
  type SecureContext,
} from './secureAggregation/leaderShares';
import { noiseCohort } from './serverOptions';
import { VersionStore, type MasterModel } from './versionStore';
import { RoundRows, RowSums } from './roundRows';
import { SketchSums } from './sketchSums';
import type { SketchAnnouncement } from '../federated/announcedSketch';
import { rowsPerRound } from './rowsPerRound';
import { appendItems, checkNewItems, type CatalogueItem } from './catalogue';
import { toRowRanges, type RowRanges } from '../federated/announcedRows';

/** One accepted update as the status endpoint shows it: no address, no content. */
export interface RecentUpdate {
  time: string;
  round: number;
  modelVersion: string;
  staleness: number;
  bytes: number;
}

/** The answer to an accepted update. */
export interface AcceptResult {
  roundId: string;
  received: number;
  target: number;
}

const RECENT_KEPT = 50;

/**
 * Rounds of federated averaging: collects accepted updates of the open round (durably, in its
 * log), closes the round when it reaches its target or, at its deadline, has the minimum (else
 * the deadline moves on), publishes the next version and opens the next round.
 *
 * Staleness: an update trained on the current version counts fully; one trained `s ≤
 * maxStaleness` versions back is accepted with weight × `stalenessDecay^s` (devices train for a
 * while and rounds close meanwhile); older ones are refused (`stale_version`).
 *
 * Everything here is synchronous (only the acknowledgement waits for the group fsync), so one
 * update is validated, logged and summed without another request interleaving, and a round
 * closes between two updates, never during one.
 */
export class RoundManager {
  private readonly store: UpdateStore;
  private readonly versions: VersionStore;
  /** The model's shape: the dense tensors never change; `numItems` grows with the catalogue. */
  private config: ModelConfig;
  private ledger: PrivacyLedger;
  private state: ServerState;
  private master: MasterModel;
  private log!: UpdateLog;
  private sum!: Float64Array;
  private weights: number[] = [];
  /** Nonces of the open round and of the closed rounds an update could still be accepted for. */
  private readonly nonces = new Map<string, number>();
  private readonly recent: RecentUpdate[] = [];
  private readonly counts = { acceptedSinceStart: 0, rejectedSinceStart: {} as Record<string, number> };
  private readonly lock: DataDirLock;
  /** Why the last attempt to close the round failed (null: it did not): no update is accepted meanwhile. */
  private closeFailure: string | null = null;
  /** Why the open round's log could not be opened (null: it is open). */
  private logFailure: string | null = null;
  private lockLost = false;
  /** Bytes the current version takes on disk: a close needs about that much free space. */
  private versionBytes = 0;
  /** The start-up noise check's figures (for the status page). */
  readonly noiseCheck: NoiseCheck;
  /** Secure aggregation (null: plain rounds, the server reads each update). */
  private readonly secure: SecureAggregation | null;
  /** Secure rounds: the leader's running sum of its shares (mod 2^bits), and the helper request in flight. */
  private shares: Uint32Array = new Uint32Array(0);
  private summing: Promise<void> | null = null;
  /** Why the last request to the helper failed (null: it did not), and when to ask again. */
  private helperFailure: string | null = null;
  private helperRetryAt = 0;
  /** The rows of the rounds (see roundRows.ts) and the open round's sum of row updates (plain rounds). */
  private rows!: RoundRows;
  private rowSums!: RowSums;
  /** The open round's sum of item sketches (plain rounds; a secure round's comes with the helper's answer). */
  private sketchSums!: SketchSums;
  /** Rows per round as the options and the model allow (see rowsPerRound.ts). */
  private rowsPerRound: number;
  /** Set by {@link shutdown}: a helper answer arriving later changes nothing. */
  private stopped = false;

  constructor(private readonly opts: ResolvedOptions) {
    this.secure = opts.secureAggregation;
    const manifestPath = join(opts.modelDir, 'model.json');
    if (!existsSync(manifestPath)) throw new ServerConfigError(`model directory not found: ${opts.modelDir} (expected model.json in it)`);
    const baseVersion = checkManifest(JSON.parse(readFileSync(manifestPath, 'utf8'))).modelVersion;
    this.store = new UpdateStore(opts.dataDir);
    this.lock = DataDirLock.acquire(opts.dataDir);
    try {
      this.versions = new VersionStore(this.store.versionsDir);
      const saved = this.store.loadState(opts.delta);
      if (saved) {
        if (saved.baseVersion !== baseVersion) {
          throw new DataDirError(
            `${opts.dataDir} holds rounds of model ${saved.baseVersion}, not ${baseVersion}: use another --data directory`,
          );
        }
        this.state = saved;
        this.master = this.versions.readMaster(this.currentVersion);
      } else {
        this.master = this.versions.importBase(opts.modelDir);
        const now = opts.now();
        this.state = {
          formatVersion: 2,
          baseVersion,
          versions: [baseVersion],
          versionsPublished: 1,
          round: { id: 1, openedAt: now, deadline: now + opts.roundDeadlineMs },
          closed: [],
          totals: { rounds: 0, updates: 0 },
          ledger: null,
          budgetSpent: false,
        };
      }
      this.config = this.master.weights.config;
      this.rowsPerRound = rowsPerRound(this.config, this.secure?.bits ?? null, opts.rowsPerRound, opts.sketchBuckets);
      this.rows = RoundRows.resume(this.config, this.rowsPerRound, this.state.rows, this.state.round.id, !saved, opts.sketchBuckets);
      if (opts.sketchBuckets > 0 && !this.secure)
        opts.log(
          `item sketch of ${opts.sketchBuckets} buckets without secure aggregation: this server reads each device's sketch (noised), and so which items it viewed; run it with --helper to see only the sum`,
        );
      this.state = { ...this.state, rows: this.rows.state };
      this.noiseCheck = checkNoise(opts, trainableVector(this.master.weights.dense, this.config), {
        values: this.rowsPerRound * this.config.embedDim,
        squaredNorm: this.rowsPerRound * meanSquaredRowNorm(this.master.weights.items, this.config.embedDim),
      });
      this.ledger = new PrivacyLedger(opts.delta, this.state.ledger ?? undefined);
      this.keepVersionWindow();
      this.store.saveState(this.state);
      this.store.writeCurrent(this.currentVersion);
      this.store.sealClosedLogs(this.state.round.id);
      this.store.pruneNonces(this.oldestNonceRound());
      this.versions.pruneMasters(new Set([this.currentVersion]));
      this.versions.pruneVersions(new Set(this.state.versions));
      this.versionBytes = this.versions.sizeOf(this.currentVersion);
      for (const [n, r] of this.store.loadNonces(this.oldestNonceRound(), this.state.round.id)) this.nonces.set(n, r);
      this.openLog();
      if (!this.state.budgetSpent && this.fullRoundExceeds())
        this.spendBudget(`even a full round of equal weights would take the cumulative ε past the budget of ${opts.maxEpsilon}`);
    } catch (err) {
      this.lock.release();
      if (err instanceof DataDirError || err instanceof ServerConfigError || !(err as NodeJS.ErrnoException).code) throw err;
      // ENOSPC, EROFS, EACCES…: a data directory that cannot be used is one line, not a stack.
      throw new DataDirError(`cannot start on ${opts.dataDir}: ${(err as Error).message}`);
    }
    // A crash may have come between the last acknowledged update and the close it triggered.
    this.closeIfDue();
  }

  /** The version devices should train from. */
  get currentVersion(): string {
    return this.state.versions[this.state.versions.length - 1]!;
  }

  /** The model's shape (the dense tensors are the same for every version; the item table may grow). */
  get modelConfig(): ModelConfig {
    return this.config;
  }

  /**
   * The open round; `rows`: the item rows it trains, ascending, as inclusive ranges (see
   * announcedRows.ts); `sketch`: the item sketch devices append, when the round asks for one.
   */
  get round(): {
    id: string;
    target: number;
    received: number;
    deadline: string;
    samplingRate: number;
    rows: RowRanges;
    sketch?: SketchAnnouncement;
  } {
    const sketch = this.rows.sketchOf(this.state.round.id);
    return {
      id: String(this.state.round.id),
      rows: toRowRanges(this.rows.rowsOf(this.state.round.id)),
      ...(sketch ? { sketch } : {}),
      target: this.opts.targetUpdates,
      received: this.weights.length,
      deadline: new Date(this.state.round.deadline).toISOString(),
      samplingRate: this.samplingRate,
    };
  }

  /**
   * q = target / populationEstimate: the probability with which each device takes part in a
   * round (devices draw it once per round, see src/federated/contribution/roundParticipation.ts);
   * the accountant's sampling rate.
   */
  get samplingRate(): number {
    return Math.min(1, this.opts.targetUpdates / this.opts.populationEstimate);
  }

  /** Published versions, oldest first. */
  get publishedVersions(): readonly string[] {
    return this.state.versions;
  }

  /** What {@link validateUpdate} needs, as of now. */
  context(): ValidationContext {
    return {
      layoutFor: (roundId) => this.layoutFor(roundId),
      clipNorm: this.opts.clipNorm,
      noiseStd: this.opts.noiseStd,
      versionIndex: this.versionIndex(),
      currentIndex: this.state.versionsPublished - 1,
      maxStaleness: this.opts.maxStaleness,
      openRound: this.state.round.id,
      hasNonce: (n) => this.nonces.has(n),
      weightPolicy: { exampleCap: this.opts.exampleCap, stalenessDecay: this.opts.stalenessDecay },
    };
  }

  /** The layout of an update for round `roundId` (the open round's for a round not known). */
  layoutFor(roundId: string): UpdateLayout {
    return this.rows.layout(this.rows.knows(roundId) ? roundId : this.state.round.id);
  }

  /** A version's index among every version ever published (the state keeps only the newest few). */
  private versionIndex(): (version: string) => number | undefined {
    const first = this.state.versionsPublished - this.state.versions.length;
    const index = new Map(this.state.versions.map((v, i) => [v, first + i]));
    return (v) => index.get(v);
  }

  /**
   * Whether the open round can take one more update now, checked before a body is read and
   * again before an update is stored: nothing is acknowledged that the round could not close
   * with. Refused while the round is full (its close is pending or failing), after a failed
   * close, when the disk lacks the room for the close, once the privacy budget is spent, and
   * if this process no longer holds the data directory's lock.
   */
  admission(): (Pick<UpdateRejection, 'status' | 'reason' | 'message'> & { retryAfter?: number }) | null {
    if (this.lockLost || !this.lock.stillHeld()) {
      this.lockLost = true;
      return {
        status: 503,
        reason: 'storage_error',
        message: 'this server no longer holds the lock of its data directory; it accepts nothing until it is restarted',
        retryAfter: 300,
      };
    }
    if (this.state.budgetSpent) {
      return {
        status: 409,
        reason: 'privacy_budget_spent',
        message: `the privacy budget (ε ≤ ${this.opts.maxEpsilon}) is spent: no more rounds are published`,
      };
    }
    if (this.logFailure) {
      return {
        status: 503,
        reason: 'storage_error',
        message: `the log of round ${this.state.round.id} cannot be opened (${this.logFailure}); no update is accepted until it is`,
        retryAfter: 60,
      };
    }
    if (this.closeFailure) {
      return {
        status: 503,
        reason: 'storage_error',
        message: `round ${this.state.round.id} could not be closed (${this.closeFailure}); no update is accepted until it is`,
        retryAfter: 60,
      };
    }
    if (this.state.round.closing) {
      return {
        status: 503,
        reason: 'round_full',
        message: `round ${this.state.round.id} is being summed with the helper${this.helperFailure ? ` (${this.helperFailure})` : ''}; retry shortly`,
        retryAfter: 5,
      };
    }
    if (this.weights.length >= this.opts.targetUpdates) {
      return {
        status: 503,
        reason: 'round_full',
        message: `round ${this.state.round.id} is full and closing; retry shortly`,
        retryAfter: 5,
      };
    }
    const free = freeBytes(this.opts.dataDir);
    const perUpdate = this.maxBodyBytes();
    const needed = 2 * this.versionBytes + (this.opts.targetUpdates - this.weights.length + 1) * perUpdate + (1 << 20);
    if (free !== null && free < needed) {
      return {
        status: 503,
        reason: 'storage_full',
        message: `the data directory has ${free} bytes free, ${needed} are needed to store this round and publish its version`,
        retryAfter: 300,
      };
    }
    return null;
  }

  /**
   * Stores a validated update in the open round: appended to the log (throws `StorageError`,
   * leaving nothing changed) and added to the round's sum, synchronously, so its place is fixed
   * before any other request runs. The returned `durable` resolves once its record is fsynced
   * (group commit, see UpdateLog): only then may the device be told it was accepted.
   */
  accept(accepted: AcceptedUpdate, bytes: Uint8Array, tokenId?: string): { ack: AcceptResult; durable: Promise<void> } {
    const h = accepted.update.header;
    return this.appendToRound(this.logMeta(h.nonce, accepted.weight, accepted.staleness, h.modelVersion, tokenId), bytes, (meta) =>
      this.add(meta, h.roundId, accepted.update.delta, bytes.length),
    );
  }

  private logMeta(nonce: string, weight: number, staleness: number, modelVersion: string, tokenId?: string): LogMeta {
    return {
      nonce,
      weight,
      staleness,
      modelVersion,
      receivedAt: Math.round(this.opts.now() / 1000) * 1000,
      ...(tokenId ? { tokenId } : {}),
    };
  }

  /** Appends to the open round's log, then counts it in the round (`count`), synchronously; see {@link accept}. */
  private appendToRound(meta: LogMeta, bytes: Uint8Array, count: (meta: LogMeta) => void): { ack: AcceptResult; durable: Promise<void> } {
    this.log.append(meta, bytes);
    const durable = this.log.durable();
    count(meta);
    this.counts.acceptedSinceStart++;
    return { ack: { roundId: String(this.state.round.id), received: this.weights.length, target: this.opts.targetUpdates }, durable };
  }

  /** The body limit of an upload to the open round (a plain update, or a secure report). */
  maxBodyBytes(): number {
    const layout = this.layoutFor(String(this.state.round.id));
    return this.secure ? maxReportBytes(layout.length, this.secure.bits) : maxUpdateBytes(layout);
  }

  /** What {@link validateSecureReport} needs, as of now (secure aggregation only). */
  secureContext(): SecureContext {
    return {
      length: this.openLength(),
      clipNorm: this.opts.clipNorm,
      noiseStd: this.opts.noiseStd,
      secure: this.secure!,
      versionIndex: this.versionIndex(),
      currentIndex: this.state.versionsPublished - 1,
      maxStaleness: this.opts.maxStaleness,
      openRound: this.state.round.id,
      hasNonce: (n) => this.nonces.has(n),
    };
  }

  /**
   * Stores a validated secure report (the leader's share and the sealed seed, never an update in
   * the clear) in the open round's log and adds its share to the leader's sum, as {@link accept}.
   * Every report weighs 1: the aggregators cannot weight what they cannot read.
   */
  acceptSecure(accepted: AcceptedReport, bytes: Uint8Array, tokenId?: string): { ack: AcceptResult; durable: Promise<void> } {
    const h = accepted.report.header;
    return this.appendToRound(this.logMeta(h.reportId, 1, accepted.staleness, h.modelVersion, tokenId), bytes, (meta) => {
      addShare(this.shares, accepted.report.leaderShare, this.secure!.bits);
      this.note(meta, bytes.length);
    });
  }

  /** The secure round's announcement for `GET /v1/model` (null: plain rounds). */
  secureAnnouncement(): Record<string, unknown> | null {
    return this.secure ? announce(this.secure, this.state.round.id) : null;
  }

  /**
   * True when a participation token was already redeemed with an accepted update (kept, durably,
   * as long as an update for its round could still be accepted; a token is bound to its round).
   */
  tokenSpent(tokenId: string): boolean {
    return this.nonces.has(TOKEN_PREFIX + tokenId);
  }

  /**
   * Adds products to the catalogue (`body`: `{ items: [{ id, name?, category? }] }`): checked
   * all together (throws `CatalogueError`; nothing is stored then), stored durably in the state,
   * and published with the next version, appended to the vocabulary (see catalogue.ts), their
   * rows trained first from the round after. Returns each item's row.
   */
  addItems(body: unknown): { added: Array<{ id: string; row: number }>; publishedFrom: string } {
    const pending = this.state.catalogue?.pending ?? [];
    const known = new Set([...this.master.vocab, ...pending.map((i) => i.id)]);
    const items = checkNewItems(body, (id) => known.has(id));
    const categories = { ...(this.state.catalogue?.categories ?? {}) };
    for (const i of items) if (i.category !== undefined) categories[i.id] = i.category;
    const state: ServerState = { ...this.state, catalogue: { pending: [...pending, ...items], categories } };
    this.store.saveState(state);
    this.state = state;
    const first = this.master.vocab.length + pending.length;
    this.opts.log(`catalogue: ${items.length} items added; published with the version round ${this.state.round.id} closes`);
    return {
      added: items.map((i, k) => ({ id: i.id, row: first + k })),
      publishedFrom: `the version round ${this.state.round.id} publishes`,
    };
  }

  /** Counts a refusal by reason (for the status endpoint). */
  countRejection(reason: string): void {
    this.counts.rejectedSinceStart[reason] = (this.counts.rejectedSinceStart[reason] ?? 0) + 1;
  }

  /**
   * Closes the open round if it reached its target, or if its deadline passed and it has the
   * minimum; at a deadline without the minimum, moves the deadline on. A round whose close would
   * take the cumulative ε past the budget waits for more updates (more updates, more noise per
   * device's influence); once even a full round would exceed it, the budget is spent and the
   * server publishes nothing more. Never throws: a failure (disk full…) is logged, remembered
   * (no update is accepted meanwhile, see {@link admission}) and retried at the next tick.
   */
  closeIfDue(): void {
    if (this.state.budgetSpent) return;
    if (!this.lock.stillHeld()) {
      if (!this.lockLost)
        this.opts.log(`the lock ${this.lock.path} was removed or taken by another process: accepting nothing until restarted`);
      this.lockLost = true;
      return;
    }
    if (this.logFailure && !this.reopenLog()) return;
    if (this.secure) return this.closeSecureIfDue();
    const now = this.opts.now();
    const received = this.weights.length;
    const full = received >= this.opts.targetUpdates;
    const due = now >= this.state.round.deadline;
    try {
      if (full || (due && received >= this.opts.minUpdates)) {
        const realized = this.roundPrivacy(this.weights);
        const equal = this.roundPrivacy(new Array<number>(received).fill(1));
        const epsilon = this.ledger.epsilonAfter(realized);
        if (epsilon <= this.opts.maxEpsilon) {
          this.closeRound(now, realized, false);
        } else if (this.ledger.epsilonAfter(equal) <= this.opts.maxEpsilon) {
          // Uneven weights (small example buckets, stale updates) shrink the others' noise
          // against the heaviest update; any client can send them. Averaging with equal weights
          // instead keeps the round within the budget (and needs no refusal of anyone's update).
          this.closeRound(now, equal, true);
        } else if (this.fullRoundExceeds()) {
          this.spendBudget(
            `publishing round ${this.state.round.id} would take the cumulative ε to ${fmtEpsilon(epsilon)}, and even a full round of equal weights past the budget of ${this.opts.maxEpsilon}`,
          );
        } else if (due) {
          this.extendDeadline(
            now,
            `closing with ${received} updates would take ε to ${fmtEpsilon(this.ledger.epsilonAfter(equal))}, past the budget of ${this.opts.maxEpsilon}; waiting for more`,
          );
        }
      } else if (due) {
        this.extendDeadline(now, `deadline reached with ${received}/${this.opts.minUpdates} updates`);
      }
      this.closeFailure = null;
    } catch (err) {
      this.closeFailure = (err as Error).message;
      this.opts.log(`round ${this.state.round.id}: cannot close (${this.closeFailure}); refusing updates, will retry`);
    }
  }

  /**
   * Secure rounds. At the target, or at the deadline with at least the minimum cohort, the round
   * stops taking reports and its cohort is fixed durably (`round.closing`); the leader then asks
   * the helper for its share of the sum, once at a time, again after a failure (every 10 s) or a
   * restart (the same request: the helper answers it the same). A round below the minimum at its
   * deadline, or one the helper refuses, is abandoned: nothing is published, its reports are
   * deleted. Never throws.
   */
  private closeSecureIfDue(): void {
    const s = this.secure!;
    const now = this.opts.now();
    if (this.summing || now < this.helperRetryAt) return;
    try {
      if (!this.state.round.closing) {
        const received = this.weights.length;
        const due = now >= this.state.round.deadline;
        if (received < this.opts.targetUpdates && !due) return;
        // An idle round (no report) just goes on: abandoning it would only fill the list.
        if (received === 0) return this.extendDeadline(now, 'deadline reached with no report');
        if (received < s.minCohort)
          return this.abandonRound(now, `deadline reached with ${received} reports, fewer than the minimum cohort of ${s.minCohort}`);
        const epsilon = this.ledger.epsilonAfter(this.roundPrivacy(new Array<number>(received).fill(1)));
        if (epsilon > this.opts.maxEpsilon) {
          if (this.fullRoundExceeds())
            return this.spendBudget(`publishing round ${this.state.round.id} would take the cumulative ε to ${fmtEpsilon(epsilon)}`);
          if (due) this.extendDeadline(now, `closing with ${received} reports would take ε to ${fmtEpsilon(epsilon)}; waiting for more`);
          return;
        }
        this.log.flushSync(); // the cohort is what is on disk
        this.state = { ...this.state, round: { ...this.state.round, closing: { reports: received, since: now } } };
        this.store.saveState(this.state);
        this.opts.log(`round ${this.state.round.id}: ${received} reports; asking the helper for its share of the sum`);
      }
      const id = this.state.round.id;
      const n = this.state.round.closing!.reports;
      const records = readUpdateLog(this.log.path).records;
      if (records.length < n)
        return this.abandonRound(now, `its log holds ${records.length} reports, ${n} were summed: the cohort is lost`);
      const reports = records.slice(0, n).map((r) => decodeSecureReport(r.bytes, this.openLength()));
      const started = performance.now();
      this.summing = s.helper
        .aggregate(helperRequest(id, this.openLength(), s.bits, reports))
        .then(
          (answer) => this.finishSecure(id, reports, answer, started),
          (err: Error) => {
            if (err instanceof HelperRefusal)
              return this.abandonRound(this.opts.now(), `the helper refused (${err.reason}: ${err.message})`);
            if (!this.helperFailure) this.opts.log(`round ${id}: the helper cannot be asked (${err.message}); asking again every 10 s`);
            this.helperFailure = err.message;
            this.helperRetryAt = this.opts.now() + 10_000;
          },
        )
        .catch((err: Error) => {
          this.closeFailure = err.message;
          this.opts.log(`round ${id}: cannot close (${err.message}); will retry`);
        })
        .finally(() => (this.summing = null));
      this.closeFailure = null;
    } catch (err) {
      this.closeFailure = (err as Error).message;
      this.opts.log(`round ${this.state.round.id}: cannot close (${this.closeFailure}); refusing reports, will retry`);
    }
  }

  /** Publishes a secure round from the helper's answer, or abandons it if the answer does not add up. */
  private finishSecure(id: number, reports: SecureReport[], answer: AggregateResponse, started: number): void {
    const s = this.secure!;
    if (this.stopped || this.state.round.id !== id) return;
    this.helperFailure = null;
    const now = this.opts.now();
    let sum: Float64Array;
    let summed: number;
    try {
      const ids = new Set(
        acceptedIds(new Set(reports.map((r) => r.header.reportId)), answer, { roundId: id, bits: s.bits, minCohort: s.minCohort }),
      );
      summed = ids.size;
      const leader =
        summed === reports.length
          ? this.shares
          : leaderSum(
              reports.filter((r) => ids.has(r.header.reportId)),
              this.openLength(),
              s.bits,
            );
      sum = combine(leader, answer, { length: this.openLength(), bits: s.bits, step: s.step, summed });
    } catch (err) {
      return this.abandonRound(now, (err as Error).message);
    }
    const privacy = this.roundPrivacy(new Array<number>(summed).fill(1));
    if (this.ledger.epsilonAfter(privacy) > this.opts.maxEpsilon)
      return this.abandonRound(now, `the ${summed} reports the helper could open would take ε past the budget`);
    if (answer.rejected.length > 0)
      this.opts.log(`round ${id}: the helper could not open ${answer.rejected.length} reports; they are left out`);
    this.closeRound(now, privacy, false, { sum, summed });
    this.opts.log(`round ${id}: summed with the helper in ${Math.round(performance.now() - started)} ms`);
  }

  /** A secure round that publishes nothing: the next round opens, this one's reports are deleted (their ids kept). */
  private abandonRound(now: number, why: string): void {
    if (this.stopped) return;
    const id = this.state.round.id;
    const reports = this.state.round.closing?.reports ?? this.weights.length;
    const rows = this.rows.next(id, null, this.oldestAcceptedRound(id + 1));
    const state: ServerState = {
      ...this.state,
      round: { id: id + 1, openedAt: now, deadline: now + this.opts.roundDeadlineMs },
      rows: rows.state,
      abandoned: [...(this.state.abandoned ?? []), { id, reports, reason: why, at: now }].slice(-RECENT_ROUNDS),
    };
    this.store.saveState(state); // the commit point: before it, a restart resumes the round
    this.state = state;
    this.rows = rows;
    this.helperFailure = null;
    this.helperRetryAt = 0;
    try {
      this.log.close();
    } catch {
      /* committed: nothing more to do with its descriptor */
    }
    if (!this.reopenLog()) this.opts.log(`round ${id + 1}: cannot open its log (${this.logFailure}); refusing reports, will retry`);
    for (const [n, r] of this.nonces) if (r < this.oldestNonceRound()) this.nonces.delete(n);
    try {
      this.store.sealRound(id); // the shares go; the ids stay (a replay is refused)
      this.store.pruneNonces(this.oldestNonceRound());
    } catch (err) {
      this.opts.log(`round ${id}: housekeeping failed (${(err as Error).message}); it is redone at the next start`);
    }
    this.opts.log(`round ${id} abandoned, nothing published: ${why}`);
  }

  /** True when even a full round of equal weights would take the cumulative ε past the budget. */
  private fullRoundExceeds(): boolean {
    return this.ledger.epsilonAfter(this.roundPrivacy(new Array<number>(this.opts.targetUpdates).fill(1))) > this.opts.maxEpsilon;
  }

  /** Publishes nothing more: no round can be published within the budget any longer. */
  private spendBudget(why: string): void {
    this.state = { ...this.state, budgetSpent: true };
    this.store.saveState(this.state);
    this.opts.log(`${why}: the privacy budget is spent, nothing more is published or accepted`);
  }

  /** Retries opening the open round's log after it failed (see closeRound); true once it is open. */
  private reopenLog(): boolean {
    try {
      this.openLog();
      this.logFailure = null;
      this.opts.log(`round ${this.state.round.id}: its log is open again; accepting updates`);
      return true;
    } catch (err) {
      this.logFailure = (err as Error).message;
      return false;
    }
  }

  /** Everything `GET /v1/status` reports. */
  status(): Record<string, unknown> {
    const o = this.opts;
    const privacy = this.ledger.report();
    return {
      modelVersion: this.currentVersion,
      baseVersion: this.state.baseVersion,
      versions: this.state.versions,
      versionsPublished: this.state.versionsPublished,
      roundsClosed: this.state.totals.rounds,
      round: {
        ...this.round,
        minUpdates: o.minUpdates,
        openedAt: new Date(this.state.round.openedAt).toISOString(),
        closeFailure: this.closeFailure,
        // Secure rounds: the cohort fixed, the helper being asked for its share of the sum.
        closing: this.state.round.closing
          ? { reports: this.state.round.closing.reports, since: new Date(this.state.round.closing.since).toISOString() }
          : null,
      },
      accepting: this.admission()?.reason ?? 'yes',
      // The item rows rounds train (the open round's are in `round.rows`): chosen by the server, never by a device.
      rows: {
        perRound: this.rows.perRound,
        untrained: this.rows.untrained,
        numItems: this.config.numItems,
        sketchBuckets: this.rows.sketchBuckets,
      },
      catalogue: {
        pending: (this.state.catalogue?.pending ?? []).length,
        next: (this.state.catalogue?.pending ?? []).slice(0, 50).map((i) => i.id),
      },
      privacy: {
        budget: { maxEpsilon: Number.isFinite(o.maxEpsilon) ? o.maxEpsilon : null, spent: this.state.budgetSpent },
        noiseCheck: this.noiseCheck,
        method:
          'RDP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar & Zhang 2019), converted to (ε, δ) by Mironov 2017 Prop. 3; null ε = unbounded',
        clipNorm: o.clipNorm,
        noiseStd: o.noiseStd,
        noiseMultiplier: o.noiseMultiplier,
        samplingRate: this.samplingRate,
        populationEstimate: o.populationEstimate,
        delta: o.delta,
        lastRound: privacy.lastRound,
        cumulative: privacy.cumulative,
        cumulativeWithoutSampling: privacy.cumulativeWithoutSampling,
        rounds: this.state.closed.slice(-RECENT_ROUNDS).map((r) => ({
          round: r.id,
          version: r.version,
          protocol: r.protocol ?? 'plain',
          updates: r.updates,
          noiseMultiplier: r.noiseMultiplier,
          epsilon: r.epsilon,
        })),
        abandonedRounds: this.state.abandoned ?? [],
      },
      aggregation: this.secure
        ? {
            protocol: 'secure',
            description:
              'two non-colluding aggregators with additive secret shares: this server holds one share of each report, the helper the other; only the sum of at least minCohort reports is ever reconstructed',
            minCohort: this.secure.minCohort,
            bits: this.secure.bits,
            step: this.secure.step,
            noiseCohort: noiseCohort(this.opts),
            helperFailure: this.helperFailure,
          }
        : {
            protocol: 'plain',
            description: 'this server reads each update (clipped, noised, int8) and sums them',
            noiseCohort: noiseCohort(this.opts),
          },
      updates: {
        accepted: this.state.totals.updates + this.weights.length,
        acceptedSinceStart: this.counts.acceptedSinceStart,
        rejectedSinceStart: { ...this.counts.rejectedSinceStart },
        recent: [...this.recent].reverse(),
      },
    };
  }

  /** Directory of a published version, or null. */
  versionDir(version: string): string | null {
    return this.state.versions.includes(version) ? this.versions.path(version) : null;
  }

  /** Closes the open log file and releases the data directory. */
  shutdown(): void {
    this.stopped = true;
    try {
      if (!this.logFailure) this.log.close();
    } finally {
      if (!this.lockLost) this.lock.release();
    }
  }

  private extendDeadline(now: number, why: string): void {
    this.state = { ...this.state, round: { ...this.state.round, deadline: now + this.opts.roundDeadlineMs } };
    this.store.saveState(this.state);
    this.opts.log(`round ${this.state.round.id}: ${why}; deadline extended`);
  }

  private roundPrivacy(weights: readonly number[]): RoundPrivacy {
    const o = this.opts;
    // The devices' noise is sized for noiseCohort reports (the target, or the minimum cohort).
    return { noiseMultiplier: roundNoiseMultiplier(weights, o.noiseMultiplier, noiseCohort(o)), samplingRate: this.samplingRate };
  }

  /** Drops versions beyond the retention window from the state (their files go in housekeeping). */
  private keepVersionWindow(): void {
    const keep = this.opts.keepVersions;
    if (this.state.versions.length > keep) this.state = { ...this.state, versions: this.state.versions.slice(-keep) };
  }

  private oldestNonceRound(): number {
    return this.state.round.id - this.opts.maxStaleness - 1;
  }

  /** Adds a plain update for round `roundId`: its dense part to the sum, its rows to those rows' sums, its sketch to its round's. */
  private add(meta: LogMeta, roundId: string, delta: Float32Array, bytes: number): void {
    this.addValues(this.sum, this.rowSums, this.sketchSums, roundId, delta, meta.weight);
    this.note(meta, bytes);
  }

  /** `weight × delta` (an update for round `roundId`, in its layout) into the three sums. */
  private addValues(
    sum: Float64Array,
    rowSums: RowSums,
    sketchSums: SketchSums,
    roundId: string,
    delta: Float32Array,
    weight: number,
  ): void {
    const dense = sum.length;
    const rows = this.rows.rowsOf(roundId);
    const rowsEnd = dense + rows.length * this.config.embedDim;
    accumulate(sum, delta.subarray(0, dense), weight);
    rowSums.add(rows, delta.subarray(dense, rowsEnd), weight);
    sketchSums.add(this.rows.sketchOf(roundId), delta.subarray(rowsEnd), weight);
  }

  /** `weights` with `added` appended to the item table and the vocabulary (nothing changes when there are none). */
  private grow(weights: ModelWeightsOf<MasterModel>, added: readonly CatalogueItem[]) {
    const vocab = this.master.vocab;
    if (added.length === 0) return { weights, vocab, rows: this.rows, added, first: vocab.length, starts: [] as string[] };
    const categories = this.state.catalogue?.categories ?? {};
    const grown = appendItems(weights.items, vocab, this.config.embedDim, added, (id) => categories[id] ?? this.opts.itemCategories[id]);
    const config = { ...this.config, numItems: grown.vocab.length };
    const perRound = rowsPerRound(config, this.secure?.bits ?? null, this.opts.rowsPerRound, this.opts.sketchBuckets);
    const newRows = added.map((_, k) => vocab.length + k);
    return {
      weights: { ...weights, config, items: grown.items },
      vocab: grown.vocab,
      rows: this.rows.grown(config, perRound, newRows),
      added,
      first: vocab.length,
      starts: grown.starts as string[],
    };
  }

  /** Values of a report for the open round. */
  private openLength(): number {
    return this.rows.layout(this.state.round.id).length;
  }

  /** The oldest round an update may still be for while `openRound` is open (see validateUpdate's round check). */
  private oldestAcceptedRound(openRound: number): number {
    return openRound - this.opts.maxStaleness;
  }

  /** Counts an accepted update or report in the open round (weight, nonce, token, recent list). */
  private note(meta: LogMeta, bytes: number): void {
    this.weights.push(meta.weight);
    this.nonces.set(meta.nonce, this.state.round.id);
    if (meta.tokenId) this.nonces.set(TOKEN_PREFIX + meta.tokenId, this.state.round.id);
    this.recent.push({
      time: new Date(meta.receivedAt).toISOString(),
      round: this.state.round.id,
      modelVersion: meta.modelVersion,
      staleness: meta.staleness,
      bytes,
    });
    if (this.recent.length > RECENT_KEPT) this.recent.shift();
  }

  /** Opens the open round's log and resumes its sum from the records already in it. */
  private openLog(): void {
    const { log, records } = this.store.openRoundLog(this.state.round.id);
    this.log = log;
    this.sum = new Float64Array(this.secure ? 0 : updateLayout(this.config).denseSize);
    this.shares = new Uint32Array(this.secure ? this.openLength() : 0);
    this.rowSums = new RowSums(this.config.embedDim);
    this.sketchSums = new SketchSums();
    this.weights = [];
    for (const r of records) {
      try {
        if (this.secure) {
          addShare(this.shares, decodeSecureReport(r.bytes, this.openLength()).leaderShare, this.secure.bits);
          this.note(r.meta, r.bytes.length);
        } else {
          const update = decodeUpdate(r.bytes, (id) => this.layoutFor(id));
          this.add(r.meta, update.header.roundId, update.delta, r.bytes.length);
        }
      } catch (err) {
        throw new DataDirError(`${log.path}: a logged update no longer decodes (${(err as Error).message})`);
      }
    }
  }

  /** Publishes the round's version; `secure`: the sum the two aggregators reconstructed. */
  private closeRound(now: number, privacy: RoundPrivacy, equalWeights: boolean, secure?: { sum: Float64Array; summed: number }): void {
    const o = this.opts;
    const started = performance.now();
    // Every update summed into the new version must be on disk before the version exists.
    this.log.flushSync();
    const id = this.state.round.id;
    const parentVersion = this.currentVersion;
    const version = `${this.state.baseVersion}-r${id}`;
    const trainable = trainableVector(this.master.weights.dense, this.config);
    const denseSize = trainable.length;
    let sum = secure ? secure.sum.subarray(0, denseSize) : this.sum;
    let rowSums = this.rowSums;
    let sketchSums = this.sketchSums;
    if (secure) {
      // A secure report is for the open round: its values past the dense ones are that round's
      // rows, then its sketch (every report weighs 1).
      const rowsEnd = denseSize + this.rows.rowsOf(id).length * this.config.embedDim;
      rowSums = new RowSums(this.config.embedDim);
      rowSums.add(this.rows.rowsOf(id), secure.sum.subarray(denseSize, rowsEnd), 1);
      sketchSums = new SketchSums();
      sketchSums.add(this.rows.sketchOf(id), secure.sum.subarray(rowsEnd), 1);
    } else if (equalWeights) {
      sum = new Float64Array(sum.length);
      rowSums = new RowSums(this.config.embedDim);
      sketchSums = new SketchSums();
      for (const r of readUpdateLog(this.log.path).records) {
        const u = decodeUpdate(r.bytes, (round) => this.layoutFor(round));
        this.addValues(sum, rowSums, sketchSums, u.header.roundId, u.delta, 1);
      }
      o.log(`round ${id}: its weights would spend too much ε; averaged with equal weights`);
    }
    // The same fixed denominator for the rows as for the dense tensors (see fedAvg.ts).
    const denominator = fedAvgDenominator(o.targetUpdates, o.expectedWeight);
    const next = applyFedAvg(trainable, sum, o.serverLr, denominator);
    const summed = secure ? secure.summed : this.weights.length;
    // The noise's variance per value of a row's change: each value sums `summed` devices' noise
    // (weighted: at most 1 each, so this bounds it), scaled like the row.
    const noiseVar = summed * ((o.rowServerLr * o.noiseStd) / denominator) ** 2;
    const noiseEnergy = this.config.embedDim * noiseVar;
    const gate = o.rowGate > 0 && noiseVar > 0 ? { z: o.rowGate, noiseVar } : undefined;
    const applied = rowSums.apply(this.master.weights.items, o.rowServerLr / denominator, gate);
    if (gate) o.log(`round ${id}: ${applied.applied} of ${rowSums.size} rows stood above the noise (row gate z ${o.rowGate})`);
    const weights = { ...this.master.weights, items: applied.items, dense: withTrainable(this.master.weights.dense, next, this.config) };
    // Products added since the last version: appended, scheduled first from the next round.
    const grown = this.grow(weights, this.state.catalogue?.pending ?? []);
    // The sketch's estimates (never applied to the model) rank the rows of the rounds to come. They
    // count devices: a plain round's weighted sum is scaled back by its updates / their weight sum.
    const sketchScale = secure || equalWeights ? 1 : this.weights.length / this.weights.reduce((a, b) => a + b, 0);
    const popularity = sketchSums.estimates(this.config.numItems, sketchScale);
    const rows = grown.rows.next(
      id,
      { rows: applied.rows, delta: applied.delta, noiseEnergy, popularity },
      this.oldestAcceptedRound(id + 1),
    );
    const epsilon = epsilonFor({ ...privacy, rounds: 1, delta: o.delta }).epsilon;
    const closed: ClosedRound = {
      id,
      parentVersion,
      version,
      updates: secure ? secure.summed : this.weights.length,
      weightSum: secure ? secure.summed : equalWeights ? this.weights.length : this.weights.reduce((a, b) => a + b, 0),
      ...(secure ? { protocol: 'secure' as const } : {}),
      ...privacy,
      epsilon: Number.isFinite(epsilon) ? epsilon : null,
      closedAt: now,
    };
    this.versions.publish(version, grown.weights, grown.vocab, {
      ...(grown.added.length > 0
        ? { catalogue: { added: grown.added.map((i, k) => ({ id: i.id, row: grown.first + k, start: grown.starts[k] })) } }
        : {}),
      federated: {
        ...closed,
        baseVersion: this.state.baseVersion,
        serverLr: o.serverLr,
        clipNorm: o.clipNorm,
        delta: o.delta,
        closedAt: new Date(now).toISOString(),
      },
    });
    const ledger = new PrivacyLedger(o.delta, this.ledger.snapshot());
    ledger.add(privacy);
    const state: ServerState = {
      ...this.state,
      versions: [...this.state.versions, version].slice(-o.keepVersions),
      versionsPublished: this.state.versionsPublished + 1,
      round: { id: id + 1, openedAt: now, deadline: now + o.roundDeadlineMs },
      rows: rows.state,
      ...(this.state.catalogue ? { catalogue: { ...this.state.catalogue, pending: [] } } : {}),
      closed: [...this.state.closed, closed].slice(-RECENT_ROUNDS),
      totals: { rounds: this.state.totals.rounds + 1, updates: this.state.totals.updates + closed.updates },
      ledger: ledger.snapshot(),
    };
    this.store.saveState(state); // the commit point: before it, a restart redoes this round's close
    this.state = state;
    this.master = { ...this.master, weights: grown.weights, vocab: grown.vocab };
    this.config = grown.weights.config;
    this.rowsPerRound = grown.rows.perRound;
    this.rows = rows;
    this.ledger = ledger;
    // The new round starts empty whatever happens next: its log is opened below, and if that
    // fails no update is accepted (see admission) until it opens at a later tick.
    this.sum = new Float64Array(this.sum.length);
    this.shares = new Uint32Array(this.secure ? this.openLength() : 0);
    this.rowSums = new RowSums(this.config.embedDim);
    this.sketchSums = new SketchSums();
    this.weights = [];
    try {
      this.log.close();
    } catch {
      /* the old round's records are fsynced and committed; nothing more to do with its descriptor */
    }
    if (!this.reopenLog()) o.log(`round ${id + 1}: cannot open its log (${this.logFailure}); refusing updates, will retry`);
    for (const [n, r] of this.nonces) if (r < this.oldestNonceRound()) this.nonces.delete(n);
    try {
      // Housekeeping only: every step is redone on the next start if it fails now.
      this.store.sealRound(id);
      this.store.pruneNonces(this.oldestNonceRound());
      this.store.writeCurrent(version);
      this.versions.pruneMasters(new Set([version]));
      this.versions.pruneVersions(new Set(state.versions));
      this.versionBytes = this.versions.sizeOf(version);
    } catch (err) {
      o.log(`round ${id}: housekeeping failed (${(err as Error).message}); it is redone at the next start`);
    }
    // Updates must not be acknowledged for a round that could never be published.
    if (this.fullRoundExceeds())
      this.spendBudget(
        `after round ${id}, even a full round of equal weights would take the cumulative ε past the budget of ${o.maxEpsilon}`,
      );
    const report = this.ledger.report();
    o.log(
      `round ${id} closed with ${closed.updates} updates: published ${version}; ε ${fmtEpsilon(epsilon)} this round, ${fmtEpsilon(report.cumulative.epsilon)} cumulative (δ=${o.delta}; ${fmtEpsilon(report.cumulativeWithoutSampling.epsilon)} without sampling amplification); took ${Math.round(performance.now() - started)} ms`,
    );
  }
}

type ModelWeightsOf<M extends { weights: unknown }> = M['weights'];

const fmtEpsilon = (e: number): string => (Number.isFinite(e) ? e.toFixed(3) : '∞');

/** The mean squared L2 norm of a table's rows of `dim` values. */
function meanSquaredRowNorm(items: Float32Array, dim: number): number {
  let s = 0;
  for (let i = 0; i < items.length; i++) s += items[i]! * items[i]!;
  return items.length > 0 ? s / (items.length / dim) : 0;
}

/** Free bytes for an unprivileged writer on the file system holding `dir`, or null when unknown. */
function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
