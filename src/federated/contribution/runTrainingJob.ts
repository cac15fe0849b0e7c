import type { BackendPreference } from '../../config/config';
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

/**
 * The job in `edge-personalize.training-worker.js` beside this chunk. Null when no such Worker
 * can start here (no nested Workers, a CSP, the SDK served from another origin) or it fails to
 * load: the caller then runs the job itself.
 */
function trainingInWorker(job: TrainingJob, backend: BackendPreference): Promise<TrainedReport | null> {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./edge-personalize.training-worker.js', import.meta.url), {
      type: 'module',
      name: 'edge-personalize-training',
    });
  } catch {
    return Promise.resolve(null);
  }
  return new Promise<TrainedReport | null>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      worker.terminate();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the training Worker did not answer within 120 s'));
    }, 120_000);
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      done();
      resolve(null); // could not load (blocked, missing): the job runs in this thread
    });
    worker.addEventListener('message', (e: MessageEvent<{ report?: TrainedReport; error?: { name: string; message: string } }>) => {
      done();
      if (e.data.report) return resolve(e.data.report);
      const { name, message } = e.data.error ?? { name: 'Error', message: 'the training Worker failed' };
      reject(Object.assign(new Error(message), { name }));
    });
    worker.postMessage({ job, backend });
  });
}
