/**
 * The ML side of the Worker: tfjs, its three backends and the session model. The Worker imports
 * this module lazily, so the bundler emits it as its own chunk that only the Worker ever loads
 * (the page's loader never contains tfjs).
 */
import * as tf from '@tensorflow/tfjs-core';
// On-device training (federated learning) needs the ops' gradients; the bundler drops tfjs-core's
// own registration import, so it is named here.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { sdkError } from '../errors';
import type { BackendPreference } from '../config/config';
import { backendPlan, probeWebgl } from './chooseBackend';
import type { BackendReport } from './protocol';

/** The backend in use and what it cost to start. */
export interface StartedBackend {
  report: BackendReport;
  initMs: number;
  /** Backends tried before this one that failed to start (e.g. a forced `webgl` without WebGL). */
  failures: string[];
}

/**
 * Picks and initialises a backend (see {@link backendPlan}); a backend that fails to initialise
 * is skipped for the next one, and the reason says so. `wasmBase` is the directory URL of the
 * `.wasm` files (shipped beside the Worker bundle).
 */
export async function startBackend(preference: BackendPreference, wasmBase: string): Promise<StartedBackend> {
  const t0 = performance.now();
  const webgl = probeWebgl();
  const plan = backendPlan(preference, webgl, typeof WebAssembly === 'object');
  const failures: string[] = [];
  for (const name of plan.order) {
    try {
      await registerBackend(name, wasmBase, preference === 'webgl');
      if (await tf.setBackend(name)) {
        await tf.ready();
        // Says what runs, after what failed: never "using wasm" while cpu runs.
        const reason = `${[plan.reason, ...failures].join('; ')}: using ${name}`;
        return { report: { name, reason, webglRenderer: webgl.renderer }, initMs: performance.now() - t0, failures };
      }
      failures.push(`${name} failed to initialise`);
    } catch (err) {
      failures.push(`${name} failed to initialise (${(err as Error).message})`);
    }
  }
  throw sdkError('BackendUnavailableError', `no tfjs backend could start: ${failures.join('; ')}`);
}

export { buildModel, type FetchedModel } from '../model/tfjs/buildModel';

/**
 * Each backend is its own chunk, imported only when it is tried: on a machine where `auto`
 * picks wasm, the WebGL backend (the largest) is never downloaded or evaluated.
 */
async function registerBackend(name: BackendReport['name'], wasmBase: string, forced: boolean): Promise<void> {
  if (name === 'webgl') {
    await import('@tensorflow/tfjs-backend-webgl');
    // A forced WebGL backend must run even on a software renderer (tfjs refuses one flagged with a
    // major performance caveat unless told otherwise; see PLATFORM.md). The flag exists once the
    // backend module has registered it.
    if (forced) tf.env().set('SOFTWARE_WEBGL_ENABLED', true);
  } else if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else (await import('@tensorflow/tfjs-backend-wasm')).setWasmPaths(wasmBase);
}
