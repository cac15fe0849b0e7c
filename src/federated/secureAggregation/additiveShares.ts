import { shake128 } from '@noble/hashes/sha3';

/**
 * Two-party additive secret sharing of a device's int8 update, for two non-colluding aggregators
 * (the leader, i.e. the aggregation server, and the helper), after the IETF DAP / Prio design:
 *
 *   x = leader share + helper share  (mod 2^bits, per coordinate)
 *
 * The helper's share is not sent as a vector: it is the expansion of a 32-byte random seed by
 * SHAKE128 (a XOF from @noble/hashes), and only the seed travels, encrypted to the helper (see
 * helperEncryption.ts). The leader's share is x − expand(seed): on its own uniformly distributed,
 * so the leader learns nothing of x; the helper, holding only the seed, learns nothing either.
 * Each aggregator adds up its shares of a cohort; the two sums recombine to the cohort's sum.
 *
 * The modulus is chosen so that the sum of a full cohort cannot wrap: every input is an int8 code
 * in [−127, 127] (the device's clip bound and the announced fixed scale put it there; nothing here
 * can check it, see src/server/README.md), so |sum| ≤ 127 · cohort < 2^(bits−1).
 */

/** Bytes of the helper's seed. */
export const SHARE_SEED_BYTES = 32;

/** The largest int8 code magnitude an input may carry. */
export const MAX_CODE = 127;

export type ShareBits = 16 | 24 | 32;

const DOMAIN = new TextEncoder().encode('edge-personalize/secure-aggregation/v1/helper-share');

/** The smallest modulus (in bits, byte-aligned) under which `maxCohort` int8 inputs cannot wrap. */
export function shareBits(maxCohort: number): ShareBits {
  if (!Number.isInteger(maxCohort) || maxCohort < 1) throw new RangeError(`the cohort size must be a positive integer, not ${maxCohort}`);
  for (const bits of [16, 24, 32] as const) if (MAX_CODE * maxCohort <= 2 ** (bits - 1) - 1) return bits;
  throw new RangeError(`a cohort of ${maxCohort} int8 inputs could wrap even modulo 2^32`);
}

/** The largest cohort whose sum cannot wrap modulo 2^bits. */
export function maxCohortFor(bits: ShareBits): number {
  return Math.floor((2 ** (bits - 1) - 1) / MAX_CODE);
}

const maskOf = (bits: ShareBits): number => (bits === 32 ? 0xffffffff : 2 ** bits - 1);

/**
 * The helper's share: `length` values mod 2^bits expanded from `seed`. `context` binds it to one
 * report (round id and report id): the same seed under another context gives an unrelated share.
 */
export function expandSeed(seed: Uint8Array, context: Uint8Array, length: number, bits: ShareBits): Uint32Array {
  if (seed.length !== SHARE_SEED_BYTES) throw new RangeError(`a share seed has ${SHARE_SEED_BYTES} bytes, not ${seed.length}`);
  const bytesPer = bits / 8;
  const header = new Uint8Array(DOMAIN.length + 4);
  header.set(DOMAIN);
  new DataView(header.buffer).setUint32(DOMAIN.length, context.length, true);
  const input = new Uint8Array(header.length + context.length + seed.length);
  input.set(header);
  input.set(context, header.length);
  input.set(seed, header.length + context.length);
  const stream = shake128(input, { dkLen: length * bytesPer });
  return readWords(stream, length, bits);
}

/** The leader's share of `codes`: codes − expand(seed) mod 2^bits. */
export function leaderShare(codes: Int8Array, seed: Uint8Array, context: Uint8Array, bits: ShareBits): Uint32Array {
  const helper = expandSeed(seed, context, codes.length, bits);
  const mask = maskOf(bits);
  const out = new Uint32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = (codes[i]! - helper[i]!) & mask;
  // `& mask` of a negative 32-bit result is negative in JS; Uint32Array stores it mod 2^32.
  return out;
}

/** Adds `share` into `sum`, mod 2^bits, in place. */
export function addShare(sum: Uint32Array, share: Uint32Array, bits: ShareBits): void {
  if (share.length !== sum.length) throw new RangeError(`a share of ${share.length} values cannot be added to a sum of ${sum.length}`);
  const mask = maskOf(bits);
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + share[i]!) & mask;
}

/** The cohort's sum of codes from the two aggregators' sums, as signed integers. */
export function recombine(leaderSum: Uint32Array, helperSum: Uint32Array, bits: ShareBits): Int32Array {
  if (leaderSum.length !== helperSum.length) throw new RangeError('the two sums have different lengths');
  const mask = maskOf(bits);
  const half = 2 ** (bits - 1);
  const out = new Int32Array(leaderSum.length);
  for (let i = 0; i < out.length; i++) {
    const s = ((leaderSum[i]! + helperSum[i]!) & mask) >>> 0;
    out[i] = s >= half ? s - 2 ** bits : s;
  }
  return out;
}

/** A share as bytes: `bits / 8` little-endian bytes per value. */
export function encodeShare(share: Uint32Array, bits: ShareBits): Uint8Array {
  const bytesPer = bits / 8;
  const out = new Uint8Array(share.length * bytesPer);
  for (let i = 0; i < share.length; i++) {
    const v = share[i]!;
    for (let b = 0; b < bytesPer; b++) out[i * bytesPer + b] = (v >>> (8 * b)) & 0xff;
  }
  return out;
}

/** Reads a share of exactly `length` values; throws on any other byte length. */
export function decodeShare(bytes: Uint8Array, length: number, bits: ShareBits): Uint32Array {
  if (bytes.length !== length * (bits / 8)) {
    throw new RangeError(`a share of ${length} values mod 2^${bits} has ${length * (bits / 8)} bytes, not ${bytes.length}`);
  }
  return readWords(bytes, length, bits);
}

function readWords(bytes: Uint8Array, length: number, bits: ShareBits): Uint32Array {
  const bytesPer = bits / 8;
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    let v = 0;
    for (let b = bytesPer - 1; b >= 0; b--) v = v * 256 + bytes[i * bytesPer + b]!;
    out[i] = v;
  }
  return out;
}
