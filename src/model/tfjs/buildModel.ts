import type { ModelFiles } from '../plain/modelFiles';
import { SessionModel } from './sessionModel';

/** A model fetched and decoded: ready to score, with its vocabulary and manifest. */
export interface FetchedModel {
  manifest: ModelFiles['manifest'];
  model: SessionModel;
  /** Item ids, index → id. */
  vocab: string[];
  /** Item id → index, for the ids found on a page. */
  index: Map<string, number>;
  /** Bytes downloaded (manifest + weights + vocabulary). */
  bytes: number;
  /** The weights as decoded (float32): the starting point of on-device training. */
  files: ModelFiles;
}

/** Builds the {@link SessionModel} (tensors on the current tfjs backend) from fetched files. */
export function buildModel(files: ModelFiles): FetchedModel {
  return {
    manifest: files.manifest,
    model: new SessionModel(files.manifest.config, files.items, files.dense),
    vocab: files.vocab,
    index: new Map(files.vocab.map((id, i) => [id, i])),
    bytes: files.bytes,
    files,
  };
}
