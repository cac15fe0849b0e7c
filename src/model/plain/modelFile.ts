import { sdkError } from '../../errors';
import { denseShapes, type ModelConfig } from './modelConfig';
import { dequantizeInt8, fromFloat16, quantizeInt8, toFloat16 } from './quantize';

/**
 * The model file format, read by the browser Worker and the Node evaluator alike:
 * `model.json` (this manifest) + one binary file of tensors (`weights.bin`) + `vocab.txt` (one
 * item id per line, line i = item index i).
 *
 * Tensor encodings inside the binary (little-endian, each tensor starts 4-byte aligned):
 * - `float32`: `size` float32 values, row-major;
 * - `int8`: for a `[rows, cols]` matrix, first the float16 scales (`rows` of them when
 *   `axis = 0`, one per row; `cols` when `axis = 1`, one per column), padded to 4 bytes, then
 *   `rows × cols` int8 values, row-major; value = int8 × scale.
 * The tfjs weights manifest cannot express this (it has uint8/uint16/float16 with one affine
 * scale per tensor), hence our own, documented format.
 */
export const MODEL_FORMAT = 'edge-personalize.gru-session';
export const MODEL_FORMAT_VERSION = 1;

/** How one tensor is stored in the binary. */
export interface TensorEntry {
  name: string;
  shape: number[];
  encoding: 'float32' | 'int8';
  /** For `int8`: 0 = one scale per row, 1 = one scale per column. */
  axis?: 0 | 1;
  byteOffset: number;
  byteLength: number;
}

/** The manifest stored as `model.json`. */
export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** Changes whenever the weights change; the browser caches by it. */
  modelVersion: string;
  config: ModelConfig;
  weightsFile: string;
  vocabFile: string;
  tensors: TensorEntry[];
  /** Free-form provenance: data, settings, metrics, timings. */
  metadata?: Record<string, unknown>;
}

/** A tensor to store: float32 data and the encoding to store it with. */
export interface TensorToStore {
  name: string;
  shape: number[];
  data: Float32Array;
  encoding: 'float32' | 'int8';
  axis?: 0 | 1;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Packs tensors into one binary and describes them in manifest entries. */
export function encodeTensors(tensors: TensorToStore[]): { entries: TensorEntry[]; buffer: Uint8Array } {
  const parts: Uint8Array[] = [];
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    let bytes: Uint8Array;
    if (t.encoding === 'int8') {
      if (t.shape.length !== 2) throw new Error(`int8 encoding needs a matrix; ${t.name} has shape [${t.shape}]`);
      const [rows, cols] = t.shape as [number, number];
      const q = quantizeInt8(t.data, rows, cols, t.axis ?? 0);
      const scaleBytes = align4(q.scales.length * 2);
      bytes = new Uint8Array(scaleBytes + q.values.length);
      const view = new DataView(bytes.buffer);
      q.scales.forEach((s, i) => view.setUint16(i * 2, toFloat16(s), true));
      bytes.set(new Uint8Array(q.values.buffer, q.values.byteOffset, q.values.length), scaleBytes);
    } else {
      bytes = new Uint8Array(t.data.length * 4);
      const view = new DataView(bytes.buffer);
      t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    }
    const entry: TensorEntry = { name: t.name, shape: t.shape, encoding: t.encoding, byteOffset: offset, byteLength: bytes.length };
    if (t.encoding === 'int8') entry.axis = t.axis ?? 0;
    entries.push(entry);
    parts.push(bytes);
    offset = align4(offset + bytes.length);
  }
  const buffer = new Uint8Array(offset);
  entries.forEach((e, i) => buffer.set(parts[i]!, e.byteOffset));
  return { entries, buffer };
}

/** Named float32 tensors decoded from a binary. */
export type DecodedTensors = Map<string, { shape: number[]; data: Float32Array }>;

/** A model file that does not match its manifest (truncated, wrong format…): a `ModelFormatError`. */
const formatError = (message: string): Error => sdkError('ModelFormatError', message);

