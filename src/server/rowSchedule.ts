/**
 * Which item-embedding rows a federated round trains. The server announces them with the round;
 * every device of the round uploads a dense update over exactly these rows (and the dense
 * tensors), so an upload's shape and size are the same for every device and say nothing about the
 * items it touched. The choice uses only what the server may know without reading any device:
 *
 * - **the catalogue**: which rows exist, and which were added since the model was trained
 *   (`newRows`): they have never been trained, so they come first;
 * - **the aggregates of earlier rounds**: when rounds carry an item sketch
 *   (src/federated/itemSketch.ts), its summed, noised estimates accumulate into a popularity score
 *   for every row of the catalogue, and the exploit share of each round (half by default) goes to
 *   the most popular rows. Without a sketch, the published sum of an announced row's updates
 *   (large for rows that many shoppers touch) stands in, less the energy the noise alone puts
 *   there. Both are aggregates already noised for differential privacy: reading them costs no
 *   privacy.
 *
 * The other half cycles over the catalogue (new rows first, then every row in order), so every row
 * is trained now and then and a row's usage estimate is refreshed. This is Federated Select's
 * server-chosen keys (Charles et al., "Federated Select", 2022) with the keys picked by the
 * server from public and aggregate information rather than requested by devices, the submodel
 * idea of Niu et al. (MobiCom 2020) without its private set union.
 */

/** Settings of a {@link RowSchedule}. */
export interface RowScheduleOptions {
  /** Rows of the item table. */
  numItems: number;
  /** Rows per round (at most `numItems`). */
  rowsPerRound: number;
  /** Rows never trained (the catalogue's new products), in the order they were added. */
  newRows?: ArrayLike<number>;
  /** Share of each round given to the rows with the largest aggregate (default 0.5). */
  exploitShare?: number;
  /**
   * The exploit share rotates through the `exploitPool` × (its size) most popular rows, a window
   * per round (default 1: the most popular rows every round). A popular row's embedding settles
   * within a few rounds of being trained every round; a pool spreads the same bytes over more of
   * the rows the shoppers click.
   */
  exploitPool?: number;
}

/** The state a server keeps across rounds (JSON-serialisable with {@link RowSchedule.toJSON}). */
export interface RowScheduleState {
  /** Position of the exploration cycle in {@link RowSchedule.cycleOrder}. */
  cursor: number;
  /** Rows not yet trained once, oldest first. */
  untrained: number[];
  /** Per row: estimated usage from its last aggregate (squared norm above the noise's), -1 = unknown. */
  usage: number[];
  /** Per row: popularity accumulated from item sketches (absent: none observed yet). */
  popularity?: number[];
  /** Where the next round's window starts in the exploit pool (absent: 0). */
  exploitOffset?: number;
}

export class RowSchedule {
  readonly numItems: number;
  readonly rowsPerRound: number;
  private readonly _exploit: number;
  private readonly _pool: number;
  private _exploitOffset = 0;
  private _cursor = 0;
  private _untrained: number[];
  private readonly _usage: Float64Array;
  private _popularity: Float64Array | null = null;

  constructor(o: RowScheduleOptions, state?: RowScheduleState) {
    if (!Number.isInteger(o.numItems) || o.numItems < 1)
      throw new RangeError(`RowSchedule: numItems must be a positive integer, got ${o.numItems}`);
    if (!Number.isInteger(o.rowsPerRound) || o.rowsPerRound < 0 || o.rowsPerRound > o.numItems)
      throw new RangeError(`RowSchedule: rowsPerRound must be an integer in [0, ${o.numItems}], got ${o.rowsPerRound}`);
    const share = o.exploitShare ?? 0.5;
    if (!(share >= 0 && share <= 1)) throw new RangeError(`RowSchedule: exploitShare must be in [0, 1], got ${share}`);
    this.numItems = o.numItems;
    this.rowsPerRound = o.rowsPerRound;
    this._exploit = Math.floor(o.rowsPerRound * share);
    const pool = o.exploitPool ?? 1;
    if (!(Number.isInteger(pool) && pool >= 1)) throw new RangeError(`RowSchedule: exploitPool must be an integer ≥ 1, got ${pool}`);
    this._pool = pool;
    this._usage = new Float64Array(o.numItems).fill(-1);
    const fresh = Array.from(o.newRows ?? [], Number);
    for (const r of fresh)
      if (!Number.isInteger(r) || r < 0 || r >= o.numItems) throw new RangeError(`RowSchedule: new row ${r} is not a row of ${o.numItems}`);
    this._untrained = [...new Set(fresh)];
    if (state) {
      this._cursor = state.cursor;
      this._exploitOffset = state.exploitOffset ?? 0;
      this._untrained = [...state.untrained];
      state.usage.forEach((u, i) => {
        if (i < o.numItems) this._usage[i] = u;
      });
      if (state.popularity) {
        this._popularity = new Float64Array(o.numItems);
        state.popularity.forEach((u, i) => {
          if (i < o.numItems) this._popularity![i] = u;
        });
      }
    }
  }

