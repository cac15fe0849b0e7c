import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirError } from './updateStore';

/**
 * One server per data directory. Two processes on one directory once published the same version
 * names with different bytes (served as immutable), accepted one update twice and, after a
 * restart, lost track of acknowledged updates; this lock makes the second one refuse to start.
 *
 * `<data>/server.lock` holds `{ pid, host, started, token }`. It is created with `link(2)` from a
 * private temporary file, which fails if the lock exists: exactly one of two racing starts gets
 * it. A lock left by a process that died (`kill -9`, power cut) is stale when its host is this one
 * and its process no longer runs (or is another process that reused the pid: the start time read
 * from `/proc` differs), and is then taken over. A running server re-reads the file at every tick
 * ({@link DataDirLock.stillHeld}); if someone removed or replaced it by hand, the server stops
 * accepting updates instead of writing beside another process.
 *
 * Node has no `flock(2)`; a pid file with liveness check is the portable equivalent on one host.
 * It does not protect a directory shared over a network file system by two hosts running at once
 * (a lock from another host is never considered stale; remove it by hand once that host is down).
 */
export class DataDirLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes the lock of `dir` or throws {@link DataDirError} naming the process that holds it. */
  static acquire(dir: string): DataDirLock {
    const path = join(dir, 'server.lock');
    const token = randomBytes(16).toString('hex');
    const mine: LockInfo = { pid: process.pid, host: hostname(), started: processStart(process.pid), token, startedAtMs: Date.now() };
    const tmp = join(dir, `.server.lock.${token}`);
    try {
      writeSynced(tmp, JSON.stringify(mine) + '\n');
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new DataDirError(`cannot lock ${dir}: ${(err as Error).message}`);
    }
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          linkSync(tmp, path);
          return new DataDirLock(path, token);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`cannot lock ${dir}: ${(err as Error).message}`);
        }
        const held = readLock(path);
        if (held === 'unreadable') throw new DataDirError(`cannot read the lock ${path}; remove it if no server uses ${dir}`);
        if (held && isAlive(held)) {
          throw new DataDirError(
            `${dir} is in use by another aggregation server (pid ${held.pid} on ${held.host}, since ${new Date(held.startedAtMs ?? 0).toISOString()}): stop it, or use another --data directory`,
          );
        }
        // Stale: move it aside under a name of our own (rename is atomic; a racer moving it first makes ours fail, and we retry).
        try {
          renameSync(path, join(dir, `.server.lock.stale-${token}`));
          rmSync(join(dir, `.server.lock.stale-${token}`), { force: true });
        } catch {
          /* another process moved it first: try again */
        }
      }
      throw new DataDirError(`cannot lock ${dir}: another process keeps taking the lock`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /**
   * True while the lock file is still ours. A file that cannot be read for lack of resources
   * (EMFILE under a connection flood…) says nothing either way and counts as still held.
   */
  stillHeld(): boolean {
    const held = readLock(this.path);
    return held === 'unreadable' || held?.token === this.token;
  }

  /** Removes the lock if it is still ours. */
  release(): void {
    const held = readLock(this.path);
    if (held !== 'unreadable' && held?.token === this.token) rmSync(this.path, { force: true });
  }
}

interface LockInfo {
  pid: number;
  host: string;
  /** The process's start time as `/proc/<pid>/stat` gives it (clock ticks since boot), or null off Linux. */
  started: number | null;
  token: string;
  startedAtMs?: number;
}

function writeSynced(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The lock's content; null when there is none (or it is not a lock); 'unreadable' when reading failed otherwise. */
function readLock(path: string): LockInfo | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unreadable';
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info.pid === 'number' && typeof info.token === 'string' ? info : null;
  } catch {
    return null;
  }
}

/** Field 22 of `/proc/<pid>/stat` (start time), null when unreadable; a zombie counts as gone. */
function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return -1;
    return Number(fields[19]);
  } catch {
    return null;
  }
}

function isAlive(held: LockInfo): boolean {
  if (held.host !== hostname()) return true; // cannot check another host: never steal its lock
  try {
    process.kill(held.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStart(held.pid);
  if (started === -1) return false;
  return held.started === null || started === null || started === held.started;
}
