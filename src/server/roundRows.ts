import { sketchSeed, type SketchAnnouncement } from '../federated/announcedSketch';
import { updateLayout, type UpdateLayout } from '../federated/modelUpdate';
import type { ModelConfig } from '../model/plain/modelConfig';
import { rowGateFactor } from './rowGate';
import { RowSchedule, type RowScheduleState } from './rowSchedule';

/**
 * The item rows of the server's rounds: the {@link RowSchedule} that picks them, and the rows
 * (and item sketch, when rounds carry one) each round announced, fixed when the round opens (kept
 * in `state.json`, so a restart reloads them) for as long as an update for that round can still
 * be accepted. Immutable: a change returns a new value, which the round manager keeps only once
 * its state is committed.
 */

/** What `state.json` keeps of the rows (see updateStore.ts). */
export interface RoundRowsState {
  schedule: RowScheduleState;
  /** Announced rows by round id, ascending: the open round's and those of closed rounds still accepted. */
  announced: Record<string, number[]>;
  /** The item sketch of those rounds that asked for one, by round id (absent: none did). */
  sketches?: Record<string, SketchAnnouncement>;
}

/** What a closed round's aggregate did to its rows, for the schedule. */
export interface RowObservation {
  rows: Int32Array;
  /** The change applied to each row (`rows.length × embedDim`, in the order of `rows`). */
  delta: Float32Array;
  /** The squared norm the noise alone puts on one row of `delta`. */
  noiseEnergy: number;
  /**
   * The round's item-sketch estimates, one per row (devices that touched it, from the summed,
   * noised sketch: see sketchSums.ts; rows past its end count 0), or null: the round had none.
   */
  popularity: Float64Array | null;
}

export class RoundRows {
  private constructor(
    readonly config: ModelConfig,
    readonly perRound: number,
    private readonly _state: RoundRowsState,
    /** Buckets of the item sketch of the rounds opened from now on (0: none). */
    readonly sketchBuckets: number,
  ) {}

  /**
   * The rows as saved, or a fresh schedule (no row is new: the base model trained them all) whose
   * first rows (and sketch of `sketchBuckets`) go to `openRound` when `announceOpen` (a new data
   * directory; an open round of an older server, or of one with other settings, keeps the layout
   * its updates were made with: the settings apply from the next round).
   */
  static resume(
    config: ModelConfig,
    perRound: number,
    saved: RoundRowsState | undefined,
    openRound: number,
    announceOpen: boolean,
    sketchBuckets = 0,
  ): RoundRows {
    const rows = Math.min(perRound, config.numItems);
    if (saved) return new RoundRows(config, rows, saved, sketchBuckets);
    const fresh = new RoundRows(
      config,
      rows,
      { schedule: new RowSchedule({ numItems: config.numItems, rowsPerRound: rows }).toJSON(), announced: {} },
      sketchBuckets,
    );
    return announceOpen ? fresh.opened(openRound) : fresh;
  }

  get state(): RoundRowsState {
    return this._state;
  }

  /** The rows round `roundId` announced (none for a round that announced none, or one not known). */
  rowsOf(roundId: number | string): readonly number[] {
    return this._state.announced[String(roundId)] ?? [];
  }

  /** Whether the rows of round `roundId` are still known (it is open, or recent enough). */
  knows(roundId: number | string): boolean {
    return String(roundId) in this._state.announced;
  }

  /** The item sketch round `roundId` asked for (null: none, or a round not known). */
  sketchOf(roundId: number | string): SketchAnnouncement | null {
    return this._state.sketches?.[String(roundId)] ?? null;
  }

  /** The layout of an update for round `roundId`. */
  layout(roundId: number | string): UpdateLayout {
    return updateLayout(this.config, this.rowsOf(roundId).length, this.sketchOf(roundId)?.buckets ?? 0);
  }

  /** Rows still waiting for their first round. */
  get untrained(): number {
    return this._state.schedule.untrained.length;
  }

