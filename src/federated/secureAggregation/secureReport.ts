import { addGaussianNoise } from '../clipAndNoise';
import { sdkError } from '../../errors';
import type { NamedWeights, TrainedRows } from '../federatedDelta';
import { MAX_UPDATE_BYTES } from '../makeUpdate';
import { fromBase64Url, toBase64Url } from '../base64Url';
import { quantizeAtScale } from '../quantizeUpdate';
import { secureUniform, type UniformSource } from '../randomSource';
import { uploadVector, type UploadSketch } from '../uploadVector';
import type { ModelConfig } from '../../model/plain/modelConfig';
import { decodeShare, encodeShare, leaderShare, SHARE_SEED_BYTES, type ShareBits } from './additiveShares';
import { reportContext, sealSeed } from './helperEncryption';

/**
 * A device's report in a secure-aggregation round: its clipped, noised update as int8 codes at the
 * round's fixed step, split into the leader's share (sent as is) and a seed sealed to the helper.
 * The leader stores the report and relays the sealed seed; neither aggregator alone can read it.
 *
 * Wire format (`Content-Type: application/vnd.edge-personalize.secure-report`):
 *   bytes 0-3   ASCII "EPS1"
 *   bytes 4-7   header length H (uint32, little-endian)
 *   bytes 8…    H bytes of UTF-8 JSON: {@link SecureReportHeader}
 *   then        the HPKE encapsulated key (65 bytes), the sealed seed (48 bytes),
 *               and the leader's share (`length × bits/8` bytes, little-endian).
 *
 * The media type is defined beside the plain update's (modelUpdate.ts), so that the round client
 * names it without loading this module and HPKE, which are their own chunk (rollup.config.ts).
 */
export { SECURE_REPORT_CONTENT_TYPE } from '../modelUpdate';
const MAGIC = 'EPS1';
const ENC_BYTES = 65;
const SEALED_SEED_BYTES = SHARE_SEED_BYTES + 16;

/** What a secure round announces (on `/v1/model`, with the round). */
export interface SecureRoundInfo {
  roundId: string;
  /** The helper's HPKE public key (P-256, uncompressed point), base64url. */
  helperPublicKey: string;
  bits: ShareBits;
  /** The fixed quantization step of every value (see {@link secureStep}). */
  step: number;
}

/** The report's header: nothing stable, nothing about the device. */
export interface SecureReportHeader {
  formatVersion: 1;
  modelVersion: string;
  roundId: string;
  /** 128 random bits, base64url: names the report to both aggregators, and binds the sealed seed to it. */
  reportId: string;
  bits: ShareBits;
  /** Values in the share. */
  length: number;
  clipNorm: number;
  noiseStd: number;
  step: number;
}

export interface SecureReport {
  header: SecureReportHeader;
  enc: Uint8Array;
  sealedSeed: Uint8Array;
  leaderShare: Uint32Array;
}

/**
 * The fixed step of a round: `(C + 4·noiseStd) / 127`, so that a coordinate of a clipped update
 * (|x| ≤ C) plus its noise fits in int8 unless the noise passes 4 standard deviations (6 values in
 * 100,000 are then clamped to ±127). A step of C/127 alone clamped a third of all values at the
 * e2e server's settings (noise std ≈ C: 127 steps), biasing the sum. The rounding error adds
 * variance ≤ step²/4 per device and coordinate (stochastic rounding: unbiased).
 */
export function secureStep(clipNorm: number, noiseStd = 0): number {
  return (clipNorm + 4 * noiseStd) / 127;
}

/**
 * Builds a device's report: delta (dense tensors, then the round's announced rows, then its item
 * sketch if the round asks for one: `updateLayout` in modelUpdate.ts) → clip (`uploadVector`) →
 * its share of the noise → int8 at the step → shares: the sketch is hidden like every value. Throws a named
 * `UpdateTooLargeError` past {@link MAX_UPDATE_BYTES} (a server that announced too many rows).
 */
