/**
 * The ML side of the Worker: tfjs, its three backends and the session model. The Worker imports
 * this module lazily, so the bundler emits it as its own chunk that only the Worker ever loads
 * (the page's loader never contains tfjs).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendPreference } from '../config/config';
import { fetchModel, type FetchedModel } from '../model/fetchModel';
import { backendPlan, probeWebgl } from './chooseBackend';
import { cachingModelFetch } from './modelCache';
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
  setWasmPaths(wasmBase);
  // A forced WebGL backend must run even on a software renderer (tfjs refuses one flagged with a
  // major performance caveat unless told otherwise; see PLATFORM.md).
  if (preference === 'webgl') tf.env().set('SOFTWARE_WEBGL_ENABLED', true);
  const failures: string[] = [];
  for (const name of plan.order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        const reason = failures.length ? `${plan.reason}; ${failures.join('; ')}` : plan.reason;
        return { report: { name, reason, webglRenderer: webgl.renderer }, initMs: performance.now() - t0, failures };
      }
      failures.push(`${name} failed to initialise`);
    } catch (err) {
      failures.push(`${name} failed to initialise (${(err as Error).message})`);
    }
  }
  throw Object.assign(new Error(`no tfjs backend could start: ${failures.join('; ')}`), { name: 'BackendUnavailableError' });
}

/** Loads the model through Cache Storage; `source` says whether the network was needed. */
export async function loadModel(manifestUrl: string): Promise<{ fetched: FetchedModel; source: 'network' | 'cache' }> {
  const caching = cachingModelFetch(manifestUrl);
  const fetched = await fetchModel(manifestUrl, caching.fetch);
  return { fetched, source: caching.source };
}

export { emptySessionState, type SessionState } from '../model/sessionModel';
export type { FetchedModel } from '../model/fetchModel';
