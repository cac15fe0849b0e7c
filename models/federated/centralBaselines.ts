import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { formatDuration } from '../../src/node/cliArgs';
import { FEDERATED_TENSORS } from '../../src/federated/modelUpdate';
import { Random } from '../random';
import { readModelDir, writeModelDir, type ModelWeights } from '../../src/node/modelDir';
import { planEpoch } from '../train/planEpoch';
import { buildBatch, windowSessions } from '../../src/model/tfjs/sessionLoss';
import { SessionTrainer } from '../train/sessionTrainer';
import type { TrainSettings } from '../train/trainSettings';

/** How a centralized run is trained: the trainer's settings plus which tensors may change. */
export interface CentralRun {
  settings: TrainSettings;
  /** Train only `FEDERATED_TENSORS` (item table and input-side weights frozen). */
  federatedOnly: boolean;
  /** Cache key of the starting weights ('' = fresh initialisation). */
  startKey: string;
  /**
   * Only the item rows of the this many items most frequent in the training sessions may change
   * (absent or 0 = every row): an oracle for diagnosis, the rows a federated round could announce.
   */
  rowLimit?: number;
}

/** A short stable key of a run's settings: the cache directory name. */
export function runKey(label: string, run: CentralRun, sessions: number, numItems: number): string {
  const h = createHash('sha256').update(JSON.stringify({ run, sessions, numItems })).digest('hex').slice(0, 10);
  return `${label}-${h}`;
}

/**
 * Trains with the centralized trainer (sampled softmax with log-Q, Adam, linear lr decay, batch
 * order shuffled per epoch) and caches the float weights under `cacheDir/key`; a second call with
 * the same key reads them back. With `federatedOnly` the run starts from `start` and, after every
 * step, restores the frozen tensors (the item table's learning rate is 0 and the input-side dense
 * weights are re-assigned), so exactly the tensors a device trains can change.
 */
export async function trainCentral(
  cacheDir: string,
  key: string,
  run: CentralRun,
  sessions: Int32Array[],
  numItems: number,
  vocab: string[],
  start: ModelWeights | null,
  log: (m: string) => void,
): Promise<ModelWeights> {
  const dir = join(cacheDir, key);
  if (existsSync(join(dir, 'model.json'))) {
    log(`${key}: cached in ${dir}`);
    return readModelDir(dir).weights;
  }
  const s = run.settings;
  const counts = new Float64Array(numItems);
  for (const x of sessions) for (const i of x) counts[i]! += 1;
  const trainer = new SessionTrainer(s, numItems, counts);
  if (run.rowLimit) {
    const top = [...counts.keys()].sort((a, b) => counts[b]! - counts[a]! || a - b).slice(0, run.rowLimit);
    trainer.itemOptimizer.trainable = new Uint8Array(numItems);
    for (const i of top) trainer.itemOptimizer.trainable[i] = 1;
  }
  const frozen = new Map<string, tf.Tensor>();
  if (start) {
    trainer.items.set(start.items);
    for (const [name, v] of trainer.dense) v.assign(tf.tensor(start.dense.get(name)!, v.shape));
  }
  if (run.federatedOnly) {
    for (const [name, v] of trainer.dense) if (!(FEDERATED_TENSORS as readonly string[]).includes(name)) frozen.set(name, tf.clone(v));
  }
  const windows = windowSessions(sessions, s.maxLen);
  const perEpoch = Math.ceil(windows.length / s.batchSize);
  const total = perEpoch * s.epochs;
  const started = performance.now();
  let step = 0;
  let last = started;
  let lossAvg = NaN;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const plan = planEpoch(windows, s.batchSize, trainer.rng);
    for (const b of plan) {
      trainer.setLearningRate(s.lr * (1 - (1 - s.lrFinal) * (step / total)));
      if (run.federatedOnly) trainer.itemOptimizer.lr = 0;
      const loss = trainer.step(buildBatch(b));
      for (const [name, t] of frozen) trainer.dense.get(name)!.assign(t);
      lossAvg = Number.isNaN(lossAvg) ? loss : 0.98 * lossAvg + 0.02 * loss;
      step++;
      const now = performance.now();
      if (now - last > 15_000) {
        const sec = (now - started) / 1000;
        log(
          `${key}: epoch ${epoch + 1}/${s.epochs} step ${step}/${total} loss ${lossAvg.toFixed(4)} elapsed ${formatDuration(sec)} ETA ${formatDuration((sec / step) * (total - step))}`,
        );
        last = now;
      }
    }
  }
  tf.dispose([...frozen.values()]);
  const dense = new Map([...trainer.denseData()].map(([n, a]) => [n, Float32Array.from(a)] as const));
  const weights: ModelWeights = { config: trainer.config, items: trainer.items, dense };
  for (const v of trainer.dense.values()) v.dispose();
  trainer.optimizer.dispose();
  writeModelDir(dir, weights, vocab, {
    int8: false,
    modelVersion: key,
    metadata: { run, sessions: sessions.length, seconds: Math.round((performance.now() - started) / 1000) },
  });
  log(`${key}: trained in ${formatDuration((performance.now() - started) / 1000)}, cached in ${dir}`);
  return weights;
}

/** Reads a JSON file, or null if it does not exist or is unreadable. */
export function readJsonMaybe<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Seeded sample of `n` elements of `xs` (all of them when n ≥ length), in a stable order. */
export function sample<T>(xs: readonly T[], n: number, seed: number): T[] {
  if (n >= xs.length) return [...xs];
  return new Random(seed).shuffle([...xs]).slice(0, n);
}
