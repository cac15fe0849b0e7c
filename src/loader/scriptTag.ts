/**
 * The script-tag entry (`dist/edge-personalize.js`, an IIFE; global `edgePersonalize`). It
 * replaces the snippet's queue with the SDK, replays the queued calls in order, and starts the
 * SDK from the script tag's `data-*` attributes when no `init` call was queued. Contains no
 * tfjs: the Worker loads that.
 */
import { configFromDataset } from '../config/resolveConfig';
import { createEdgePersonalize } from '../sdk/createEdgePersonalize';
import type { StubQueue } from './snippet';

// Read while this script runs: `document.currentScript` is null in any later callback.
const script = document.currentScript as HTMLScriptElement | null;
const base = script?.src || location.href;

const w = window as unknown as { edgePersonalize?: unknown };
const existing = w.edgePersonalize;
if (!existing || Array.isArray(existing)) {
  const queue: StubQueue = Array.isArray(existing) ? (existing as StubQueue) : [];
  queue.loaded = true;
  const sdk = createEdgePersonalize({
    workerUrl: new URL('edge-personalize.worker.js', base).toString(),
    vitalsUrl: new URL('edge-personalize.vitals.js', base).toString(),
    ...(queue.snippet ? { snippet: queue.snippet } : {}),
  });
  w.edgePersonalize = sdk;
  const calls = queue.slice();
  const dataConfig = script ? configFromDataset(script.dataset) : {};
  const queuedInit = calls.findIndex((c) => Array.isArray(c) && c[0] === 'init');
  if (queuedInit >= 0) {
    // data-* attributes are defaults; the queued init's own keys win.
    const entry = calls[queuedInit] as unknown[];
    calls[queuedInit] = ['init', { ...dataConfig, ...(entry[1] as object) }];
  } else if (Object.keys(dataConfig).length > 0) {
    calls.unshift(['init', dataConfig]);
  }
  for (const call of calls) sdk.push(call);
}
