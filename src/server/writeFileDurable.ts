import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Flushes a file or a directory to disk. A rename is durable only once the directory holding it
 * is flushed too (POSIX; see the "Ensuring data reaches disk" notes of LWN 457667), hence the
 * directory variant. Directories cannot be fsynced on Windows; there the call is skipped.
 */
export function fsyncPath(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (process.platform === 'win32') return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    // EISDIR / EPERM on platforms that cannot sync directories: nothing more we can do.
    if (process.platform !== 'win32') throw err;
  } finally {
    closeSync(fd);
  }
}

/** `writeSync` until every byte is written (a single call may write fewer on some systems). */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Replaces `path` atomically and durably: writes `path.tmp`, fsyncs it, renames it over `path`
 * and fsyncs the directory. After a crash the file is either the old or the new one, never a mix.
 */
export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}
