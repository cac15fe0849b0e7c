/**
 * A contribution's training and report in a Worker of its own (`edge-personalize.training-worker.js`),
 * started by the SDK's Worker for one contribution and ended after it (see runTrainingJob.ts).
 * A training step is one synchronous tfjs computation that cannot be split (with a round's
 * announced rows, hundreds of ms on the demo model in Node on tfjs-wasm), and the report's shares
 * and noise more: run in the SDK's Worker, a rank asked meanwhile waited up to 140 ms in
 * Chromium (`npm run bench -- --only secure-device`). Here they run on another thread, on the backend the SDK's Worker chose.
 * Message in: `{ job, backend }`; out: `{ report }` or `{ error: { name, message } }`.
 */
import type { BackendPreference } from '../../config/config';
import { startBackend } from '../../worker/mlRuntime';
import { trainAndReport, type TrainingJob } from './trainAndReport';

addEventListener('message', (e: MessageEvent<{ job: TrainingJob; backend: BackendPreference }>) => {
  // The .wasm files sit beside this file, as beside the SDK's Worker.
  startBackend(e.data.backend, new URL('./', import.meta.url).href)
    .then(() => trainAndReport(e.data.job))
    .then(
      (report) => postMessage({ report }, { transfer: [report.body.buffer] }),
      (err: Error) => postMessage({ error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) } }),
    );
});
