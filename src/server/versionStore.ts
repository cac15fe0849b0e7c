import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readModelDir, writeModelDir, MODEL_FILES, type ModelWeights } from '../node/modelDir';
import type { ModelManifest } from '../model/plain/modelFile';
import { DataDirError } from './updateStore';
import { fsyncPath } from './writeFileDurable';

/**
 * Published model versions, one directory each, laid out exactly like a trained model so the
 * browser's `fetchModelFiles` reads them unchanged:
 *
 * ```
 * versions/<version>/model.json, weights.bin, vocab.txt   served (int8, what devices download)
 * versions/<version>/float/                                the float32 master, never served
 * ```
 *
 * Rounds add to the float32 master and publish its int8 quantization, like the trainer does
 * (`<out>` and `<out>/float`), so quantization error does not pile up from round to round.
 * A version is written to a temporary directory and renamed into place: it appears whole or not
 * at all. Versions are never rewritten once committed; only the newest few are kept
 * ({@link VersionStore.pruneVersions}), and only the current one keeps its float master.
 */

/** The files of a version that may be served. */
export const SERVED_FILES: readonly string[] = [MODEL_FILES.manifest, MODEL_FILES.weights, MODEL_FILES.vocab];

/** Only these characters appear in a version name, so it is safe in a path and a URL. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A model as the server holds it: the float32 master weights and the vocabulary. */
export interface MasterModel {
  manifest: ModelManifest;
  weights: ModelWeights;
  vocab: string[];
}

function fsyncTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) fsyncTree(p);
    else fsyncPath(p);
  }
  fsyncPath(dir);
}

/** The `versions/` directory of a data directory. */
export class VersionStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Directory of a version. */
  path(version: string): string {
    if (!VERSION_PATTERN.test(version)) throw new RangeError(`not a version name: ${version}`);
    return join(this.dir, version);
  }

  /**
   * Brings the base model into the store as the first version: its served files are copied byte
   * for byte (the shop may serve the same version elsewhere; one version, one content), and its
   * float master is the trainer's `float/` copy when present, else the dequantized int8 weights.
   */
  importBase(modelDir: string): MasterModel {
    const base = readModelDir(modelDir);
    const version = base.manifest.modelVersion;
    if (!VERSION_PATTERN.test(version)) throw new DataDirError(`the base model's version "${version}" is not a usable name`);
    if (base.manifest.weightsFile !== MODEL_FILES.weights || base.manifest.vocabFile !== MODEL_FILES.vocab) {
      throw new DataDirError(`the base model must name its files ${MODEL_FILES.weights} and ${MODEL_FILES.vocab}`);
    }
    let master = base;
    const floatDir = join(modelDir, 'float');
    if (existsSync(join(floatDir, MODEL_FILES.manifest))) {
      const float = readModelDir(floatDir);
      if (float.manifest.modelVersion === version) master = float;
    }
    if (!existsSync(this.path(version))) {
      this.commit(version, (tmp) => {
        for (const f of SERVED_FILES) copyFileSync(join(modelDir, f), join(tmp, f));
        this.writeMaster(tmp, master.weights, base.vocab, version);
      });
    }
    return { manifest: base.manifest, weights: master.weights, vocab: base.vocab };
  }

  /** Publishes a new version from float32 weights (int8 served files + float master), atomically. */
  publish(version: string, weights: ModelWeights, vocab: string[], metadata: Record<string, unknown>): void {
    this.commit(version, (tmp) => {
      writeModelDir(tmp, weights, vocab, { int8: true, modelVersion: version, metadata });
      this.writeMaster(tmp, weights, vocab, version);
    });
  }

  /** Reads a version's float master (for resuming after a restart). */
  readMaster(version: string): MasterModel {
    const dir = this.path(version);
    const float = readModelDir(join(dir, 'float'));
    return { manifest: float.manifest, weights: float.weights, vocab: float.vocab };
  }

  /** Deletes the float masters of versions other than `keep` (only the current one is needed). */
  pruneMasters(keep: ReadonlySet<string>): void {
    for (const name of readdirSync(this.dir)) {
      if (!VERSION_PATTERN.test(name) || keep.has(name)) continue;
      rmSync(join(this.dir, name, 'float'), { recursive: true, force: true });
    }
  }

  /**
   * Deletes published versions outside `keep` (the retention window): their files are never
   * served again, and an update trained on one is too stale to accept anyway.
   */
  pruneVersions(keep: ReadonlySet<string>): void {
    for (const name of readdirSync(this.dir)) {
      if (VERSION_PATTERN.test(name) && !keep.has(name)) rmSync(join(this.dir, name), { recursive: true, force: true });
    }
  }

  /** Bytes a version takes on disk (served files and float master): what one more close needs. */
  sizeOf(version: string): number {
    const walk = (dir: string): number =>
      readdirSync(dir).reduce((n, f) => {
        const p = join(dir, f);
        const st = statSync(p);
        return n + (st.isDirectory() ? walk(p) : st.size);
      }, 0);
    return walk(this.path(version));
  }

  private writeMaster(dir: string, weights: ModelWeights, vocab: string[], version: string): void {
    writeModelDir(join(dir, 'float'), weights, vocab, { int8: false, modelVersion: version, vocabPath: join(dir, MODEL_FILES.vocab) });
  }

  /**
   * Writes a version in a temporary directory, flushes it, then renames it into place. A
   * directory of the same name can only be a leftover of a crash before the state commit (a
   * committed version is never published twice), so it is replaced.
   */
  private commit(version: string, write: (tmp: string) => void): void {
    const final = this.path(version);
    const tmp = join(this.dir, `.tmp-${version}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    write(tmp);
    fsyncTree(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    fsyncPath(this.dir);
  }
}
