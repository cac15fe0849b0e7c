import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  addShare,
  decodeShare,
  encodeShare,
  expandSeed,
  leaderShare,
  maxCohortFor,
  recombine,
  SHARE_SEED_BYTES,
  shareBits,
  type ShareBits,
} from '../../../../src/federated/secureAggregation/additiveShares';
import { reportContext } from '../../../../src/federated/secureAggregation/helperEncryption';

const randomCodes = (d: number): Int8Array => {
  const c = new Int8Array(d);
  for (let i = 0; i < d; i++) c[i] = Math.floor(Math.random() * 255) - 127;
  return c;
};

/** A cohort through both aggregators: the leader sums leader shares, the helper sums expanded seeds. */
function aggregate(inputs: Int8Array[], bits: ShareBits): Int32Array {
  const d = inputs[0]!.length;
  const leader = new Uint32Array(d);
  const helper = new Uint32Array(d);
  inputs.forEach((codes, k) => {
    const seed = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
    const context = reportContext('7', `report-${k}`);
    addShare(leader, decodeShare(encodeShare(leaderShare(codes, seed, context, bits), bits), d, bits), bits);
    addShare(helper, expandSeed(seed, context, d, bits), bits);
  });
  return recombine(leader, helper, bits);
}

const plainSum = (inputs: Int8Array[]): Int32Array => {
  const s = new Int32Array(inputs[0]!.length);
  for (const x of inputs) x.forEach((v, i) => (s[i]! += v));
  return s;
};

describe('additive shares for two aggregators', () => {
  it('recombine to the exact sum of the cohort, for every modulus', () => {
    for (const bits of [16, 24, 32] as const) {
      const inputs = Array.from({ length: 20 }, () => randomCodes(1000));
      expect(Array.from(aggregate(inputs, bits))).toEqual(Array.from(plainSum(inputs)));
    }
  });

  it('cannot wrap at the largest cohort of a modulus, all inputs at +127 or all at −127; one device more needs the next modulus', () => {
    expect(shareBits(1)).toBe(16);
    expect(maxCohortFor(16)).toBe(258);
    expect(shareBits(258)).toBe(16);
    expect(shareBits(259)).toBe(24);
    expect(shareBits(maxCohortFor(24) + 1)).toBe(32);
    for (const sign of [1, -1]) {
      const n = maxCohortFor(16);
      const inputs = Array.from({ length: n }, () => new Int8Array(4).fill(127 * sign));
      expect(Array.from(aggregate(inputs, 16))).toEqual([n * 127 * sign, n * 127 * sign, n * 127 * sign, n * 127 * sign]);
      // The same cohort plus one device under the same modulus wraps: why the bound exists.
      const over = [...inputs, new Int8Array(4).fill(127 * sign)];
      expect(aggregate(over, 16)[0]).not.toBe((n + 1) * 127 * sign);
    }
    expect(() => shareBits(0)).toThrow(RangeError);
    expect(() => shareBits(2 ** 31)).toThrow(/wrap/);
  });

  it('cannot wrap at the largest cohort of 2^16, 2^24 and 2^32, with every device at +127 on one value and −127 on another; one device more wraps', () => {
    // maxCohortFor(32) is 16.9 million devices: eight distinct devices (own seeds, own report
    // contexts) stand in for all of them in turn, each one's two shares added once per device.
    const codes = new Int8Array([127, -127, 127, -127]);
    for (const bits of [16, 24, 32] as const) {
      const n = maxCohortFor(bits);
      expect(shareBits(n)).toBe(bits);
      expect(127 * n).toBeLessThanOrEqual(2 ** (bits - 1) - 1);
      expect(127 * (n + 1)).toBeGreaterThan(2 ** (bits - 1) - 1);
      const devices = Array.from({ length: 8 }, (_, k) => {
        const seed = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
        const context = reportContext('9', `device-${k}`);
        return { leader: leaderShare(codes, seed, context, bits), helper: expandSeed(seed, context, codes.length, bits) };
      });
      const leader = new Uint32Array(codes.length);
      const helper = new Uint32Array(codes.length);
      for (let i = 0; i < n; i++) {
        addShare(leader, devices[i % 8]!.leader, bits);
        addShare(helper, devices[i % 8]!.helper, bits);
      }
      expect(Array.from(recombine(leader, helper, bits)), `2^${bits}`).toEqual([127 * n, -127 * n, 127 * n, -127 * n]);
      // One device more under the same modulus: both extremes wrap to the other sign.
      addShare(leader, devices[0]!.leader, bits);
      addShare(helper, devices[0]!.helper, bits);
      const over = recombine(leader, helper, bits);
      expect(over[0]!, `2^${bits}`).toBeLessThan(0);
      expect(over[1]!, `2^${bits}`).toBeGreaterThan(0);
    }
  });

  it("one share alone says nothing of the input: the leader's share of all-zero and all-127 inputs look alike", () => {
    const d = 20_000;
    const seedA = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
    const seedB = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
    const ctx = reportContext('1', 'r');
    const zero = leaderShare(new Int8Array(d), seedA, ctx, 16);
    const full = leaderShare(new Int8Array(d).fill(127), seedB, ctx, 16);
    // Mean and the share of values below 2^15 are those of the uniform distribution for both.
    for (const share of [zero, full]) {
      const mean = share.reduce((a, v) => a + v, 0) / d;
      expect(Math.abs(mean - 32767.5)).toBeLessThan(600); // 4.5 standard errors (18,918/√d = 134)
      const low = share.filter((v) => v < 32768).length / d;
      expect(Math.abs(low - 0.5)).toBeLessThan(0.02);
    }
  });

  it('a seed expands to another share under another round or report (no reuse across reports)', () => {
    const seed = new Uint8Array(randomBytes(SHARE_SEED_BYTES));
    const a = expandSeed(seed, reportContext('1', 'r'), 64, 32);
    expect(expandSeed(seed, reportContext('1', 'r'), 64, 32)).toEqual(a);
    expect(expandSeed(seed, reportContext('2', 'r'), 64, 32)).not.toEqual(a);
    expect(expandSeed(seed, reportContext('1', 's'), 64, 32)).not.toEqual(a);
    expect(() => expandSeed(new Uint8Array(31), reportContext('1', 'r'), 4, 16)).toThrow(/32 bytes/);
  });

  it('refuses a share of the wrong byte length and sums of different lengths', () => {
    expect(() => decodeShare(new Uint8Array(7), 4, 16)).toThrow(/8 bytes, not 7/);
    expect(() => addShare(new Uint32Array(3), new Uint32Array(4), 16)).toThrow(RangeError);
    expect(() => recombine(new Uint32Array(3), new Uint32Array(4), 16)).toThrow(RangeError);
    const share = new Uint32Array([0, 1, 0xffff, 0x1234]);
    expect(decodeShare(encodeShare(share, 16), 4, 16)).toEqual(share);
    const wide = new Uint32Array([0, 0xffffffff, 0x89abcdef]);
    expect(decodeShare(encodeShare(wide, 32), 3, 32)).toEqual(wide);
    expect(encodeShare(new Uint32Array(10), 24)).toHaveLength(30);
  });
});
