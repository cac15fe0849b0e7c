/**
 * The Worker script (`dist/edge-personalize.worker.js`, a module Worker). It exposes a
 * {@link Personalizer} to the page with comlink; tfjs and the model code arrive later, as their
 * own chunk, when `start()` imports them. The `.wasm` binaries sit beside this script.
 */
import { expose } from 'comlink';
import { Personalizer } from './personalizer';

const here = new URL('./', import.meta.url).toString();
// Start loading tfjs now, before the page's start() message arrives.
const runtime = import('./mlRuntime');
runtime.catch(() => undefined); // reported by start(), which awaits it
expose(new Personalizer(() => runtime, here));
