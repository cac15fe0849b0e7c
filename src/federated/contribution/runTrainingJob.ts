import type { BackendPreference } from '../../config/config';
import { oneShotWorker } from './oneShotWorker';
import { trainAndReport, type TrainedReport, type TrainingJob } from './trainAndReport';

/** Where the SDK's Worker may start the training Worker, and on which backend. */
export interface TrainingWorkerOptions {
  /** The backend the SDK's Worker runs (the training Worker tries it first, then the others). */
  backend: BackendPreference;
}

/** A training job's report, and the thread that computed it. */
export type RanJob = TrainedReport & { inWorker: boolean };

/**
 * Runs a contribution's training and report ({@link trainAndReport}) in
 * `edge-personalize.training-worker.js` when `worker` is given and that Worker starts, else in
 * this thread between macrotasks (`yieldFn`). The Worker is ended when the job is done.
 * Rejects with the job's own error (its name kept, e.g. `UpdateTooLargeError`).
 */
export async function runTrainingJob(
  job: TrainingJob,
  worker: TrainingWorkerOptions | undefined,
  yieldFn: () => Promise<void>,
): Promise<RanJob> {
  const inWorker = worker ? await trainingInWorker(job, worker.backend) : null;
  if (inWorker) return { ...inWorker, inWorker: true };
  return { ...(await trainAndReport(job, yieldFn)), inWorker: false };
}

/** The job in `edge-personalize.training-worker.js` beside this chunk; null when that Worker cannot start. */
async function trainingInWorker(job: TrainingJob, backend: BackendPreference): Promise<TrainedReport | null> {
  const url = new URL('./edge-personalize.training-worker.js', import.meta.url);
  return (await oneShotWorker<{ report: TrainedReport }>(url, 'edge-personalize-training', { job, backend }, 120_000))?.report ?? null;
}
