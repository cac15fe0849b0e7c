import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/**
 * Selects tfjs' wasm backend for the Node CLIs (`tfjs-node` cannot be installed here: it downloads
 * a native binary). One thread per process under Node (see PLATFORM.md).
 */
export async function useWasmBackend(): Promise<string> {
  if (tf.getBackend() !== 'wasm') {
    await tf.setBackend('wasm');
    await tf.ready();
  }
  return tf.getBackend();
}
