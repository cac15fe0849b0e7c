import { wrap, type Remote } from 'comlink';
import { sdkError } from '../errors';
import type { WorkerApi } from './protocol';

/** A started Worker, its comlink proxy, and a promise that rejects if the Worker dies. */
export interface WorkerHandle {
  api: Remote<WorkerApi>;
  /** Rejects with a WorkerUnavailableError when the script fails to load or the Worker errors. */
  failed: Promise<never>;
  terminate(): void;
}

/**
 * Starts the SDK's module Worker. A Worker script must be same-origin with the page, so a
 * cross-origin script (the SDK on a CDN) is started through a one-line `blob:` module that
 * imports it. Throws a WorkerUnavailableError when the browser or the page's CSP refuses.
 */
export function startWorker(url: string): WorkerHandle {
  let worker: Worker;
  let shim: string | null = null;
  try {
    const abs = new URL(url, location.href);
    const src =
      abs.origin === location.origin
        ? abs
        : (shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(abs.href)};`], { type: 'text/javascript' })));
    worker = new Worker(src, { type: 'module', name: 'edge-personalize' });
  } catch (err) {
    throw sdkError('WorkerUnavailableError', `cannot start the Worker (${url}): ${(err as Error)?.message ?? err}`);
  }
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => {
      e.preventDefault?.();
      reject(
        sdkError(
          'WorkerUnavailableError',
          `the Worker (${url}) failed: ${e.message || 'script could not be loaded (blocked, missing or not a module)'}`,
        ),
      );
    });
  });
  failed.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return {
    api: wrap<WorkerApi>(worker),
    failed,
    terminate() {
      worker.terminate();
      if (shim) URL.revokeObjectURL(shim);
    },
  };
}
