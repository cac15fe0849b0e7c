import type { SketchAnnouncement } from '../announcedSketch';
import type { NamedWeights } from '../federatedDelta';
import { sketchHash } from '../itemSketch';
import { LocalTrainer } from '../localTrainer';
import { makeUpdate } from '../makeUpdate';
import { gatherRows } from '../../model/tfjs/sessionLoss';
import type { ModelConfig } from '../../model/plain/modelConfig';
import type { SecureReportHeader, SecureRoundInfo } from '../secureAggregation/secureReport';

/**
 * One contribution's compute, from the published weights to the bytes that leave the device:
 * local training on the device's sessions (dense tensors and the round's announced rows), then the
 * report (with the item sketch of those same sessions when the round asks for one; clip, noise,
 * int8; for a secure round also the shares and the sealed seed). It is all
 * the CPU-heavy work of a contribution, in one plain function so that it runs the same in a
 * Worker of its own (`trainingWorker.ts`, the browser's path: the SDK's Worker keeps answering
 * ranks meanwhile) and in the caller's thread (Node, tests, and browsers where that Worker cannot
 * start). Everything in a job is structured-cloneable.
 */
export interface TrainingJob {
  config: ModelConfig;
  /** The item table of the model the device runs (`numItems × embedDim`). */
  items: Float32Array;
  /** Every dense tensor of that model, by name. */
  dense: NamedWeights;
  /** The device's sessions (item indices, at least two each). */
  sessions: number[][];
  /** The round's announced item rows (may be empty). */
  rows: Int32Array;
  /** The round's item sketch (checked: see announcedSketch.ts), or null when it asks for none. */
  sketch: SketchAnnouncement | null;
  epochs: number;
  lr: number;
  modelVersion: string;
  roundId: string;
  clipNorm: number;
  noiseStd: number;
  /** A secure round's parameters; null for a plain update. */
  secure: SecureRoundInfo | null;
  /** Return a secure report's header and codes before masking (the test build's hook); off otherwise. */
  keepCodes: boolean;
}

/** What a job gives back: the report's bytes and what the training did. */
export interface TrainedReport {
  body: Uint8Array;
  examples: number;
  firstLoss: number;
  lastLoss: number;
  /** With `keepCodes`: the secure report's header and its values before masking. */
  secureReport?: { header: SecureReportHeader; codes: Int8Array };
}

/**
 * Runs a {@link TrainingJob}. `yieldFn` is awaited between training steps (the in-thread path
 * passes a macrotask so that rank calls are answered between steps). Throws what the trainer or
 * the report throws (e.g. `UpdateTooLargeError`).
 */
export async function trainAndReport(job: TrainingJob, yieldFn?: () => Promise<void> | void): Promise<TrainedReport> {
  const { config, rows } = job;
  const trainer = new LocalTrainer(config, job.items, { rows });
  let trained;
  try {
    trained = await trainer.train(job.dense, job.sessions, { epochs: job.epochs, lr: job.lr, ...(yieldFn ? { yieldFn } : {}) });
  } finally {
    trainer.dispose();
  }
  const inputs = {
    before: job.dense,
    after: trained.weights,
    config,
    ...(rows.length > 0 ? { rows: { start: gatherRows(rows, job.items, config.embedDim), trained: trained.rows! } } : {}),
    ...(job.sketch ? { sketch: { hash: sketchHash(job.sketch.buckets, job.sketch.seed), sessions: job.sessions } } : {}),
    modelVersion: job.modelVersion,
    clipNorm: job.clipNorm,
    noiseStd: job.noiseStd,
  };
  const done = { examples: trained.examples, firstLoss: trained.firstEpochLoss, lastLoss: trained.lastEpochLoss };
  if (!job.secure) return { ...done, body: makeUpdate({ ...inputs, roundId: job.roundId, exampleCount: trained.examples }) };
  // The secure-report code (with HPKE) is its own chunk, loaded only for a secure round.
  const { makeSecureReport } = await import('../secureAggregation/secureReport');
  const report = await makeSecureReport({ ...inputs, round: job.secure });
  return { ...done, body: report.bytes, ...(job.keepCodes ? { secureReport: { header: report.header, codes: report.codes } } : {}) };
}
