import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PrivacyLedger, type LedgerSnapshot } from './privacyLedger';
import { readUpdateLog, UpdateLog, type LogRecord } from './updateLog';
import { writeFileDurable } from './writeFileDurable';
import type { RoundRowsState } from './roundRows';
import type { CatalogueState } from './catalogue';

/**
 * The server's embedded storage: plain files under one data directory, no database to set up.
 *
 * ```
 * <data>/state.json          the open round and every closed one (the commit point)
 * <data>/current.json        { modelVersion }: the published version, for other tools
 * <data>/rounds/<id>.log     the open round's accepted updates (see UpdateLog)
 * <data>/rounds/<id>.nonces  a closed round's nonces and spent token ids (`t:<id>`), one a line
 * <data>/versions/<version>/ published models (see VersionStore)
 * ```
 *
 * Once a round is aggregated its individual updates are deleted and only their nonces kept,
 * for replay checks, while an update from that round could still be accepted: the server keeps
 * no device's update longer than it needs it.
 */

/** A closed round as recorded in `state.json`. */
export interface ClosedRound {
  id: number;
  /** The version it trained from and the one it published. */
  parentVersion: string;
  version: string;
  updates: number;
  weightSum: number;
  /** The round's effective noise multiplier (see privacyLedger.ts). */
  noiseMultiplier: number;
  samplingRate: number;
  /** ε of this round alone at the server's δ (null: infinite). */
  epsilon: number | null;
  closedAt: number;
  /** 'secure': summed by the two aggregators, no update read alone (absent: plain). */
  protocol?: 'secure';
}

/** A secure round that published nothing (too few reports, or the helper refused). */
export interface AbandonedRound {
  id: number;
  reports: number;
  reason: string;
  at: number;
}

/**
 * Everything the server needs to resume, written atomically at every change of round. Its size
 * does not grow with the number of rounds: only the retained versions, the last
 * {@link RECENT_ROUNDS} closed rounds, running totals and the privacy ledger's fixed-size curves.
 */
export interface ServerState {
  formatVersion: 2;
  /** The model the server started from; a data directory serves one model family. */
  baseVersion: string;
  /** Retained published versions, oldest first; the last is current (older ones are pruned). */
  versions: string[];
  /** Versions ever published, the base included (the current one's index is this − 1). */
  versionsPublished: number;
  round: {
    id: number;
    openedAt: number;
    deadline: number;
    /**
     * Secure rounds: set (durably) when the leader starts summing with the helper: the first
     * `reports` records of the round's log are the cohort; nothing more is accepted, and after a
     * restart the same request goes to the helper (which answers it again, the same).
     */
    closing?: { reports: number; since: number };
  };
  /**
   * The item rows of the rounds: the row schedule and the rows each recent round announced (see
   * roundRows.ts). Absent in state written before rounds trained rows: the open round then
   * trains none, the next ones do.
   */
  rows?: RoundRowsState;
  /** Products added since the current version, and the categories of added items (see catalogue.ts). */
  catalogue?: CatalogueState;
  /** The most recent abandoned secure rounds (for the status page). */
  abandoned?: AbandonedRound[];
  /** The most recent closed rounds (for the status page). */
  closed: ClosedRound[];
  totals: { rounds: number; updates: number };
  /** The privacy ledger (see privacyLedger.ts). */
  ledger: LedgerSnapshot | null;
  /** Set once the privacy budget would be exceeded by another round: nothing more is published. */
  budgetSpent: boolean;
}

/** How a spent participation token's id is kept among the nonces (a nonce is plain hex). */
export const TOKEN_PREFIX = 't:';

/** Closed rounds kept in the state file. */
export const RECENT_ROUNDS = 20;

interface ServerStateV1 {
  formatVersion: 1;
  baseVersion: string;
  versions: string[];
  round: { id: number; openedAt: number; deadline: number };
  closed: ClosedRound[];
}

/** A format-1 state (every round and version listed) in format 2; its ledger is rebuilt from the rounds. */
function migrate(v1: ServerStateV1, delta: number): ServerState {
  const ledger = new PrivacyLedger(delta);
  for (const r of v1.closed) ledger.add(r);
  return {
    formatVersion: 2,
    baseVersion: v1.baseVersion,
    versions: v1.versions,
    versionsPublished: v1.versions.length,
    round: v1.round,
    closed: v1.closed.slice(-RECENT_ROUNDS),
    totals: { rounds: v1.closed.length, updates: v1.closed.reduce((n, r) => n + r.updates, 0) },
    ledger: ledger.snapshot(),
    budgetSpent: false,
  };
}

