import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from '../writeFileDurable';

/** What the helper remembers of one aggregation it answered. */
export interface HelperAnswer {
  roundId: string;
  /** SHA-256 (hex) of the request, so that the same request gets the same answer after a crash. */
  requestHash: string;
  /** The report ids it summed; none of them may be summed again in any other aggregation. */
  reportIds: string[];
  /** The answer as sent (its own sum, base64url; the accepted and rejected ids). */
  response: unknown;
}

/**
 * The helper's durable state, behind one interface so that a shared database can replace the
 * file (several helper processes for one deployment) without a redesign: the aggregations it has
 * answered, and through them every report id it has used. `record` is durable before it returns.
 */
export interface HelperStore {
  answers(): HelperAnswer[];
  record(answer: HelperAnswer): void;
}

/** The helper's state as one JSON file in its data directory, replaced atomically and fsynced. */
export class FileHelperStore implements HelperStore {
  private readonly _path: string;
  private _answers: HelperAnswer[];

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this._path = join(dataDir, 'helper-state.json');
    this._answers = existsSync(this._path) ? (JSON.parse(readFileSync(this._path, 'utf8')) as { answers: HelperAnswer[] }).answers : [];
  }

  answers(): HelperAnswer[] {
    return this._answers;
  }

  record(answer: HelperAnswer): void {
    const next = [...this._answers, answer];
    writeFileDurable(this._path, JSON.stringify({ format: 1, answers: next }) + '\n');
    this._answers = next;
  }
}

/** In memory only (tests). */
export class MemoryHelperStore implements HelperStore {
  private readonly _answers: HelperAnswer[] = [];
  answers(): HelperAnswer[] {
    return this._answers;
  }
  record(answer: HelperAnswer): void {
    this._answers.push(answer);
  }
}