export async function makeSecureReport(o: {
  before: NamedWeights;
  after: NamedWeights;
  config: ModelConfig;
  /** The round's announced item rows, before and after training (absent: the round trains none). */
  rows?: TrainedRows;
  /** The round's item sketch: its hash and the sessions trained on (absent: the round asks for none). */
  sketch?: UploadSketch;
  modelVersion: string;
  round: SecureRoundInfo;
  clipNorm: number;
  noiseStd: number;
  rng?: UniformSource;
}): Promise<{ bytes: Uint8Array; header: SecureReportHeader; codes: Int8Array }> {
  const rng = o.rng ?? secureUniform();
  const delta = uploadVector(o);
  addGaussianNoise(delta, o.noiseStd, rng);
  const codes = quantizeAtScale(delta, o.round.step, rng);
  const reportId = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const seed = crypto.getRandomValues(new Uint8Array(SHARE_SEED_BYTES));
  const context = reportContext(o.round.roundId, reportId);
  const helperKey = fromBase64Url(o.round.helperPublicKey);
  if (!helperKey) throw new RangeError("the round's helper key is not base64url");
  const sealed = await sealSeed(helperKey, seed, context);
  const share = leaderShare(codes, seed, context, o.round.bits);
  seed.fill(0); // the device keeps no copy of the helper's share
  const header: SecureReportHeader = {
    formatVersion: 1,
    modelVersion: o.modelVersion,
    roundId: o.round.roundId,
    reportId,
    bits: o.round.bits,
    length: codes.length,
    clipNorm: o.clipNorm,
    noiseStd: o.noiseStd,
    step: o.round.step,
  };
  const bytes = encodeSecureReport({ header, enc: sealed.enc, sealedSeed: sealed.ciphertext, leaderShare: share });
  if (bytes.length > MAX_UPDATE_BYTES)
    throw sdkError(
      'UpdateTooLargeError',
      `secure report is ${bytes.length} bytes, over the ${MAX_UPDATE_BYTES}-byte limit: the server announced more rows than fit`,
    );
  return { bytes, header, codes };
}

export function encodeSecureReport(r: SecureReport): Uint8Array {
  if (r.enc.length !== ENC_BYTES || r.sealedSeed.length !== SEALED_SEED_BYTES) throw new RangeError('a sealed seed is 65 + 48 bytes');
  const header = new TextEncoder().encode(JSON.stringify(r.header));
  const share = encodeShare(r.leaderShare, r.header.bits);
  const out = new Uint8Array(8 + header.length + ENC_BYTES + SEALED_SEED_BYTES + share.length);
  out.set(new TextEncoder().encode(MAGIC));
  new DataView(out.buffer).setUint32(4, header.length, true);
  let at = 8;
  for (const part of [header, r.enc, r.sealedSeed, share]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Why bytes are not a report (the leader answers 400 with it). */
export class SecureReportFormatError extends Error {
  override name = 'SecureReportFormatError';
}

/** Reads a report, checking its layout against `expectedLength` values; throws {@link SecureReportFormatError}. */
export function decodeSecureReport(bytes: Uint8Array, expectedLength: number): SecureReport {
  const fail = (why: string): never => {
    throw new SecureReportFormatError(why);
  };
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) fail('not a secure report (magic)');
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (h > 4096 || 8 + h > bytes.length) fail('header length out of range');
  let header: SecureReportHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + h))) as SecureReportHeader;
  } catch {
    return fail('header is not JSON');
  }
  const fields = ['formatVersion', 'modelVersion', 'roundId', 'reportId', 'bits', 'length', 'clipNorm', 'noiseStd', 'step'];
  if (!header || typeof header !== 'object' || Object.keys(header).sort().join() !== [...fields].sort().join())
    fail('header fields differ');
  if (header.formatVersion !== 1) fail(`format version ${String(header.formatVersion)}`);
  if (header.bits !== 16 && header.bits !== 24 && header.bits !== 32) fail('bits must be 16, 24 or 32');
  if (header.length !== expectedLength) fail(`${String(header.length)} values, expected ${expectedLength}`);
  if (typeof header.reportId !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(header.reportId)) fail('reportId must be 128 bits of base64url');
  for (const k of ['clipNorm', 'noiseStd', 'step'] as const)
    if (!(Number.isFinite(header[k]) && header[k] >= 0)) fail(`${k} must be a number ≥ 0`);
  const shareBytes = expectedLength * (header.bits / 8);
  if (bytes.length !== 8 + h + ENC_BYTES + SEALED_SEED_BYTES + shareBytes)
    fail(`expected ${8 + h + ENC_BYTES + SEALED_SEED_BYTES + shareBytes} bytes, got ${bytes.length}`);
  let at = 8 + h;
  const enc = bytes.slice(at, (at += ENC_BYTES));
  const sealedSeed = bytes.slice(at, (at += SEALED_SEED_BYTES));
  return { header, enc, sealedSeed, leaderShare: decodeShare(bytes.subarray(at), expectedLength, header.bits) };
}
