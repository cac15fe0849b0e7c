/**
 * One request in a Worker of its own, started for it and ended after it (the token exchange,
 * participationTokenWorker.ts; a contribution's training, trainingWorker.ts): posts `message` and
 * resolves with the Worker's answer, or rejects with the error it sent back (`{ error: { name,
 * message, …fields } }`, its name and fields kept). Null when no such Worker can start here (no
 * nested Workers, a CSP, the SDK served from another origin) or it fails to load: the caller then
 * does the work in its own thread. Rejects if the Worker does not answer within `timeoutMs`.
 */
export function oneShotWorker<T>(url: URL, name: string, message: unknown, timeoutMs: number): Promise<T | null> {
  let worker: Worker;
  try {
    worker = new Worker(url, { type: 'module', name });
  } catch {
    return Promise.resolve(null);
  }
  return new Promise<T | null>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      worker.terminate();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the ${name} Worker did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      done();
      resolve(null); // could not load (blocked, missing): the caller does the work itself
    });
    worker.addEventListener('message', (e: MessageEvent<{ error?: Record<string, unknown> } & Record<string, unknown>>) => {
      done();
      if (!e.data.error) return resolve(e.data as T);
      const { name: errorName, message: text, ...fields } = e.data.error;
      reject(Object.assign(new Error(String(text ?? `the ${name} Worker failed`)), { name: String(errorName ?? 'Error') }, fields));
    });
    worker.postMessage(message);
  });
}