  /**
   * The rows of the next round, sorted ascending: untrained rows first (up to the whole round),
   * then the rows with the largest usage estimates (the exploit share), then the next rows of the
   * catalogue cycle. Always `rowsPerRound` distinct rows.
   */
  next(): Int32Array {
    const n = this.rowsPerRound;
    const picked = new Set<number>();
    for (const r of this._untrained) {
      if (picked.size >= n) break;
      picked.add(r);
    }
    if (picked.size < n && this._exploit > 0) {
      const score = this._popularity ?? this._usage;
      const known: number[] = [];
      for (let i = 0; i < this.numItems; i++) if (score[i]! > 0 && !picked.has(i)) known.push(i);
      known.sort((a, b) => score[b]! - score[a]! || a - b);
      const take = Math.min(this._exploit, n - picked.size);
      const pool = known.slice(0, this._exploit * this._pool);
      if (this._pool === 1 || pool.length <= take) for (const r of pool.slice(0, take)) picked.add(r);
      else {
        // This round's window of the pool, wrapping around; the next round starts after it.
        const start = this._exploitOffset % pool.length;
        for (let j = 0; j < take; j++) picked.add(pool[(start + j) % pool.length]!);
        this._exploitOffset = (start + take) % pool.length;
      }
    }
    let guard = 0;
    while (picked.size < n && guard++ < this.numItems) {
      picked.add(this._cursor);
      this._cursor = (this._cursor + 1) % this.numItems;
    }
    return Int32Array.from([...picked]).sort();
  }

  /**
   * Records a round's published aggregate: `rowDelta` holds the averaged update of `rows`
   * (`rows.length × dim`, in the order of `rows`), `noiseEnergy` the expected squared norm that
   * the noise alone gives one row (dim × the noise's variance on the average).
   */
  observe(rows: Int32Array, rowDelta: Float32Array, dim: number, noiseEnergy = 0): void {
    if (rowDelta.length !== rows.length * dim)
      throw new RangeError(`RowSchedule.observe: ${rowDelta.length} values for ${rows.length} rows of ${dim}`);
    const trained = new Set<number>();
    rows.forEach((r, k) => {
      let e = 0;
      for (let j = k * dim; j < (k + 1) * dim; j++) e += rowDelta[j]! ** 2;
      this._usage[r] = Math.max(0, e - noiseEnergy);
      trained.add(r);
    });
    this._untrained = this._untrained.filter((r) => !trained.has(r));
  }

  /**
   * Records a round's item-sketch estimates (one per row: `sketchEstimates` of the summed, noised
   * sketch), added to each row's popularity after the old scores decay by `decay` (default 0.98:
   * about the last 50 rounds count).
   */
  observePopularity(estimates: ArrayLike<number>, decay = 0.98): void {
    if (estimates.length !== this.numItems)
      throw new RangeError(`RowSchedule.observePopularity: ${estimates.length} estimates for ${this.numItems} rows`);
    if (!(decay >= 0 && decay <= 1)) throw new RangeError(`RowSchedule.observePopularity: decay must be in [0, 1], got ${decay}`);
    const p = (this._popularity ??= new Float64Array(this.numItems));
    for (let i = 0; i < this.numItems; i++) p[i] = decay * p[i]! + estimates[i]!;
  }

  /** Rows added to the catalogue (e.g. new products): trained first, from the next round. */
  addRows(rows: ArrayLike<number>): void {
    for (const r of Array.from(rows, Number)) {
      if (!Number.isInteger(r) || r < 0 || r >= this.numItems)
        throw new RangeError(`RowSchedule.addRows: ${r} is not a row of ${this.numItems}`);
      if (!this._untrained.includes(r)) this._untrained.push(r);
    }
  }

  /** Rows still waiting for their first round. */
  get untrained(): number {
    return this._untrained.length;
  }

  toJSON(): RowScheduleState {
    return {
      cursor: this._cursor,
      untrained: [...this._untrained],
      usage: Array.from(this._usage),
      ...(this._popularity ? { popularity: Array.from(this._popularity) } : {}),
      ...(this._exploitOffset > 0 ? { exploitOffset: this._exploitOffset } : {}),
    };
  }
}
