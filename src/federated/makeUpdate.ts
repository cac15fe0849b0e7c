import { sdkError } from '../errors';
import type { ModelConfig } from '../model/plain/modelConfig';
import { addGaussianNoise, clipToNorm } from './clipAndNoise';
import { federatedDelta, type NamedWeights } from './federatedDelta';
import { encodeUpdate, exampleBucket, UPDATE_FORMAT_VERSION } from './modelUpdate';
import { quantizeUpdate } from './quantizeUpdate';
import { randomNonce, secureUniform, type UniformSource } from './randomSource';

/** The most bytes one device may upload per round (the bar: ≤ 64 KB). */
export const MAX_UPDATE_BYTES = 64 * 1024;

/** Inputs of {@link makeUpdate}. */
export interface MakeUpdateOptions {
  /** The trainable weights of the published model the device started from. */
  before: NamedWeights;
  /** The same tensors after local training. */
  after: NamedWeights;
  config: ModelConfig;
  modelVersion: string;
  roundId: string;
  /** True number of local training examples; only its bucket is sent. */
  exampleCount: number;
  /** L2 bound on the delta. */
  clipNorm: number;
  /** Standard deviation of the Gaussian noise per coordinate (σ·C/√K: this device's share). */
  noiseStd: number;
  /** Uniform source for noise and rounding; default {@link secureUniform}. Seed it only in tests and simulations. */
  rng?: UniformSource;
}

/**
 * Builds the bytes a device uploads: delta = after − before → clip to `clipNorm` → add
 * N(0, noiseStd²) per coordinate → int8 with stochastic rounding → `encodeUpdate` with a fresh
 * 128-bit nonce and the bucketed example count. Noise is added *before* quantization so the
 * server never sees an un-noised value, and the update carries nothing but the header fields.
 */
export function makeUpdate(o: MakeUpdateOptions): Uint8Array {
  const rng = o.rng ?? secureUniform();
  const delta = federatedDelta(o.before, o.after, o.config);
  clipToNorm(delta, o.clipNorm);
  addGaussianNoise(delta, o.noiseStd, rng);
  const { values, scales } = quantizeUpdate(delta, o.config, rng);
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
      `update is ${bytes.length} bytes, over the ${MAX_UPDATE_BYTES}-byte limit: federate fewer or smaller tensors`,
    );
  }
  return bytes;
}