/** Named error for a data directory that cannot be used (another model's, unreadable state). */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

/** The files of a data directory. */
export class UpdateStore {
  readonly roundsDir: string;
  readonly versionsDir: string;

  constructor(readonly dir: string) {
    this.roundsDir = join(dir, 'rounds');
    this.versionsDir = join(dir, 'versions');
    try {
      mkdirSync(this.roundsDir, { recursive: true });
      mkdirSync(this.versionsDir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (err) {
      throw new DataDirError(`cannot use ${dir} as the data directory: ${(err as Error).message}`);
    }
  }

  /** The saved state (format 1 is migrated), or null for a new data directory. */
  loadState(delta: number): ServerState | null {
    const path = join(this.dir, 'state.json');
    if (!existsSync(path)) return null;
    let state: ServerState;
    try {
      state = JSON.parse(readFileSync(path, 'utf8')) as ServerState;
    } catch (err) {
      throw new DataDirError(`${path} is not readable JSON (${(err as Error).message}); move the data directory away to start afresh`);
    }
    if (
      !state ||
      !Array.isArray(state.versions) ||
      !state.round ||
      !Array.isArray(state.closed) ||
      ((state.formatVersion as number) !== 1 && state.formatVersion !== 2)
    ) {
      throw new DataDirError(`${path} is not a state file this server understands`);
    }
    return (state.formatVersion as number) === 1 ? migrate(state as unknown as ServerStateV1, delta) : state;
  }

  /** Saves the state atomically: the commit point of a round change. */
  saveState(state: ServerState): void {
    writeFileDurable(join(this.dir, 'state.json'), JSON.stringify(state, null, 1) + '\n');
  }

  /** Points `current.json` at a version (derived from the state; rewritten on every start). */
  writeCurrent(modelVersion: string): void {
    writeFileDurable(join(this.dir, 'current.json'), JSON.stringify({ modelVersion }) + '\n');
  }

  /** Opens a round's log for appending, with the records already in it. */
  openRoundLog(roundId: number): { log: UpdateLog; records: LogRecord[] } {
    return UpdateLog.open(join(this.roundsDir, `${roundId}.log`));
  }

  /**
   * Replaces a closed round's log by its nonces. Safe to repeat: a crash between the state
   * commit and this step is finished on the next start ({@link sealClosedLogs}).
   */
  sealRound(roundId: number): void {
    const logPath = join(this.roundsDir, `${roundId}.log`);
    if (!existsSync(logPath)) return;
    // Spent participation tokens are kept with the nonces, prefixed (see RoundManager.tokenSpent).
    const nonces = readUpdateLog(logPath).records.flatMap((r) =>
      r.meta.tokenId ? [r.meta.nonce, `${TOKEN_PREFIX}${r.meta.tokenId}`] : [r.meta.nonce],
    );
    writeFileDurable(join(this.roundsDir, `${roundId}.nonces`), nonces.map((n) => n + '\n').join(''));
    rmSync(logPath);
  }

  /** Seals every log of a round before `openRound` (left over by a crash). */
  sealClosedLogs(openRound: number): void {
    for (const id of this.roundIds('.log')) if (id < openRound) this.sealRound(id);
  }

  /** Nonces of closed rounds `fromRound…openRound−1`, with their round. */
  loadNonces(fromRound: number, openRound: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of this.roundIds('.nonces')) {
      if (id < fromRound || id >= openRound) continue;
      for (const n of readFileSync(join(this.roundsDir, `${id}.nonces`), 'utf8').split('\n')) if (n) out.set(n, id);
    }
    return out;
  }

  /** Deletes nonce files of rounds before `beforeRound` (their updates are too stale to accept). */
  pruneNonces(beforeRound: number): void {
    for (const id of this.roundIds('.nonces')) if (id < beforeRound) rmSync(join(this.roundsDir, `${id}.nonces`), { force: true });
  }

  private roundIds(ext: string): number[] {
    return readdirSync(this.roundsDir)
      .filter((f) => f.endsWith(ext) && /^\d+\./.test(f))
      .map((f) => Number(f.slice(0, -ext.length)))
      .filter(Number.isInteger)
      .sort((a, b) => a - b);
  }
}
