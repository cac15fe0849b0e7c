/**
 * The Worker script (`dist/edge-personalize.worker.js`, a module Worker). It exposes a
 * {@link Personalizer} to the page with comlink; tfjs and the model code arrive later, as their
 * own chunks, imported once the Worker can rank. The `.wasm` binaries sit beside this script.
 */
import { expose } from 'comlink';
import { Personalizer } from './personalizer';

const here = new URL('./', import.meta.url).toString();
// tfjs is imported once, after the first ranking (which needs only the saved session state):
// its modules would otherwise compete for this thread with reading the model's files.
let runtime: Promise<typeof import('./mlRuntime')> | null = null;
expose(new Personalizer(() => (runtime ??= import('./mlRuntime')), here));
