import type { BackendPreference } from '../config/config';
import type { BackendReport } from './protocol';

/** What the Worker found out about WebGL before loading any ML code. */
export interface WebglProbe {
  /** A WebGL2 context could be created (through OffscreenCanvas in a Worker). */
  available: boolean;
  /** The renderer string, when readable. */
  renderer: string | null;
}

/** Renderers that draw on the CPU: tfjs' WebGL backend is 10-70× slower than wasm on them (PLATFORM.md). */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

/**
 * The backends to try, in order, with the reason for that order (the Worker adds what failed and
 * which one runs: `<reason>; wasm failed to initialise (…): using cpu`). `auto` takes WebGL only where it
 * is hardware-accelerated, otherwise wasm, then cpu; a forced backend is tried first and the
 * others follow as fallbacks, so a forced choice that fails still ranks.
 */
export function backendPlan(
  preference: BackendPreference,
  webgl: WebglProbe,
  wasmSupported: boolean,
): { order: Array<BackendReport['name']>; reason: string } {
  const software = webgl.renderer !== null && SOFTWARE_RENDERER.test(webgl.renderer);
  const fallbacks: Array<BackendReport['name']> = wasmSupported ? ['wasm', 'cpu'] : ['cpu'];
  if (preference !== 'auto') {
    return {
      order: [preference, ...(['webgl', 'wasm', 'cpu'] as const).filter((b) => b !== preference && (b !== 'wasm' || wasmSupported))],
      reason: `forced by config (backend: '${preference}')`,
    };
  }
  if (webgl.available && !software)
    return { order: ['webgl', ...fallbacks], reason: `hardware WebGL (${webgl.renderer ?? 'renderer hidden'})` };
  const why = !webgl.available
    ? 'WebGL is unavailable'
    : `WebGL renders in software (${webgl.renderer}), where tfjs runs 10-70× slower than on wasm`;
  return { order: fallbacks, reason: wasmSupported ? why : `${why} and WebAssembly is unavailable` };
}

/** Creates a WebGL2 context on an OffscreenCanvas (Worker) and reads its renderer string. Never throws. */
export function probeWebgl(): WebglProbe {
  try {
    if (typeof OffscreenCanvas === 'undefined') return { available: false, renderer: null };
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2') as WebGL2RenderingContext | null;
    if (!gl) return { available: false, renderer: null };
    // Chromium unmasks RENDERER itself; the debug extension is the older route.
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '') || null;
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { available: true, renderer };
  } catch {
    return { available: false, renderer: null };
  }
}
