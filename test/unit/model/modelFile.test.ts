import { describe, expect, it } from 'vitest';
import { checkManifest, decodeTensors, encodeTensors } from '../../../src/model/plain/modelFile';

const ModelFormatError = expect.objectContaining({ name: 'ModelFormatError' });
import { Random } from '../../../models/random';

const rng = new Random(11);
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());

describe('model file encoding', () => {
  const items = rand(50 * 8);
  const w = rand(8 * 6);
  const bias = rand(6);
  const tensors = [
    { name: 'items', shape: [50, 8], data: items, encoding: 'int8' as const, axis: 0 as const },
    { name: 'w', shape: [8, 6], data: w, encoding: 'int8' as const, axis: 1 as const },
    { name: 'b', shape: [6], data: bias, encoding: 'float32' as const },
  ];

  it('round-trips float32 exactly and int8 within half a quantisation step', () => {
    const { entries, buffer } = encodeTensors(tensors);
    const out = decodeTensors(entries, buffer.buffer as ArrayBuffer);
    expect(Array.from(out.get('b')!.data)).toEqual(Array.from(bias));
    const back = out.get('items')!.data;
    for (let r = 0; r < 50; r++) {
      const maxAbs = Math.max(...Array.from(items.subarray(r * 8, r * 8 + 8), Math.abs));
      for (let c = 0; c < 8; c++)
        expect(Math.abs(back[r * 8 + c]! - items[r * 8 + c]!)).toBeLessThanOrEqual(maxAbs / 127 / 2 + (1e-3 * maxAbs) / 127);
    }
  });

  it('stores int8 matrices in about a quarter of the float32 bytes', () => {
    const { buffer } = encodeTensors([{ ...tensors[0]!, encoding: 'int8' }]);
    const { buffer: f } = encodeTensors([{ ...tensors[0]!, encoding: 'float32' }]);
    expect(buffer.length).toBe(50 * 2 + 50 * 8);
    expect(f.length).toBe(50 * 8 * 4);
  });

  it('rejects a truncated weights file with a named error', () => {
    const { entries, buffer } = encodeTensors(tensors);
    const cut = buffer.slice(0, buffer.length - 10).buffer as ArrayBuffer;
    expect(() => decodeTensors(entries, cut)).toThrow(ModelFormatError);
  });

  it('rejects manifests of another format', () => {
    expect(() => checkManifest({ format: 'tfjs-graph-model' })).toThrow(/not a edge-personalize/);
    expect(() => checkManifest(null)).toThrow(ModelFormatError);
  });

  it('names an unknown repeat path instead of scoring with the wrong one', async () => {
    const { MODEL_FORMAT, MODEL_FORMAT_VERSION } = await import('../../../src/model/plain/modelFile');
    const base = { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, modelVersion: 'v', tensors: [] };
    const config = { numItems: 2, embedDim: 2, hiddenDim: 2, attnDim: 0, scale: 9, maxLen: 4 };
    expect(() => checkManifest({ ...base, config: { ...config, repeat: 'copy' } })).toThrow(/unknown repeat path "copy"/);
    expect(checkManifest({ ...base, config: { ...config, repeat: 'mixture' } }).config.repeat).toBe('mixture');
    expect(checkManifest({ ...base, config }).config.repeat).toBeUndefined();
  });
});
