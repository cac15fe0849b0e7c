import type { TrackedEvent } from '../track/trackedEvent';
import type { RecordResult } from './protocol';

/** Most events written in one IndexedDB transaction (~20-40 ms here): a `rank()` waits at most for one such write. */
export const WRITE_CHUNK = 500;

interface Job {
  events: TrackedEvent[];
  /** Events of this batch already written. */
  done: number;
  result: RecordResult;
  resolve(result: RecordResult): void;
  reject(err: unknown): void;
}

/**
 * The Worker's queue of event batches from the page. Each batch is written in chunks of at most
 * {@link WRITE_CHUNK} events, one chunk per operation of the Worker's serial chain; the next chunk
 * is queued behind whatever arrived meanwhile, so a `rank()` during a backlog of thousands of
 * events runs after one chunk, not after all of them. Batches keep their order.
 */
export class EventWriter {
  private readonly _jobs: Job[] = [];
  private _scheduled = false;

  constructor(
    /** Runs an operation after every earlier one (the Worker's serial chain). */
    private readonly _serial: (op: () => Promise<void>) => Promise<void>,
    /** Writes one chunk of events, in order. */
    private readonly _write: (events: TrackedEvent[]) => Promise<RecordResult>,
    private readonly _chunk = WRITE_CHUNK,
  ) {}

  /** Queues a batch; resolves once all of it has been written, with the sum of its chunks. */
  add(events: TrackedEvent[]): Promise<RecordResult> {
    return new Promise((resolve, reject) => {
      this._jobs.push({ events, done: 0, result: { handedOver: true, stored: 0, duplicates: 0, pruned: 0 }, resolve, reject });
      this._schedule();
    });
  }

  /**
   * Forgets every batch not yet written (the data is being erased): they resolve as handed over,
   * none stored. A chunk being written finishes first (it is in the serial chain before the erase).
   */
  drop(): void {
    for (const job of this._jobs.splice(0)) job.resolve(job.result);
  }

  private _schedule(): void {
    if (this._scheduled || this._jobs.length === 0) return;
    this._scheduled = true;
    void this._serial(() => this._writeNext());
  }

  private async _writeNext(): Promise<void> {
    this._scheduled = false;
    const job = this._jobs[0];
    if (!job) return;
    const chunk = job.events.slice(job.done, job.done + this._chunk);
    try {
      const r = await this._write(chunk);
      const sum = job.result;
      sum.handedOver &&= r.handedOver;
      sum.stored += r.stored;
      sum.duplicates += r.duplicates;
      sum.pruned += r.pruned;
      if (r.error) sum.error = r.error;
      job.done += chunk.length;
      if (job.done >= job.events.length && this._jobs[0] === job) {
        this._jobs.shift();
        job.resolve(sum);
      }
    } catch (err) {
      if (this._jobs[0] === job) this._jobs.shift();
      job.reject(err);
    } finally {
      this._schedule();
    }
  }
}
