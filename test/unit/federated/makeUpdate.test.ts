import { describe, expect, it } from 'vitest';
import { makeUpdate, MAX_UPDATE_BYTES } from '../../../src/federated/makeUpdate';
import { decodeUpdate, federatedShapes, federatedSize, l2Norm, updateLayout } from '../../../src/federated/modelUpdate';
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

  it('round-trips through decodeUpdate within quantization error, clipped, under 256 KB', () => {
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
    const { header, delta } = decodeUpdate(bytes, updateLayout(config));
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
      updateLayout(config),
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
      updateLayout(config),
    );
    // ‖clipped + noise‖² ≈ 0.25 + size·std².
    expect(l2Norm(noised.delta) ** 2).toBeCloseTo(0.25 + federatedSize(config) * 1e-4, 1);
    expect(noised.header.noiseStd).toBe(0.01);
  });

  it('gives each update a fresh nonce', () => {
    const before = weights(config, 0.1);
    const o = { before, after: before, config, modelVersion: 'v1', roundId: 'r1', exampleCount: 3, clipNorm: 1, noiseStd: 0 };
    expect(decodeUpdate(makeUpdate(o), updateLayout(config)).header.nonce).not.toBe(
      decodeUpdate(makeUpdate(o), updateLayout(config)).header.nonce,
    );
  });

  it('carries the announced rows after the dense tensors, with a scale of their own, clipped as one vector', () => {
    const before = weights(config, 0.1);
    const after = shifted(before, 0.001);
    const start = Float32Array.from({ length: 3 * 64 }, () => rand.normal());
    const trained = Float32Array.from(start, (x, i) => x + (i < 64 ? 0.01 : 0));
    const bytes = makeUpdate({
      before,
      after,
      config,
      rows: { start, trained },
      modelVersion: 'v1',
      roundId: '4',
      exampleCount: 2,
      clipNorm: 1e3,
      noiseStd: 0,
      rng: uniform,
    });
    const layout = updateLayout(config, 3);
    const { header, delta } = decodeUpdate(bytes, layout);
    expect(header.scales).toHaveLength(federatedShapes(config).length + 1);
    expect(delta).toHaveLength(federatedSize(config) + 3 * 64);
    const rows = delta.subarray(federatedSize(config));
    for (let i = 0; i < rows.length; i++)
      expect(Math.abs(rows[i]! - (trained[i]! - start[i]!))).toBeLessThanOrEqual(header.scales.at(-1)! * 1.0001);
    expect(rows[0]).toBeCloseTo(0.01, 3);
    expect(rows[100]).toBe(0);
    // The same bytes under the layout without rows are refused, with the counts.
    expect(() => decodeUpdate(bytes, updateLayout(config))).toThrow(/expected 8 scales for round 4, got 9/);
    // The clip bounds dense values and rows together: a big row change is scaled down with the rest.
    const big = Float32Array.from(start, (x) => x + 1);
    const clipped = decodeUpdate(
      makeUpdate({
        before,
        after: before,
        config,
        rows: { start, trained: big },
        modelVersion: 'v1',
        roundId: '4',
        exampleCount: 2,
        clipNorm: 0.5,
        noiseStd: 0,
        rng: uniform,
      }),
      layout,
    );
    expect(l2Norm(clipped.delta)).toBeGreaterThan(0.45);
    expect(l2Norm(clipped.delta)).toBeLessThan(0.55);
  });

  it('gives every device of a round the same byte length, whatever its values and example count', () => {
    const before = weights(config, 0.1);
    const start = Float32Array.from({ length: 5 * 64 }, () => rand.normal());
    const lengths = new Set<number>();
    for (const [i, exampleCount] of [1, 3, 17, 64, 200].entries()) {
      const s = 10 ** -(i + 1);
      const bytes = makeUpdate({
        before,
        after: shifted(before, s),
        config,
        rows: { start, trained: Float32Array.from(start, (x) => x + rand.normal() * s) },
        modelVersion: 'v1',
        roundId: '12',
        exampleCount,
        clipNorm: 1e3,
        noiseStd: 1e-4 / 3, // the round's, the same for all
        rng: uniform,
      });
      lengths.add(bytes.length);
    }
    expect([...lengths]).toHaveLength(1);
  });

  it('refuses to build an update over 256 KB', () => {
    const big: ModelConfig = { ...config, hiddenDim: 300 };
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
