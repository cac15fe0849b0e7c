import { describe, expect, it } from 'vitest';
import { makeUpdate, MAX_UPDATE_BYTES } from '../../../src/federated/makeUpdate';
import { decodeUpdate, federatedShapes, federatedSize, l2Norm } from '../../../src/federated/modelUpdate';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';

const rand = new Random(11);
const uniform = (): number => rand.next();

function weights(config: ModelConfig, s: number): Map<string, Float32Array> {
  return new Map(
    denseShapes(config).map(([n, shape]) => [n, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand.normal() * s)]),
  );
}

function shifted(w: Map<string, Float32Array>, s: number): Map<string, Float32Array> {
  return new Map([...w].map(([n, a]) => [n, Float32Array.from(a, (x) => x + rand.normal() * s)]));
}

describe('makeUpdate', () => {
  // The shipped model's shape: E=64, H=128, attention 64.
  const config: ModelConfig = { numItems: 100, embedDim: 64, hiddenDim: 128, attnDim: 64, scale: 12, maxLen: 20 };

  it('round-trips through decodeUpdate within quantization error, clipped, under 64 KB', () => {
    const before = weights(config, 0.1);
    const after = shifted(before, 0.001);
    const bytes = makeUpdate({
      before,
      after,
      config,
      modelVersion: 'v1',
      roundId: 'r7',
      exampleCount: 13,
      clipNorm: 1e3,
      noiseStd: 0,
      rng: uniform,
    });
    expect(bytes.length).toBeLessThanOrEqual(MAX_UPDATE_BYTES);
    expect(bytes.length).toBeGreaterThan(federatedSize(config));
    const { header, delta } = decodeUpdate(bytes, config);
    expect(header).toMatchObject({ modelVersion: 'v1', roundId: 'r7', exampleBucket: 8, clipNorm: 1e3, noiseStd: 0 });
    expect(header.nonce).toMatch(/^[0-9a-f]{32}$/);
    let offset = 0;
    federatedShapes(config).forEach(([name, shape], t) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const a = after.get(name)!;
      const b = before.get(name)!;
      for (let i = 0; i < n; i++) expect(Math.abs(delta[offset + i]! - (a[i]! - b[i]!))).toBeLessThan(header.scales[t]! * 1.0001);
      offset += n;
    });
  });

  it('clips the delta to clipNorm before quantizing (and adds the stated noise)', () => {
    const before = weights(config, 0.1);
    const after = shifted(before, 0.01); // ‖Δ‖ ≈ 0.01·√61824 ≈ 2.5
    const clipped = decodeUpdate(
      makeUpdate({ before, after, config, modelVersion: 'v1', roundId: 'r1', exampleCount: 1, clipNorm: 0.5, noiseStd: 0, rng: uniform }),
      config,
    );
    expect(l2Norm(clipped.delta)).toBeGreaterThan(0.45);
    expect(l2Norm(clipped.delta)).toBeLessThan(0.55);
    const noised = decodeUpdate(
      makeUpdate({
        before,
        after,
        config,
        modelVersion: 'v1',
        roundId: 'r1',
        exampleCount: 1,
        clipNorm: 0.5,
        noiseStd: 0.01,
        rng: uniform,
      }),
      config,
    );
    // ‖clipped + noise‖² ≈ 0.25 + size·std².
    expect(l2Norm(noised.delta) ** 2).toBeCloseTo(0.25 + federatedSize(config) * 1e-4, 1);
    expect(noised.header.noiseStd).toBe(0.01);
  });

  it('gives each update a fresh nonce', () => {
    const before = weights(config, 0.1);
    const o = { before, after: before, config, modelVersion: 'v1', roundId: 'r1', exampleCount: 3, clipNorm: 1, noiseStd: 0 };
    expect(decodeUpdate(makeUpdate(o), config).header.nonce).not.toBe(decodeUpdate(makeUpdate(o), config).header.nonce);
  });

  it('refuses to build an update over 64 KB', () => {
    const big: ModelConfig = { ...config, hiddenDim: 160 };
    const before = weights(big, 0.1);
    let err: unknown;
    try {
      makeUpdate({ before, after: before, config: big, modelVersion: 'v1', roundId: 'r1', exampleCount: 3, clipNorm: 1, noiseStd: 0 });
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe('UpdateTooLargeError');
  });
});
