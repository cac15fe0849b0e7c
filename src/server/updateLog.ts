import { closeSync, existsSync, fstatSync, fsync, fsyncSync, ftruncateSync, openSync, readFileSync, truncateSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { dirname } from 'node:path';
import { fsyncPath, writeAllSync } from './writeFileDurable';

/**
 * The append-only log of one round's accepted updates, the server's durability guarantee: a
 * record is written and fsynced before the device gets its 2xx, so a crash (even `kill -9` or a
 * power cut) loses nothing that was acknowledged. (A record written but not yet fsynced when
 * the process dies may survive too: that update was never acknowledged, and counting it is
 * harmless: a device that retries it gets `replayed_nonce`.)
 *
 * Record layout (little-endian): `u32 payloadLength`, `u32 crc32(payload)`, then the payload:
 * `u32 metaLength`, `metaLength` bytes of UTF-8 JSON ({@link LogMeta}), and the update exactly
 * as received. A crash can leave a torn last record; reading stops at the first record that is
 * short or fails its checksum, and opening the log cuts that tail off. Such a record was never
 * acknowledged (its fsync had not returned), so dropping it loses nothing.
 */

/** What the server decided about an update when it accepted it. */
export interface LogMeta {
  /** The update's nonce (also inside `bytes`; here so start-up need not decode every update). */
  nonce: string;
  /** The update's FedAvg weight, fixed at acceptance. */
  weight: number;
  /** Versions between the update's model version and the current one at acceptance. */
  staleness: number;
  modelVersion: string;
  /** When it was accepted, ms since the epoch (rounded to the second). */
  receivedAt: number;
  /** The id of the participation token it was redeemed with (none when tokens are off). */
  tokenId?: string;
}

/** One accepted update as logged. */
export interface LogRecord {
  meta: LogMeta;
  bytes: Uint8Array;
}

/** Named error for a failed write to the data directory (the server answers 503). */
export class StorageError extends Error {
  override name = 'StorageError';
}

const RECORD_HEAD = 8;

/** Reads every intact record of a log and the byte length they span (a torn tail is excluded). */
export function readUpdateLog(path: string): { records: LogRecord[]; validLength: number } {
  if (!existsSync(path)) return { records: [], validLength: 0 };
  const buf = readFileSync(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: LogRecord[] = [];
  let at = 0;
  while (at + RECORD_HEAD <= buf.length) {
    const length = view.getUint32(at, true);
    const sum = view.getUint32(at + 4, true);
    if (at + RECORD_HEAD + length > buf.length || length < 4) break;
    const payload = buf.subarray(at + RECORD_HEAD, at + RECORD_HEAD + length);
    if (crc32(payload) !== sum) break;
    const metaLength = view.getUint32(at + RECORD_HEAD, true);
    if (4 + metaLength > length) break;
    let meta: LogMeta;
    try {
      meta = JSON.parse(payload.subarray(4, 4 + metaLength).toString('utf8')) as LogMeta;
    } catch {
      break;
    }
    records.push({ meta, bytes: new Uint8Array(payload.subarray(4 + metaLength)) });
    at += RECORD_HEAD + length;
  }
  return { records, validLength: at };
}

/**
 * An open round log: read on open, then appended to.
 *
 * Group commit: {@link append} writes a record at once (so its place in the log, and in the
 * round, is fixed synchronously) and {@link durable} resolves once an fsync that began after the
 * write has finished. Updates arriving while one fsync runs share the next one, so a disk whose
 * fsync takes milliseconds still acknowledges hundreds of updates a second, and no 2xx is ever
 * sent before its record is on disk.
 */
export class UpdateLog {
  private readonly fd: number;
  private length: number;
  /** Callers waiting for the next fsync (their records are written, not yet synced). */
  private waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private syncing = false;
  private closeWhenIdle = false;
  private failure: StorageError | null = null;

  /** Opens (or creates) the log at `path`, returning it and the records already in it. */
  static open(path: string): { log: UpdateLog; records: LogRecord[] } {
    const { records, validLength } = readUpdateLog(path);
    if (existsSync(path)) truncateSync(path, validLength);
    return { log: new UpdateLog(path, validLength), records };
  }

  private constructor(
    readonly path: string,
    length: number,
  ) {
    this.fd = openSync(path, 'a');
    this.length = length;
    // A new file's directory entry is durable only once the directory is flushed.
    fsyncSync(this.fd);
    fsyncPath(dirname(path));
  }

  /**
   * Appends one record (not yet fsynced: see {@link durable}). On a failed write the file is cut
   * back to its previous length, so a refused update is never half in the log, and a
   * {@link StorageError} is thrown.
   */
  append(meta: LogMeta, bytes: Uint8Array): void {
    if (this.failure) throw this.failure;
    const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
    const payloadLength = 4 + metaBytes.length + bytes.length;
    const record = Buffer.allocUnsafe(RECORD_HEAD + payloadLength);
    record.writeUInt32LE(payloadLength, 0);
    record.writeUInt32LE(metaBytes.length, RECORD_HEAD);
    metaBytes.copy(record, RECORD_HEAD + 4);
    record.set(bytes, RECORD_HEAD + 4 + metaBytes.length);
    record.writeUInt32LE(crc32(record.subarray(RECORD_HEAD)), 4);
    try {
      writeAllSync(this.fd, record);
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.length);
      } catch {
        /* the checksum still marks the torn record invalid on the next start */
      }
      throw new StorageError(`cannot append to ${this.path}: ${(err as Error).message}`);
    }
    this.length += record.length;
  }

  /**
   * Resolves once every record appended so far is on disk (an fsync begun after the call has
   * returned). Rejects with {@link StorageError} if the fsync fails; the log then refuses further
   * appends: after a failed fsync the kernel may have dropped the data, so the only safe course
   * is to restart and recover from what is really on disk.
   */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.syncing) this.syncNext();
    return p;
  }

  /** fsyncs now, synchronously, and releases every waiter (before the round is aggregated). */
  flushSync(): void {
    if (this.failure) throw this.failure;
    try {
      fsyncSync(this.fd);
    } catch (err) {
      this.fail(err as Error);
      throw this.failure!;
    }
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  /** Bytes in the log (for tests and status). */
  size(): number {
    return fstatSync(this.fd).size;
  }

  /** Closes the file once no fsync is running on it (its descriptor must not be reused under one). */
  close(): void {
    if (this.syncing) this.closeWhenIdle = true;
    else closeSync(this.fd);
  }

  private syncNext(): void {
    const batch = this.waiting.splice(0);
    this.syncing = true;
    fsync(this.fd, (err) => {
      this.syncing = false;
      if (err) this.fail(err);
      for (const w of batch) {
        if (this.failure) w.reject(this.failure);
        else w.resolve();
      }
      if (this.closeWhenIdle) {
        for (const w of this.waiting.splice(0)) w.resolve(); // flushSync ran before the close
        closeSync(this.fd);
      } else if (this.waiting.length > 0) {
        this.syncNext();
      }
    });
  }

  private fail(err: Error): void {
    this.failure ??= new StorageError(`fsync of ${this.path} failed (${err.message}); restart the server to recover from disk`);
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
