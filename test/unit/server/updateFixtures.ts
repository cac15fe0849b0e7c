import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../../src/model/plain/modelConfig';
import { encodeUpdate, federatedShapes, federatedSize, UPDATE_FORMAT_VERSION, type UpdateHeader } from '../../../src/federated/modelUpdate';
import { Random } from '../../../models/random';

/** Test helpers: valid (or deliberately broken) updates for the shipped demo model. */

export const root = new URL('../../../', import.meta.url).pathname;
export const MODEL_DIR = join(root, 'models/online-retail');
const manifest = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')) as { modelVersion: string; config: ModelConfig };
export const BASE_VERSION = manifest.modelVersion;
export const CONFIG = manifest.config;
export const SIZE = federatedSize(CONFIG);

export const freshNonce = (): string => randomBytes(16).toString('hex');

export interface UpdateSpec {
  modelVersion?: string;
  roundId?: string;
  clipNorm?: number;
  noiseStd?: number;
  exampleBucket?: number;
  nonce?: string;
  /** Norm of the clipped signal before noise (default: the clip norm). */
  signalNorm?: number;
  seed?: number;
  /** Replace the header after quantizing (to break it on purpose). */
  patchHeader?: (h: UpdateHeader) => UpdateHeader;
}

/**
 * An update like a device makes: a random direction scaled to `signalNorm`, plus Gaussian noise
 * of `noiseStd`, quantized to int8 with one scale per tensor. Returns the bytes and the exact
 * dequantized delta the server will decode.
 */
export function makeUpdate(spec: UpdateSpec = {}): { bytes: Uint8Array; delta: Float32Array; header: UpdateHeader } {
  const clipNorm = spec.clipNorm ?? 1;
  const noiseStd = spec.noiseStd ?? 1 / Math.sqrt(3);
  const rng = new Random(spec.seed ?? Math.floor(Math.random() * 1e9));
  const signal = Float64Array.from({ length: SIZE }, () => rng.normal());
  const norm = Math.sqrt(signal.reduce((s, x) => s + x * x, 0));
  const k = (spec.signalNorm ?? clipNorm) / norm;
  const raw = signal.map((x) => x * k + rng.normal() * noiseStd);
  const codes = new Int8Array(SIZE);
  const delta = new Float32Array(SIZE);
  const scales: number[] = [];
  let offset = 0;
  for (const [, shape] of federatedShapes(CONFIG)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(raw[offset + i]!));
    const scale = max / 127 || 1;
    scales.push(scale);
    for (let i = 0; i < n; i++) {
      codes[offset + i] = Math.round(raw[offset + i]! / scale);
      delta[offset + i] = codes[offset + i]! * scale;
    }
    offset += n;
  }
  let header: UpdateHeader = {
    formatVersion: UPDATE_FORMAT_VERSION,
    modelVersion: spec.modelVersion ?? BASE_VERSION,
    roundId: spec.roundId ?? '1',
    exampleBucket: spec.exampleBucket ?? 16,
    nonce: spec.nonce ?? freshNonce(),
    clipNorm,
    noiseStd,
    scales,
  };
  if (spec.patchHeader) header = spec.patchHeader(header);
  return { bytes: encodeUpdate(header, codes), delta, header };
}

/** Re-encodes an update with its header JSON text edited (to write what JSON.stringify cannot, e.g. 1e999). */
export function editHeaderText(bytes: Uint8Array, edit: (json: string) => string): Uint8Array {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const json = new TextEncoder().encode(edit(new TextDecoder().decode(bytes.subarray(8, 8 + length))));
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - length);
  out.set(bytes.subarray(0, 4));
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + length), 8 + json.length);
  return out;
}
