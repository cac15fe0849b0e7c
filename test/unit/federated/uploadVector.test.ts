import { describe, expect, it } from 'vitest';
import { fromSketchAnnouncement, SKETCH_SHARE, sketchSeed } from '../../../src/federated/announcedSketch';
import { sketchHash } from '../../../src/federated/itemSketch';
import { federatedSize, l2Norm } from '../../../src/federated/modelUpdate';
import { uploadVector } from '../../../src/federated/uploadVector';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import { Random } from '../../../models/random';

const rand = new Random(5);
const config: ModelConfig = { numItems: 50, embedDim: 8, hiddenDim: 12, attnDim: 4, scale: 10, maxLen: 8 };
const weights = (s: number): Map<string, Float32Array> =>
  new Map(
    denseShapes(config).map(([n, shape]) => [n, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand.normal() * s)]),
  );

describe('the upload vector with an item sketch', () => {
  it('clips the update to √(C² − c²) and appends the sketch at c = 0.3·C: the whole stays within C', () => {
    const before = weights(1);
    const after = new Map([...before].map(([n, a]) => [n, Float32Array.from(a, (x) => x + rand.normal())]));
    const hash = sketchHash(256, sketchSeed(3));
    const v = uploadVector({
      before,
      after,
      config,
      clipNorm: 2,
      sketch: {
        hash,
        sessions: [
          [1, 2, 3],
          [3, 4],
        ],
      },
    });
    const d = federatedSize(config);
    expect(v).toHaveLength(d + 256);
    expect(l2Norm(v.subarray(0, d))).toBeCloseTo(Math.sqrt(4 - (SKETCH_SHARE * 2) ** 2), 4);
    expect(l2Norm(v.subarray(d))).toBeCloseTo(SKETCH_SHARE * 2, 5);
    expect(l2Norm(v)).toBeLessThanOrEqual(2 + 1e-5);
    // Without a sketch the whole clip norm is the update's.
    expect(l2Norm(uploadVector({ before, after, config, clipNorm: 2 }))).toBeCloseTo(2, 4);
  });

  it('reads a round’s announcement: none, a valid one, or why not', () => {
    expect(fromSketchAnnouncement(undefined, 1000)).toBeNull();
    expect(fromSketchAnnouncement(null, 1000)).toBeNull();
    expect(fromSketchAnnouncement({ buckets: 512, seed: 0xffffffff }, 1000)).toEqual({ buckets: 512, seed: 0xffffffff });
    for (const bad of [{ buckets: 1001, seed: 1 }, { buckets: 0, seed: 1 }, { buckets: 8, seed: 1.5 }, { buckets: 8 }, 'x', [8, 1]])
      expect(typeof fromSketchAnnouncement(bad, 1000), JSON.stringify(bad)).toBe('string');
    // The seed is a function of the round alone: the same after a restart, another for the next round.
    expect(sketchSeed(7)).toBe(sketchSeed(7));
    expect(sketchSeed(8)).not.toBe(sketchSeed(7));
  });
});
