import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { denseShapes, type ModelConfig } from '../model/plain/modelConfig';
import {
  checkManifest,
  decodeWeights,
  encodeTensors,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  parseVocab,
  type ModelManifest,
  type TensorToStore,
} from '../model/plain/modelFile';

/** Weights of a session model as float32 arrays, as trained or as decoded from a file. */
export interface ModelWeights {
  config: ModelConfig;
  items: Float32Array;
  dense: Map<string, Float32Array>;
}

/** File names inside a model directory. */
export const MODEL_FILES = { manifest: 'model.json', weights: 'weights.bin', vocab: 'vocab.txt' } as const;

function writeAtomic(path: string, data: string | Uint8Array): void {
  writeFileSync(path + '.tmp', data);
  renameSync(path + '.tmp', path);
}

/**
 * Writes a model directory: `model.json`, `weights.bin` and (unless `vocabPath` points at an
 * existing one) `vocab.txt`. `int8` stores every matrix as int8 with per-row scales for the item
 * table and per-output-column scales for dense matrices; biases stay float32.
 * Returns the bytes written per file.
 */
export function writeModelDir(
  dir: string,
  w: ModelWeights,
  vocab: string[],
  opts: { int8: boolean; modelVersion: string; metadata?: Record<string, unknown>; vocabPath?: string },
): Record<string, number> {
  mkdirSync(dir, { recursive: true });
  const enc = (shape: number[]): 'int8' | 'float32' => (opts.int8 && shape.length === 2 ? 'int8' : 'float32');
  const tensors: TensorToStore[] = [
    { name: 'items', shape: [w.config.numItems, w.config.embedDim], data: w.items, encoding: enc([0, 0]), axis: 0 },
  ];
  for (const [name, shape] of denseShapes(w.config)) {
    tensors.push({ name, shape, data: w.dense.get(name)!, encoding: enc(shape), axis: 1 });
  }
  const { entries, buffer } = encodeTensors(tensors);
  const vocabFile = opts.vocabPath ? relative(dir, opts.vocabPath) : MODEL_FILES.vocab;
  if (!opts.vocabPath) writeAtomic(join(dir, MODEL_FILES.vocab), vocab.join('\n') + '\n');
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    modelVersion: opts.modelVersion,
    config: w.config,
    weightsFile: MODEL_FILES.weights,
    vocabFile,
    tensors: entries,
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
  };
  writeAtomic(join(dir, MODEL_FILES.weights), buffer);
  writeAtomic(join(dir, MODEL_FILES.manifest), JSON.stringify(manifest, null, 1) + '\n');
  const sizes: Record<string, number> = {};
  for (const f of [MODEL_FILES.manifest, MODEL_FILES.weights]) sizes[f] = statSync(join(dir, f)).size;
  sizes[vocabFile] = statSync(join(dir, vocabFile)).size;
  return sizes;
}

/** Reads a model directory written by {@link writeModelDir} (int8 tensors are dequantised). */
export function readModelDir(dir: string): { manifest: ModelManifest; weights: ModelWeights; vocab: string[] } {
  const manifest = checkManifest(JSON.parse(readFileSync(join(dir, MODEL_FILES.manifest), 'utf8')));
  const buf = readFileSync(join(dir, manifest.weightsFile));
  const { items, dense } = decodeWeights(manifest, buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const vocab = parseVocab(readFileSync(join(dir, manifest.vocabFile), 'utf8'), manifest.config.numItems);
  return { manifest, weights: { config: manifest.config, items, dense }, vocab };
}

/** Writes `metadata.json` beside a model (merged into any existing one). */
export function writeMetadata(dir: string, patch: Record<string, unknown>): void {
  const path = join(dir, 'metadata.json');
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first write */
  }
  mkdirSync(dirname(path), { recursive: true });
  writeAtomic(path, JSON.stringify({ ...current, ...patch }, null, 2) + '\n');
}