/** Checks a parsed `model.json` and returns it typed; throws a `ModelFormatError`. */
export function checkManifest(json: unknown): ModelManifest {
  const m = json as Partial<ModelManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== MODEL_FORMAT) throw formatError(`not a ${MODEL_FORMAT} manifest`);
  if (m.formatVersion !== MODEL_FORMAT_VERSION) throw formatError(`unsupported model format version ${String(m.formatVersion)}`);
  if (!m.config || !Array.isArray(m.tensors) || typeof m.modelVersion !== 'string')
    throw formatError('manifest lacks config, tensors or modelVersion');
  const repeat = m.config.repeat;
  if (repeat !== undefined && repeat !== 'mixture' && repeat !== 'exclusive') {
    throw formatError(`unknown repeat path "${String(repeat)}" (this SDK knows "mixture" and "exclusive")`);
  }
  return m as ModelManifest;
}

/** Decodes every tensor of `buffer` as described by `entries` to float32 (dequantising int8). */
export function decodeTensors(entries: TensorEntry[], buffer: ArrayBuffer): DecodedTensors {
  const out: DecodedTensors = new Map();
  for (const e of entries) {
    if (e.byteOffset + e.byteLength > buffer.byteLength) {
      throw formatError(`weights file too short for tensor ${e.name} (${buffer.byteLength} bytes)`);
    }
    const size = e.shape.reduce((a, b) => a * b, 1);
    const view = new DataView(buffer, e.byteOffset, e.byteLength);
    let data: Float32Array;
    if (e.encoding === 'int8') {
      const [rows, cols] = e.shape as [number, number];
      const axis = e.axis ?? 0;
      const nScales = axis === 0 ? rows : cols;
      const scaleBytes = align4(nScales * 2);
      if (e.byteLength !== scaleBytes + size) throw formatError(`tensor ${e.name}: ${e.byteLength} bytes, expected ${scaleBytes + size}`);
      const scales = new Float32Array(nScales);
      for (let i = 0; i < nScales; i++) scales[i] = fromFloat16(view.getUint16(i * 2, true));
      const values = new Int8Array(buffer, e.byteOffset + scaleBytes, size);
      data = dequantizeInt8({ rows, cols, axis, scales, values });
    } else {
      if (e.byteLength !== size * 4) throw formatError(`tensor ${e.name}: ${e.byteLength} bytes, expected ${size * 4}`);
      data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(i * 4, true);
    }
    if (!data.every(Number.isFinite)) throw formatError(`tensor ${e.name} holds non-finite values`);
    out.set(e.name, { shape: e.shape, data });
  }
  return out;
}

/** The weights of a model file as float32 arrays: the item table and the dense tensors by name. */
export interface DecodedWeights {
  items: Float32Array;
  dense: Map<string, Float32Array>;
}

/**
 * Decodes a model's binary and picks out what the network needs (the item table and every dense
 * tensor its config calls for); throws a `ModelFormatError` when one is missing. Shared by the
 * Node reader and the browser loader so both accept exactly the same files.
 */
export function decodeWeights(manifest: ModelManifest, buffer: ArrayBuffer): DecodedWeights {
  const tensors = decodeTensors(manifest.tensors, buffer);
  const items = tensors.get('items');
  if (!items) throw formatError('model has no item table');
  const dense = new Map<string, Float32Array>();
  for (const [name] of denseShapes(manifest.config)) {
    const t = tensors.get(name);
    if (!t) throw formatError(`model lacks tensor ${name}`);
    dense.set(name, t.data);
  }
  return { items: items.data, dense };
}

/** Parses `vocab.txt` (one id per line) and checks it has one id per model item. */
export function parseVocab(text: string, numItems: number): string[] {
  const vocab = text.split('\n').filter((l) => l.length > 0);
  if (vocab.length !== numItems) throw formatError(`vocabulary has ${vocab.length} ids, the model ${numItems} items`);
  return vocab;
}
