import { chmodSync, closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataDirError } from './updateStore';
import { fsyncPath, writeAllSync } from './writeFileDurable';

/**
 * Writes a file only the server's user may read (a private key), atomically and durably: a temp
 * file created 0600 (any leftover of a crash removed first, since it may have any mode), fsync,
 * rename, fsync of the directory.
 */
export function writeSecretFile(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    if (process.platform !== 'win32') fchmodSync(fd, 0o600);
    writeAllSync(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

/** Makes `path` private again if someone loosened its mode; throws `DataDirError` if it cannot. */
export function keepPrivate(path: string): void {
  if (process.platform === 'win32' || (statSync(path).mode & 0o077) === 0) return;
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    throw new DataDirError(`${path}: readable by others and cannot be made private (${(err as Error).message})`);
  }
}
