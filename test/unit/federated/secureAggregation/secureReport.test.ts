import { describe, expect, it } from 'vitest';
import { addShare, expandSeed, recombine } from '../../../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys, openSeed, reportContext } from '../../../../src/federated/secureAggregation/helperEncryption';
import {
  decodeSecureReport,
  makeSecureReport,
  SecureReportFormatError,
  secureStep,
} from '../../../../src/federated/secureAggregation/secureReport';
import { federatedDelta } from '../../../../src/federated/federatedDelta';
import { clipToNorm } from '../../../../src/federated/clipAndNoise';
import { federatedSize } from '../../../../src/federated/modelUpdate';
import { toBase64Url } from '../../../../src/federated/participationChallenge';
import { denseShapes, type ModelConfig } from '../../../../src/model/plain/modelConfig';
import { Random } from '../../../../models/random';

const rand = new Random(5);
const config: ModelConfig = { numItems: 50, embedDim: 16, hiddenDim: 32, attnDim: 16, scale: 12, maxLen: 20 };
const weights = (s: number): Map<string, Float32Array> =>
  new Map(
    denseShapes(config).map(([n, shape]) => [n, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand.normal() * s)]),
  );
const shifted = (w: Map<string, Float32Array>, s: number): Map<string, Float32Array> =>
  new Map([...w].map(([n, a]) => [n, Float32Array.from(a, (x) => x + rand.normal() * s)]));

describe('a secure report', () => {
  it("carries the device's clipped update, readable only by combining both aggregators' parts; a cohort's reports sum to the sum of the updates", async () => {
    const keys = await generateHelperKeys();
    const C = 0.5;
    const round = { roundId: '4', helperPublicKey: toBase64Url(keys.publicKey), bits: 16 as const, step: secureStep(C) };
    const d = federatedSize(config);
    const leaderSum = new Uint32Array(d);
    const helperSum = new Uint32Array(d);
    const expected = new Float64Array(d);
    const n = 12;
    for (let k = 0; k < n; k++) {
      const before = weights(0.1);
      const after = shifted(before, 0.01);
      const { bytes, header } = await makeSecureReport({
        before,
        after,
        config,
        modelVersion: 'v1',
        round,
        clipNorm: C,
        noiseStd: 0,
        rng: () => rand.next(),
      });
      const report = decodeSecureReport(bytes, d);
      expect(report.header).toEqual(header);
      expect(Object.keys(header).sort()).toEqual([
        'bits',
        'clipNorm',
        'formatVersion',
        'length',
        'modelVersion',
        'noiseStd',
        'reportId',
        'roundId',
        'step',
      ]);
      addShare(leaderSum, report.leaderShare, 16);
      const ctx = reportContext('4', header.reportId);
      const seed = await openSeed(keys.privateKey, { enc: report.enc, ciphertext: report.sealedSeed }, ctx);
      addShare(helperSum, expandSeed(seed, ctx, d, 16), 16);
      const delta = federatedDelta(before, after, config);
      clipToNorm(delta, C);
      delta.forEach((v, i) => (expected[i]! += v));
    }
    const sum = recombine(leaderSum, helperSum, 16);
    // Stochastic rounding: each device is off by less than a step per value; the sum by < n steps,
    // and on average by about √n/2 steps.
    let maxErr = 0;
    let sq = 0;
    sum.forEach((code, i) => {
      const e = Math.abs(code * round.step - expected[i]!);
      maxErr = Math.max(maxErr, e);
      sq += e * e;
    });
    expect(maxErr).toBeLessThan(n * round.step);
    expect(Math.sqrt(sq / d)).toBeLessThan(Math.sqrt(n) * round.step);
  });

  it('refuses bytes that are not a well-formed report, with a reason', async () => {
    const keys = await generateHelperKeys();
    const round = { roundId: '1', helperPublicKey: toBase64Url(keys.publicKey), bits: 16 as const, step: secureStep(1) };
    const before = weights(0.1);
    const { bytes } = await makeSecureReport({
      before,
      after: shifted(before, 0.01),
      config,
      modelVersion: 'v',
      round,
      clipNorm: 1,
      noiseStd: 0.1,
    });
    const d = federatedSize(config);
    const bad = (b: Uint8Array, len = d): string => {
      try {
        decodeSecureReport(b, len);
      } catch (err) {
        expect(err).toBeInstanceOf(SecureReportFormatError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad(bytes)).toBe('accepted');
    expect(bad(bytes.subarray(0, bytes.length - 1))).toMatch(/expected \d+ bytes/);
    expect(bad(bytes, d + 1)).toMatch(/values, expected/);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0x58;
    expect(bad(wrongMagic)).toMatch(/magic/);
    const h = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + h)));
    const withField = (extra: object): Uint8Array => {
      const j = new TextEncoder().encode(JSON.stringify({ ...header, ...extra }));
      const out = new Uint8Array(8 + j.length + bytes.length - 8 - h);
      out.set(bytes.subarray(0, 4));
      new DataView(out.buffer).setUint32(4, j.length, true);
      out.set(j, 8);
      out.set(bytes.subarray(8 + h), 8 + j.length);
      return out;
    };
    expect(bad(withField({ deviceId: 'x' }))).toMatch(/fields/);
    expect(bad(withField({ reportId: 'short' }))).toMatch(/reportId/);
    expect(bad(withField({ noiseStd: -1 }))).toMatch(/noiseStd/);
  });
});