  /**
   * After round `closed`: the schedule records `observed` (null: the round published nothing),
   * its rows' changes and its sketch's estimates (the popularity that picks the exploit share of
   * later rounds, kept in the schedule's state), round `closed + 1` gets the schedule's next rows,
   * and rounds before `keepFrom` are forgotten.
   */
  next(closed: number, observed: RowObservation | null, keepFrom: number): RoundRows {
    const schedule = this._schedule();
    if (observed && observed.rows.length > 0) schedule.observe(observed.rows, observed.delta, this.config.embedDim, observed.noiseEnergy);
    if (observed?.popularity) {
      // Rows added to the catalogue by this close are past the sketch's items: no device had them.
      const estimates = new Float64Array(this.config.numItems);
      estimates.set(observed.popularity.subarray(0, this.config.numItems));
      schedule.observePopularity(estimates);
    }
    const keep = <T>(byRound: Record<string, T>): Record<string, T> =>
      Object.fromEntries(Object.entries(byRound).filter(([id]) => Number(id) >= keepFrom));
    const sketches = keep(this._state.sketches ?? {});
    const state: RoundRowsState = {
      schedule: schedule.toJSON(),
      announced: keep(this._state.announced),
      ...(Object.keys(sketches).length > 0 ? { sketches } : {}),
    };
    return new RoundRows(this.config, this.perRound, state, this.sketchBuckets).opened(closed + 1);
  }

  /**
   * The model grew to `config.numItems` rows (`added`, appended): they are scheduled first, from
   * the next round that opens. Rows per round grow with the catalogue up to `perRound`.
   */
  grown(config: ModelConfig, perRound: number, added: readonly number[]): RoundRows {
    const rows = Math.min(perRound, config.numItems);
    const schedule = new RowSchedule({ numItems: config.numItems, rowsPerRound: rows }, this._state.schedule);
    schedule.addRows(added);
    return new RoundRows(config, rows, { ...this._state, schedule: schedule.toJSON() }, this.sketchBuckets);
  }

  private opened(round: number): RoundRows {
    const schedule = this._schedule();
    const rows = Array.from(schedule.next());
    const sketch = this.sketchBuckets > 0 ? { buckets: this.sketchBuckets, seed: sketchSeed(round) } : null;
    const state: RoundRowsState = {
      ...this._state,
      schedule: schedule.toJSON(),
      announced: { ...this._state.announced, [String(round)]: rows },
      ...(sketch ? { sketches: { ...this._state.sketches, [String(round)]: sketch } } : {}),
    };
    return new RoundRows(this.config, this.perRound, state, this.sketchBuckets);
  }

  private _schedule(): RowSchedule {
    return new RowSchedule({ numItems: this.config.numItems, rowsPerRound: this.perRound }, this._state.schedule);
  }
}

/**
 * A round's weighted sum of row updates, by row: updates of a round and stale ones of the rounds
 * before it announce different rows, so each adds into the rows it carries.
 */
export class RowSums {
  private readonly _sums = new Map<number, Float64Array>();

  constructor(private readonly _dim: number) {}

  /** Adds `weight × values` (`rows.length × dim`, in the order of `rows`). */
  add(rows: readonly number[], values: ArrayLike<number>, weight: number): void {
    const d = this._dim;
    if (values.length !== rows.length * d) throw new RangeError(`RowSums.add: ${values.length} values for ${rows.length} rows of ${d}`);
    rows.forEach((r, k) => {
      let s = this._sums.get(r);
      if (!s) this._sums.set(r, (s = new Float64Array(d)));
      for (let j = 0; j < d; j++) s[j]! += weight * values[k * d + j]!;
    });
  }

  get size(): number {
    return this._sums.size;
  }

  /**
   * `items[row] += k × sum[row]` for every row summed, on a copy of `items`; returns it with the
   * rows (ascending) and each row's change `k × sum[row]` as released (what the schedule observes).
   * With a `gate` (z > 0 and the noise's variance per value of that change), a row moves only as
   * far as {@link rowGateFactor} lets it: rows under the noise keep their value; `applied` counts
   * the rows that moved.
   */
  apply(
    items: Float32Array,
    k: number,
    gate?: { z: number; noiseVar: number },
  ): { items: Float32Array; rows: Int32Array; delta: Float32Array; applied: number } {
    const d = this._dim;
    const out = Float32Array.from(items);
    const rows = Int32Array.from(this._sums.keys()).sort();
    const delta = new Float32Array(rows.length * d);
    let applied = 0;
    rows.forEach((r, i) => {
      const s = this._sums.get(r)!;
      let energy = 0;
      for (let j = 0; j < d; j++) {
        const step = k * s[j]!;
        delta[i * d + j] = step;
        energy += step * step;
      }
      const f = gate ? rowGateFactor(energy, d, gate.noiseVar, gate.z) : 1;
      if (f === 0) return;
      applied++;
      for (let j = 0; j < d; j++) out[r * d + j] = out[r * d + j]! + f * delta[i * d + j]!;
    });
    return { items: out, rows, delta, applied };
  }
}
