import { sdkError } from '../errors';
import type { ModelConfig } from '../model/plain/modelConfig';
import { addGaussianNoise } from './clipAndNoise';
import type { NamedWeights, TrainedRows } from './federatedDelta';
import { encodeUpdate, exampleBucket, updateLayout, UPDATE_FORMAT_VERSION } from './modelUpdate';
import { quantizeUpdate } from './quantizeUpdate';
import { randomNonce, secureUniform, type UniformSource } from './randomSource';
import { uploadVector, type UploadSketch } from './uploadVector';

/**
 * The most bytes one device may upload per round, plain update or secure report (issue 15's bar:
 * ≤ 256 KB as masked for secure aggregation); the server sizes a round's rows to fit it
 * (src/server/rowsPerRound.ts).
 */
export const MAX_UPDATE_BYTES = 256 * 1024;

/** Inputs of {@link makeUpdate}. */
export interface MakeUpdateOptions {
  /** The trainable weights of the published model the device started from. */
  before: NamedWeights;
  /** The same tensors after local training. */
  after: NamedWeights;
  config: ModelConfig;
  /** The round's announced item rows, before and after training (absent: the round trains none). */
  rows?: TrainedRows;
  /** The round's item sketch: its hash and the sessions trained on (absent: the round asks for none). */
  sketch?: UploadSketch;
  modelVersion: string;
  roundId: string;
  /** True number of local training examples; only its bucket is sent. */
  exampleCount: number;
  /** L2 bound on the whole upload (delta and sketch). */
  clipNorm: number;
  /** Standard deviation of the Gaussian noise per coordinate (σ·C/√K: this device's share). */
  noiseStd: number;
  /** Uniform source for noise and rounding; default {@link secureUniform}. Seed it only in tests and simulations. */
  rng?: UniformSource;
}

/**
 * Builds the bytes a device uploads: delta = after − before (dense tensors, then the announced
 * rows, then the item sketch if the round asks for one: the round's `updateLayout`) → clip the
 * whole vector to `clipNorm` (`uploadVector`: with a sketch, a fixed share of it is the sketch's) → add
 * N(0, noiseStd²) per coordinate → int8 with stochastic rounding → `encodeUpdate` with a fresh
 * 128-bit nonce and the bucketed example count. Noise is added *before* quantization so the
 * server never sees an un-noised value, and the update carries nothing but the header fields.
 */
export function makeUpdate(o: MakeUpdateOptions): Uint8Array {
  const rng = o.rng ?? secureUniform();
  const delta = uploadVector(o);
  addGaussianNoise(delta, o.noiseStd, rng);
  const layout = updateLayout(o.config, o.rows ? o.rows.start.length / o.config.embedDim : 0, o.sketch?.hash.buckets ?? 0);
  const { values, scales } = quantizeUpdate(delta, layout, rng);
  const bytes = encodeUpdate(
    {
      formatVersion: UPDATE_FORMAT_VERSION,
      modelVersion: o.modelVersion,
      roundId: o.roundId,
      exampleBucket: exampleBucket(o.exampleCount),
      nonce: randomNonce(),
      clipNorm: o.clipNorm,
      noiseStd: o.noiseStd,
      scales,
    },
    values,
  );
  if (bytes.length > MAX_UPDATE_BYTES) {
    // A model too large to federate.
    throw sdkError(
      'UpdateTooLargeError',
      `update is ${bytes.length} bytes, over the ${MAX_UPDATE_BYTES}-byte limit: the server announced more rows than fit, or the model is too large to federate`,
    );
  }
  return bytes;
}
