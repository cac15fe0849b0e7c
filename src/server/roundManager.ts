import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkManifest } from '../model/modelFile';
import type { ModelConfig } from '../model/modelConfig';
import { decodeUpdate } from '../federated/modelUpdate';
import { accumulate, applyFedAvg, fedAvgDenominator, trainableVector, withTrainable } from './fedAvg';
import { epsilonFor } from './privacyAccountant';
import { PrivacyLedger, roundNoiseMultiplier } from './privacyLedger';
import { ServerConfigError, type ResolvedOptions } from './serverOptions';
import type { LogMeta, UpdateLog } from './updateLog';
import { DataDirError, UpdateStore, type ClosedRound, type ServerState } from './updateStore';
import type { AcceptedUpdate, ValidationContext } from './validateUpdate';
import { VersionStore, type MasterModel } from './versionStore';

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
  private readonly config: ModelConfig;
  private readonly ledger: PrivacyLedger;
  private state: ServerState;
  private master: MasterModel;
  private log!: UpdateLog;
  private sum!: Float64Array;
  private weights: number[] = [];
  /** Nonces of the open round and of the closed rounds an update could still be accepted for. */
  private readonly nonces = new Map<string, number>();
  private readonly recent: RecentUpdate[] = [];
  private readonly counts = { acceptedSinceStart: 0, rejectedSinceStart: {} as Record<string, number> };

  constructor(private readonly opts: ResolvedOptions) {
    const manifestPath = join(opts.modelDir, 'model.json');
    if (!existsSync(manifestPath)) throw new ServerConfigError(`model directory not found: ${opts.modelDir} (expected model.json in it)`);
    const baseVersion = checkManifest(JSON.parse(readFileSync(manifestPath, 'utf8'))).modelVersion;
    this.store = new UpdateStore(opts.dataDir);
    this.versions = new VersionStore(this.store.versionsDir);
    const saved = this.store.loadState();
    if (saved) {
      if (saved.baseVersion !== baseVersion) {
        throw new DataDirError(`${opts.dataDir} holds rounds of model ${saved.baseVersion}, not ${baseVersion}: use another --data directory`);
      }
      this.state = saved;
      this.master = this.versions.readMaster(this.currentVersion);
    } else {
      this.master = this.versions.importBase(opts.modelDir);
      const now = opts.now();
      this.state = { formatVersion: 1, baseVersion, versions: [baseVersion], round: { id: 1, openedAt: now, deadline: now + opts.roundDeadlineMs }, closed: [] };
      this.store.saveState(this.state);
    }
    this.config = this.master.weights.config;
    this.ledger = new PrivacyLedger(opts.delta);
    for (const r of this.state.closed) this.ledger.add(r);
    this.store.writeCurrent(this.currentVersion);
    this.store.sealClosedLogs(this.state.round.id);
    this.store.pruneNonces(this.oldestNonceRound());
    this.versions.pruneMasters(new Set([this.currentVersion]));
    for (const [n, r] of this.store.loadNonces(this.oldestNonceRound(), this.state.round.id)) this.nonces.set(n, r);
    this.openLog();
    // A crash may have come between the last acknowledged update and the close it triggered.
    this.closeIfDue();
  }

  /** The version devices should train from. */
  get currentVersion(): string {
    return this.state.versions[this.state.versions.length - 1]!;
  }

  /** The model's shape (the same for every version). */
  get modelConfig(): ModelConfig {
    return this.config;
  }

  /** The open round. */
  get round(): { id: string; target: number; received: number; deadline: string } {
    return { id: String(this.state.round.id), target: this.opts.targetUpdates, received: this.weights.length, deadline: new Date(this.state.round.deadline).toISOString() };
  }

  /** Published versions, oldest first. */
  get publishedVersions(): readonly string[] {
    return this.state.versions;
  }

  /** What {@link validateUpdate} needs, as of now. */
  context(): ValidationContext {
    const index = new Map(this.state.versions.map((v, i) => [v, i]));
    return {
      config: this.config,
      clipNorm: this.opts.clipNorm,
      noiseStd: this.opts.noiseStd,
      versionIndex: (v) => index.get(v),
      currentIndex: this.state.versions.length - 1,
      maxStaleness: this.opts.maxStaleness,
      openRound: this.state.round.id,
      hasNonce: (n) => this.nonces.has(n),
      weightPolicy: { exampleCap: this.opts.exampleCap, stalenessDecay: this.opts.stalenessDecay },
    };
  }

  /**
   * Stores a validated update in the open round: appended to the log (throws `StorageError`,
   * leaving nothing changed) and added to the round's sum, synchronously, so its place is fixed
   * before any other request runs. The returned `durable` resolves once its record is fsynced
   * (group commit, see UpdateLog): only then may the device be told it was accepted.
   */
  accept(accepted: AcceptedUpdate, bytes: Uint8Array): { ack: AcceptResult; durable: Promise<void> } {
    const h = accepted.update.header;
    const meta: LogMeta = {
      nonce: h.nonce, weight: accepted.weight, staleness: accepted.staleness, modelVersion: h.modelVersion,
      receivedAt: Math.round(this.opts.now() / 1000) * 1000,
    };
    this.log.append(meta, bytes);
    const durable = this.log.durable();
    this.add(meta, accepted.update.delta, bytes.length);
    this.counts.acceptedSinceStart++;
    return { ack: { roundId: String(this.state.round.id), received: this.weights.length, target: this.opts.targetUpdates }, durable };
  }

  /** Counts a refusal by reason (for the status endpoint). */
  countRejection(reason: string): void {
    this.counts.rejectedSinceStart[reason] = (this.counts.rejectedSinceStart[reason] ?? 0) + 1;
  }

  /**
   * Closes the open round if it reached its target, or if its deadline passed and it has the
   * minimum; at a deadline without the minimum, moves the deadline on. Never throws: a failure
   * (disk full…) is logged and the round stays open, to be retried at the next tick.
   */
  closeIfDue(): void {
    const now = this.opts.now();
    const received = this.weights.length;
    try {
      if (received >= this.opts.targetUpdates || (now >= this.state.round.deadline && received >= this.opts.minUpdates)) {
        this.closeRound(now);
      } else if (now >= this.state.round.deadline) {
        this.state = { ...this.state, round: { ...this.state.round, deadline: now + this.opts.roundDeadlineMs } };
        this.store.saveState(this.state);
        this.opts.log(`round ${this.state.round.id}: deadline reached with ${received}/${this.opts.minUpdates} updates; extended`);
      }
    } catch (err) {
      this.opts.log(`round ${this.state.round.id}: cannot close (${(err as Error).message}); will retry`);
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
      roundsClosed: this.state.closed.length,
      round: { ...this.round, minUpdates: o.minUpdates, openedAt: new Date(this.state.round.openedAt).toISOString() },
      privacy: {
        method: 'RDP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar & Zhang 2019), converted to (ε, δ) by Mironov 2017 Prop. 3; null ε = unbounded',
        clipNorm: o.clipNorm, noiseStd: o.noiseStd, noiseMultiplier: o.noiseMultiplier,
        samplingRate: o.targetUpdates / o.populationEstimate, populationEstimate: o.populationEstimate, delta: o.delta,
        lastRound: privacy.lastRound, cumulative: privacy.cumulative, cumulativeWithoutSampling: privacy.cumulativeWithoutSampling,
        rounds: this.state.closed.slice(-20).map((r) => ({ round: r.id, version: r.version, updates: r.updates, noiseMultiplier: r.noiseMultiplier, epsilon: r.epsilon })),
      },
      updates: {
        accepted: this.state.closed.reduce((n, r) => n + r.updates, 0) + this.weights.length,
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

  /** Closes the open log file. */
  shutdown(): void {
    this.log.close();
  }

  private oldestNonceRound(): number {
    return this.state.round.id - this.opts.maxStaleness - 1;
  }

  private add(meta: LogMeta, delta: Float32Array, bytes: number): void {
    accumulate(this.sum, delta, meta.weight);
    this.weights.push(meta.weight);
    this.nonces.set(meta.nonce, this.state.round.id);
    this.recent.push({ time: new Date(meta.receivedAt).toISOString(), round: this.state.round.id, modelVersion: meta.modelVersion, staleness: meta.staleness, bytes });
    if (this.recent.length > RECENT_KEPT) this.recent.shift();
  }

  /** Opens the open round's log and resumes its sum from the records already in it. */
  private openLog(): void {
    const { log, records } = this.store.openRoundLog(this.state.round.id);
    this.log = log;
    this.sum = new Float64Array(trainableVector(this.master.weights.dense, this.config).length);
    this.weights = [];
    for (const r of records) {
      try {
        this.add(r.meta, decodeUpdate(r.bytes, this.config).delta, r.bytes.length);
      } catch (err) {
        throw new DataDirError(`${log.path}: a logged update no longer decodes (${(err as Error).message})`);
      }
    }
  }

  private closeRound(now: number): void {
    const o = this.opts;
    const started = performance.now();
    // Every update summed into the new version must be on disk before the version exists.
    this.log.flushSync();
    const id = this.state.round.id;
    const parentVersion = this.currentVersion;
    const version = `${this.state.baseVersion}-r${id}`;
    const trainable = trainableVector(this.master.weights.dense, this.config);
    const next = applyFedAvg(trainable, this.sum, o.serverLr, fedAvgDenominator(o.targetUpdates, o.expectedWeight));
    const weights = { ...this.master.weights, dense: withTrainable(this.master.weights.dense, next, this.config) };
    const privacy = { noiseMultiplier: roundNoiseMultiplier(this.weights, o.noiseMultiplier, o.targetUpdates), samplingRate: o.targetUpdates / o.populationEstimate };
    const epsilon = epsilonFor({ ...privacy, rounds: 1, delta: o.delta }).epsilon;
    const closed: ClosedRound = {
      id, parentVersion, version, updates: this.weights.length, weightSum: this.weights.reduce((a, b) => a + b, 0),
      ...privacy, epsilon: Number.isFinite(epsilon) ? epsilon : null, closedAt: now,
    };
    this.versions.publish(version, weights, this.master.vocab, {
      federated: { ...closed, baseVersion: this.state.baseVersion, serverLr: o.serverLr, clipNorm: o.clipNorm, delta: o.delta, closedAt: new Date(now).toISOString() },
    });
    const state: ServerState = {
      ...this.state,
      versions: [...this.state.versions, version],
      round: { id: id + 1, openedAt: now, deadline: now + o.roundDeadlineMs },
      closed: [...this.state.closed, closed],
    };
    this.store.saveState(state); // the commit point: before it, a restart redoes this round's close
    this.state = state;
    this.master = { ...this.master, weights };
    this.ledger.add(privacy);
    this.log.close();
    this.openLog();
    for (const [n, r] of this.nonces) if (r < this.oldestNonceRound()) this.nonces.delete(n);
    try {
      // Housekeeping only: every step is redone on the next start if it fails now.
      this.store.sealRound(id);
      this.store.pruneNonces(this.oldestNonceRound());
      this.store.writeCurrent(version);
      this.versions.pruneMasters(new Set([version]));
    } catch (err) {
      o.log(`round ${id}: housekeeping failed (${(err as Error).message}); it is redone at the next start`);
    }
    const report = this.ledger.report();
    const fmt = (e: number): string => (Number.isFinite(e) ? e.toFixed(3) : '∞');
    o.log(`round ${id} closed with ${closed.updates} updates: published ${version}; ε ${fmt(epsilon)} this round, ${fmt(report.cumulative.epsilon)} cumulative (δ=${o.delta}; ${fmt(report.cumulativeWithoutSampling.epsilon)} without sampling amplification); took ${Math.round(performance.now() - started)} ms`);
  }
}
