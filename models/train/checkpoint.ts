import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionTrainer } from './sessionTrainer';
import type { TrainSettings } from './trainSettings';

/** Where a run stands: enough to continue it bit-for-bit after `--resume`. */
export interface TrainProgress {
  epoch: number;
  /** Batches of `epoch` already done. */
  batch: number;
  /** RNG state at the start of `epoch` (replays the epoch's batch plan). */
  epochRngState: number;
  /** RNG state now (negative samples continue from here). */
  rngState: number;
  globalStep: number;
  /** Training seconds accumulated over all sessions of the run. */
  seconds: number;
  /** Validation results after each finished epoch. */
  history: Array<{
    epoch: number;
    loss: number;
    recall20?: number;
    mrr20?: number;
    averaged?: { recall20: number; mrr20: number; snapshots: number };
  }>;
}

interface CheckpointHeader {
  settings: TrainSettings;
  progress: TrainProgress;
  itemStep: number;
  /** Snapshots in the weight average (absent or 0: none). */
  averageCount?: number;
  arrays: Array<{ name: string; shape: number[]; length: number }>;
}

const FILES = { header: 'checkpoint.json', data: 'checkpoint.bin' };

/**
 * Saves the trainer's full state (weights and both optimisers' moments) into `dir`. Each file is
 * written to a temporary name and renamed, so a crash mid-save leaves the previous checkpoint.
 */
export async function saveCheckpoint(dir: string, trainer: SessionTrainer, progress: TrainProgress): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const arrays: Array<{ name: string; shape: number[]; data: Float32Array }> = [
    { name: 'items', shape: [trainer.items.length], data: trainer.items },
    { name: 'items/m', shape: [trainer.items.length], data: trainer.itemOptimizer.m },
    { name: 'items/v', shape: [trainer.items.length], data: trainer.itemOptimizer.v },
  ];
  for (const [name, v] of trainer.dense) arrays.push({ name, shape: v.shape, data: v.dataSync() as Float32Array });
  for (const w of await trainer.optimizer.getWeights()) {
    arrays.push({ name: `adam:${w.name}`, shape: w.tensor.shape, data: (await w.tensor.data()) as Float32Array });
  }
  const avg = trainer.average;
  if (avg && avg.count > 0) {
    arrays.push({ name: 'avg:items', shape: [avg.items.length], data: avg.items });
    for (const [name, sum] of avg.dense) arrays.push({ name: `avg:${name}`, shape: [sum.length], data: sum });
  }
  const header: CheckpointHeader = {
    settings: trainer.settings,
    progress,
    itemStep: trainer.itemOptimizer.step,
    averageCount: avg?.count ?? 0,
    arrays: arrays.map((a) => ({ name: a.name, shape: a.shape, length: a.data.length })),
  };
  const total = arrays.reduce((n, a) => n + a.data.length, 0);
  const blob = new Float32Array(total);
  let off = 0;
  for (const a of arrays) {
    blob.set(a.data, off);
    off += a.data.length;
  }
  writeFileSync(join(dir, FILES.data + '.tmp'), new Uint8Array(blob.buffer));
  writeFileSync(join(dir, FILES.header + '.tmp'), JSON.stringify(header));
  renameSync(join(dir, FILES.data + '.tmp'), join(dir, FILES.data));
  renameSync(join(dir, FILES.header + '.tmp'), join(dir, FILES.header));
}

/** True when `dir` holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, FILES.header)) && existsSync(join(dir, FILES.data));
}

/** Settings stored in the checkpoint in `dir` (to rebuild the trainer before {@link loadCheckpoint}). */
export function checkpointSettings(dir: string): TrainSettings {
  const saved = (JSON.parse(readFileSync(join(dir, FILES.header), 'utf8')) as CheckpointHeader).settings;
  // Checkpoints from before these options lack them: 0.
  return { ...saved, dropout: saved.dropout ?? 0, repeat: saved.repeat ?? 0, averageEpochs: saved.averageEpochs ?? 0 };
}

/** Restores weights and optimiser state saved by {@link saveCheckpoint}; returns the progress. */
export async function loadCheckpoint(dir: string, trainer: SessionTrainer): Promise<TrainProgress> {
  const header = JSON.parse(readFileSync(join(dir, FILES.header), 'utf8')) as CheckpointHeader;
  const buf = readFileSync(join(dir, FILES.data));
  const blob = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  let off = 0;
  const adam: Array<{ name: string; tensor: tf.Tensor }> = [];
  for (const a of header.arrays) {
    const data = blob.subarray(off, off + a.length);
    off += a.length;
    if (a.name === 'items') trainer.items.set(data);
    else if (a.name === 'items/m') trainer.itemOptimizer.m.set(data);
    else if (a.name === 'items/v') trainer.itemOptimizer.v.set(data);
    else if (a.name.startsWith('avg:')) {
      const sum = a.name === 'avg:items' ? trainer.average?.items : trainer.average?.dense.get(a.name.slice(4));
      if (!sum) throw new Error(`checkpoint has an unknown tensor ${a.name}`);
      sum.set(data);
    } else if (a.name.startsWith('adam:')) adam.push({ name: a.name.slice(5), tensor: tf.tensor(Float32Array.from(data), a.shape) });
    else {
      const v = trainer.dense.get(a.name);
      if (!v) throw new Error(`checkpoint has an unknown tensor ${a.name}`);
      v.assign(tf.tensor(Float32Array.from(data), a.shape));
    }
  }
  // The first entry is Adam's iteration count, then first and second moments, as getWeights gave them.
  await trainer.optimizer.setWeights(adam);
  trainer.itemOptimizer.step = header.itemStep;
  if (trainer.average) trainer.average.count = header.averageCount ?? 0;
  trainer.rng.state = header.progress.rngState;
  return header.progress;
}
