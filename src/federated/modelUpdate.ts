import { denseShapes, type ModelConfig } from '../model/plain/modelConfig';

/**
 * What a device sends: a model update (or, in a secure-aggregation round, a secure report of the
 * same tensors: see secureAggregation/secureReport.ts). Shared by the browser client, the Node
 * simulation and the aggregation server, so all three read and write the same bytes.
 *
 * What is trained and uploaded ({@link updateLayout}, the one layout the device, the validator and
 * the server's apply share): the GRU's recurrent weights and biases and the output-side
 * projections ({@link FEDERATED_TENSORS}), then the item-embedding rows the round announced, in
 * announcement order, then, when the round asks for one, the device's item sketch (itemSketch.ts:
 * a count sketch of its items, which the server reads only summed, to learn which items are
 * popular; it is never applied to the model). The server picks those rows from public information
 * (src/server/rowSchedule.ts) and every device of the round sends all of them and a sketch of the
 * same size, so the update's shape and byte length are the same for every device and say nothing
 * about which items it touched (a row it never saw carries noise only). The other rows and the
 * input-side weights stay frozen.
 *
 * Wire format (`Content-Type: application/vnd.edge-personalize.update`):
 *   bytes 0-3   ASCII "EPU1"
 *   bytes 4-7   header length H (uint32, little-endian)
 *   bytes 8…    H bytes of UTF-8 JSON: {@link UpdateHeader}, padded with spaces to a length that
 *               depends on the round only ({@link encodeUpdate})
 *   then        the int8 values of every block of the layout, in order: each tensor of
 *               {@link FEDERATED_TENSORS} row-major, then the announced rows (`embedDim` each),
 *               then the sketch's buckets; value = int8 × scale of its block.
 */
export const UPDATE_CONTENT_TYPE = 'application/vnd.edge-personalize.update';
/** The media type of the other thing a device may send, a secure report (see secureAggregation/secureReport.ts). */
export const SECURE_REPORT_CONTENT_TYPE = 'application/vnd.edge-personalize.secure-report';
export const UPDATE_MAGIC = 'EPU1';
export const UPDATE_FORMAT_VERSION = 1;

/** The dense tensors a device trains and uploads, in wire order. */
export const FEDERATED_TENSORS = ['gru/Uz', 'gru/Ur', 'gru/Uh', 'gru/bz', 'gru/br', 'gru/bh', 'out/last', 'out/item'] as const;

/** Example counts are sent as one of these buckets (the largest not above the true count), never exactly. */
export const EXAMPLE_BUCKETS = [1, 2, 4, 8, 16, 32, 64] as const;

/** The JSON header of an update. No user id, cookie, session id or anything stable. */
export interface UpdateHeader {
  formatVersion: number;
  /** The published model version the device trained from. */
  modelVersion: string;
  /** The round the update is for. */
  roundId: string;
  /** Bucketed number of training examples (see {@link EXAMPLE_BUCKETS}). */
  exampleBucket: number;
  /** A fresh random value (128 bits, hex) so the server can refuse a replay. */
  nonce: string;
  /** The L2 clip norm the device applied. */
  clipNorm: number;
  /** Standard deviation of the Gaussian noise the device added to each coordinate. */
  noiseStd: number;
  /** One quantization step per block of the round's {@link updateLayout}: each tensor, then the rows, then the sketch. */
  scales: number[];
}

/** The header's fields, the only ones a server accepts. */
export const HEADER_FIELDS = [
  'formatVersion',
  'modelVersion',
  'roundId',
  'exampleBucket',
  'nonce',
  'clipNorm',
  'noiseStd',
  'scales',
] as const satisfies ReadonlyArray<keyof UpdateHeader>;

/** An update with its values dequantized: the delta to add to the trainable weights. */
export interface ModelUpdate {
  header: UpdateHeader;
  /** Every trainable value, in wire order. */
  delta: Float32Array;
}

