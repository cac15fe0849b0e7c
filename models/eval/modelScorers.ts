import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import { useWasmBackend } from '../nodeBackend';
import { readModelDir, type ModelWeights } from '../../src/node/modelDir';
import type { SessionScorer } from './scorer';

/**
 * Adapts a {@link SessionModel} to the harness. When the data set's vocabulary differs from the
 * model's (another order, or items the model never saw), prefixes are mapped into the model's
 * indices and scores back; items unknown to the model score -Infinity.
 */
export class ModelScorer implements SessionScorer {
  private readonly _toModel: Int32Array | null;

  constructor(
    readonly name: string,
    readonly model: SessionModel,
    modelVocab: string[],
    dataVocab: string[],
  ) {
    const same = modelVocab.length === dataVocab.length && modelVocab.every((v, i) => v === dataVocab[i]);
    if (same) {
      this._toModel = null;
    } else {
      const index = new Map(modelVocab.map((v, i) => [v, i]));
      this._toModel = Int32Array.from(dataVocab, (v) => index.get(v) ?? -1);
    }
  }

  scoreBatch(prefixes: Int32Array[], out: Float32Array): void {
    const map = this._toModel;
    const mapped = map ? prefixes.map((p) => Int32Array.from(p, (i) => map[i]!).filter((i) => i >= 0)) : prefixes;
    const scores = this.model.scorePrefixes(mapped);
    const data = scores.dataSync() as Float32Array;
    scores.dispose();
    if (!map) {
      out.set(data);
      return;
    }
    const n = this.model.config.numItems;
    const m = map.length;
    for (let b = 0; b < prefixes.length; b++) {
      for (let i = 0; i < m; i++) out[b * m + i] = map[i]! >= 0 ? data[b * n + map[i]!]! : -Infinity;
    }
  }
}

/** Builds a scorer from in-memory weights (used for validation during training). */
export function scorerFromWeights(name: string, w: ModelWeights, vocab: string[]): ModelScorer {
  return new ModelScorer(name, new SessionModel(w.config, w.items, w.dense), vocab, vocab);
}

/**
 * Loads the shipped int8 model of `modelDir` and the float model it was made from
 * (`modelDir/float`), as scorers over `dataVocab`.
 */
export async function loadModelScorers(modelDir: string, dataVocab: string[]): Promise<{ float: SessionScorer; int8: SessionScorer }> {
  await useWasmBackend();
  const floatDir = join(modelDir, 'float');
  if (!existsSync(join(floatDir, 'model.json')))
    throw new Error(`${floatDir}/model.json not found: the float model is written there by npm run train`);
  const load = (dir: string, name: string): ModelScorer => {
    const { weights, vocab } = readModelDir(dir);
    return new ModelScorer(name, new SessionModel(weights.config, weights.items, weights.dense), vocab, dataVocab);
  };
  return { int8: load(modelDir, 'int8'), float: load(floatDir, 'float') };
}