describe('a truncated or altered report', () => {
  it('is refused at every truncation and for every bit flipped in its layout, always as a SecureReportFormatError with a reason', async () => {
    const keys = await generateHelperKeys();
    const round = { roundId: '2', helperPublicKey: toBase64Url(keys.publicKey), bits: 16 as const, step: secureStep(1) };
    const before = weights(0.1);
    const { bytes, header } = await makeSecureReport({
      before,
      after: shifted(before, 0.01),
      config,
      modelVersion: 'v',
      round,
      clipNorm: 1,
      noiseStd: 0.1,
    });
    const d = federatedSize(config);
    /** The reason a decode refused `b`, or null if it was accepted; any other error fails the test. */
    const reason = (b: Uint8Array): string | null => {
      try {
        decodeSecureReport(b, d);
        return null;
      } catch (err) {
        if (!(err instanceof SecureReportFormatError)) throw err;
        expect(err.message.length).toBeGreaterThan(5);
        return err.message;
      }
    };
    // Cut short anywhere, or one byte too long: refused.
    for (let n = 0; n < bytes.length; n++) expect(reason(bytes.subarray(0, n)), `first ${n} bytes`).not.toBeNull();
    expect(reason(bytes.subarray(0, 7))).toMatch(/magic/);
    expect(reason(bytes.subarray(0, 20))).toMatch(/header length out of range/);
    expect(reason(bytes.subarray(0, bytes.length - 1))).toMatch(/expected \d+ bytes, got/);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(reason(longer)).toMatch(/expected \d+ bytes, got/);

    // Every bit of the magic, the header length and the header JSON flipped in turn.
    const h = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + h));
    const valueAt = (key: string): [number, number] => {
      const start = 8 + json.indexOf(`"${key}":`) + key.length + 3;
      return [start, start + JSON.stringify(header[key as keyof typeof header]).length];
    };
    const [bitsStart, bitsEnd] = valueAt('bits');
    const [lengthStart, lengthEnd] = valueAt('length');
    const alwaysRefused = (i: number): boolean =>
      i < 8 || i === 8 || i === 8 + h - 1 || (i >= bitsStart && i < bitsEnd) || (i >= lengthStart && i < lengthEnd);
    let refused = 0;
    let accepted = 0;
    for (let i = 0; i < 8 + h; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = bytes.slice();
        flipped[i]! ^= 1 << bit;
        const why = reason(flipped);
        if (alwaysRefused(i)) expect(why, `byte ${i} bit ${bit}`).not.toBeNull();
        if (why === null) {
          accepted++;
          // What still parses is another header (e.g. another model version or report id), never the same one.
          expect(decodeSecureReport(flipped, d).header, `byte ${i} bit ${bit}`).not.toEqual(header);
        } else refused++;
      }
    }
    expect(refused).toBeGreaterThan(accepted);
    // Named reasons for the telling flips.
    const flip = (i: number, mask: number): Uint8Array => {
      const b = bytes.slice();
      b[i]! ^= mask;
      return b;
    };
    expect(reason(flip(0, 1))).toMatch(/magic/);
    expect(reason(flip(7, 0x80))).toMatch(/header length out of range/);
    expect(reason(flip(4, 1))).toMatch(/header is not JSON|header length|expected/);
    expect(reason(flip(8, 1))).toMatch(/header is not JSON/); // "{" → "z"
    expect(reason(flip(bitsEnd - 1, 1))).toMatch(/bits must be 16, 24 or 32/); // 16 → 17
    expect(reason(flip(lengthEnd - 1, 1))).toMatch(/values, expected/);
  });
});