/** Named error for bytes that are not a well-formed update (the server answers 400 with `reason`). */
export class UpdateFormatError extends Error {
  override name = 'UpdateFormatError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Shapes of the trainable tensors for a model config, in wire order. */
export function federatedShapes(config: ModelConfig): Array<[string, number[]]> {
  const all = new Map(denseShapes(config));
  return FEDERATED_TENSORS.map((name) => [name, all.get(name)!]);
}

/** Number of trainable values (the length of a delta) for a model config. */
export function federatedSize(config: ModelConfig): number {
  return federatedShapes(config).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/** The name of the announced rows' block in an {@link UpdateLayout}. */
export const ROWS_BLOCK = 'items/rows';
/** The name of the item sketch's block in an {@link UpdateLayout}. */
export const SKETCH_BLOCK = 'items/sketch';

/**
 * What a round's update holds, in wire order: the dense tensors, then `rows` announced
 * item-embedding rows of `embedDim` values, then the item sketch's `sketch` buckets. Plain updates
 * carry one int8 scale per block; a secure report carries `length` values.
 */
export interface UpdateLayout {
  /** Values of the dense tensors ({@link federatedSize}). */
  denseSize: number;
  /** Announced rows (0: the round trains no row). */
  rows: number;
  embedDim: number;
  /** Buckets of the item sketch (0: the round asks for none). */
  sketch: number;
  /** Every value: `denseSize + rows × embedDim + sketch`. */
  length: number;
  /** The blocks that each get a scale in a plain update, in order. */
  blocks: ReadonlyArray<{ name: string; size: number }>;
}

/** The layout of an update for a model with `rows` announced rows and an item sketch of `sketch` buckets. */
export function updateLayout(config: ModelConfig, rows = 0, sketch = 0): UpdateLayout {
  if (!Number.isInteger(rows) || rows < 0 || rows > config.numItems)
    throw new RangeError(`updateLayout: rows must be an integer in [0, ${config.numItems}], got ${rows}`);
  if (!Number.isInteger(sketch) || sketch < 0) throw new RangeError(`updateLayout: sketch must be an integer ≥ 0, got ${sketch}`);
  const blocks = federatedShapes(config).map(([name, shape]) => ({ name, size: shape.reduce((a, b) => a * b, 1) }));
  const denseSize = blocks.reduce((n, b) => n + b.size, 0);
  if (rows > 0) blocks.push({ name: ROWS_BLOCK, size: rows * config.embedDim });
  if (sketch > 0) blocks.push({ name: SKETCH_BLOCK, size: sketch });
  return { denseSize, rows, embedDim: config.embedDim, sketch, length: denseSize + rows * config.embedDim + sketch, blocks };
}

/** The bucket for `count` examples. */
export function exampleBucket(count: number): number {
  let b: number = EXAMPLE_BUCKETS[0];
  for (const x of EXAMPLE_BUCKETS) if (count >= x) b = x;
  return b;
}

/** L2 norm of a vector. */
export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/**
 * The header's padded length: its JSON with the widest values the fields that differ between the
 * devices of a round can take (the example bucket, every scale), so that the header, and so the
 * whole update, has the same byte length for every device of the round.
 */
function paddedHeaderLength(header: UpdateHeader): number {
  const widest = { ...header, exampleBucket: 64, scales: header.scales.map(() => -1.2345678901234567e-300) };
  return new TextEncoder().encode(JSON.stringify(widest)).length;
}

/**
 * Writes an update: `values` are the int8 codes, already clipped, noised and quantized by the
 * client. The header JSON is padded with spaces (JSON ignores them) to {@link paddedHeaderLength}.
 */
export function encodeUpdate(header: UpdateHeader, values: Int8Array): Uint8Array {
  const text = JSON.stringify(header);
  const json = new TextEncoder().encode(text + ' '.repeat(Math.max(0, paddedHeaderLength(header) - text.length)));
  const out = new Uint8Array(8 + json.length + values.length);
  out.set(new TextEncoder().encode(UPDATE_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.length), 8 + json.length);
  return out;
}

/**
 * Reads an update and checks it against the layout of the round it names (`layout`, or a function
 * from its `roundId` to the layout): magic, header fields and types, one scale per block, and
 * exactly `layout.length` values. Throws {@link UpdateFormatError} with a machine-readable
 * `reason` otherwise.
 */
export function decodeUpdate(bytes: Uint8Array, layout: UpdateLayout | ((roundId: string) => UpdateLayout)): ModelUpdate {
  const fail = (reason: string, message: string): never => {
    throw new UpdateFormatError(reason, message);
  };
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== UPDATE_MAGIC)
    fail('bad_magic', 'not an edge-personalize update (magic "EPU1" missing)');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + headerLength > bytes.length) fail('truncated', `header of ${headerLength} bytes does not fit in ${bytes.length}`);
  let h: Record<string, unknown> = {};
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch {
    fail('bad_header', 'the header is not UTF-8 JSON');
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) fail('bad_header', 'the header is not a JSON object');
  // Strict: a field this format does not define (an e-mail, an id) is refused, never stored.
  const unknown = Object.keys(h).filter((k) => !(HEADER_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    fail(
      'bad_header',
      `unknown header field${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).join(', ')}: an update carries only ${HEADER_FIELDS.join(', ')}`,
    );
  const str = (k: string, max = 128): string =>
    typeof h[k] === 'string' && (h[k] as string).length > 0 && (h[k] as string).length <= max
      ? (h[k] as string)
      : fail('bad_header', `header.${k} must be a non-empty string`);
  const num = (k: string): number =>
    typeof h[k] === 'number' && Number.isFinite(h[k]) && (h[k] as number) >= 0
      ? (h[k] as number)
      : fail('bad_header', `header.${k} must be a finite number ≥ 0`);
  if (h.formatVersion !== UPDATE_FORMAT_VERSION) fail('bad_format_version', `formatVersion must be ${UPDATE_FORMAT_VERSION}`);
  const header: UpdateHeader = {
    formatVersion: UPDATE_FORMAT_VERSION,
    modelVersion: str('modelVersion'),
    roundId: str('roundId'),
    exampleBucket: num('exampleBucket'),
    nonce: str('nonce', 64),
    clipNorm: num('clipNorm'),
    noiseStd: num('noiseStd'),
    scales: Array.isArray(h.scales)
      ? (h.scales as unknown[]).map((s) =>
          typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s : fail('bad_scale', 'every scale must be a finite number ≥ 0'),
        )
      : fail('bad_header', 'header.scales must be an array'),
  };
  if (!(EXAMPLE_BUCKETS as readonly number[]).includes(header.exampleBucket))
    fail('bad_example_bucket', `exampleBucket must be one of ${EXAMPLE_BUCKETS.join(', ')}`);
  if (!/^[0-9a-f]{32,64}$/.test(header.nonce)) fail('bad_nonce', 'nonce must be 32-64 lowercase hex digits');
  const l = typeof layout === 'function' ? layout(header.roundId) : layout;
  const parts = [...(l.rows > 0 ? [`${l.rows} announced rows`] : []), ...(l.sketch > 0 ? [`an item sketch of ${l.sketch} buckets`] : [])];
  const rowsNote =
    parts.length > 0 ? ` (the dense tensors${parts.map((p, i) => (i === parts.length - 1 ? ' and ' : ', ') + p).join('')})` : '';
  if (header.scales.length !== l.blocks.length)
    fail('wrong_shape', `expected ${l.blocks.length} scales${rowsNote} for round ${header.roundId}, got ${header.scales.length}`);
  const size = l.length;
  const values = bytes.length - 8 - headerLength;
  if (values !== size) fail('wrong_shape', `expected ${size} values${rowsNote} for round ${header.roundId}, got ${values}`);
  const codes = new Int8Array(bytes.buffer, bytes.byteOffset + 8 + headerLength, size);
  const delta = new Float32Array(size);
  let offset = 0;
  l.blocks.forEach(({ size: n }, t) => {
    const scale = header.scales[t]!;
    for (let i = 0; i < n; i++) delta[offset + i] = codes[offset + i]! * scale;
    offset += n;
  });
  return { header, delta };
}
