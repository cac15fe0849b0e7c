import { describe, expect, it } from 'vitest';
import { makeUpdate as deviceUpdate } from '../../../src/federated/makeUpdate';
import { updateLayout, UPDATE_CONTENT_TYPE, type UpdateLayout } from '../../../src/federated/modelUpdate';
import { readModelDir } from '../../../src/node/modelDir';
import { maxScale, maxUpdateBytes, normBound, validateUpdate, type ValidationContext } from '../../../src/server/validateUpdate';
import { rowsPerRound } from '../../../src/server/rowsPerRound';
import { MAX_UPDATE_BYTES } from '../../../src/federated/makeUpdate';
import { maxReportBytes } from '../../../src/server/secureAggregation/leaderShares';
import type { ModelConfig } from '../../../src/model/plain/modelConfig';
import { sketchHash } from '../../../src/federated/itemSketch';
import { BASE_VERSION, CONFIG, MODEL_DIR } from './updateFixtures';
import { craftUpdate } from './reviewHelpers';

/** Updates of a round that announces item rows: their layout, checked by the validator. */

const ROWS = 40;
const layout = updateLayout(CONFIG, ROWS);
const noiseStd = 0.3;
const base = readModelDir(MODEL_DIR).weights;

/** A validation context whose round 1 announced `ROWS` rows (round 2, open, announced 7). */
function context(): ValidationContext {
  return {
    layoutFor: (roundId) => updateLayout(CONFIG, roundId === '1' ? ROWS : 7),
    clipNorm: 1,
    noiseStd,
    versionIndex: (v) => (v === BASE_VERSION ? 0 : undefined),
    currentIndex: 0,
    maxStaleness: 2,
    openRound: 2,
    hasNonce: () => false,
    weightPolicy: { exampleCap: 16, stalenessDecay: 0.5 },
  };
}

/** Codes and scales as given (what a malicious device can send) for round 1, in layout `l`. */
function crafted(codes: Int8Array, scales: number[], l: UpdateLayout = layout): Uint8Array {
  expect(codes.length).toBe(l.length);
  return craftUpdate(codes, scales, { noiseStd });
}

describe('updates with announced rows', () => {
  it('accepts a device update over the round’s rows, decoded with that round’s layout', () => {
    const start = base.items.slice(0, ROWS * CONFIG.embedDim);
    const trained = Float32Array.from(start, (x, i) => x + (i % 3) * 1e-3);
    const after = new Map([...base.dense].map(([n, a]) => [n, Float32Array.from(a, (x) => x + 1e-4)]));
    const bytes = deviceUpdate({
      before: base.dense,
      after,
      config: CONFIG,
      rows: { start, trained },
      modelVersion: BASE_VERSION,
      roundId: '1',
      exampleCount: 5,
      clipNorm: 1,
      noiseStd,
    });
    const r = validateUpdate(bytes, UPDATE_CONTENT_TYPE, context());
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (r.ok) expect(r.update.delta).toHaveLength(layout.length);
  });

  it('refuses an update of another length than its round’s layout, saying what was expected', () => {
    const tooFew = updateLayout(CONFIG, ROWS - 1);
    const r = validateUpdate(
      crafted(
        new Int8Array(tooFew.length),
        tooFew.blocks.map(() => 0.001),
        tooFew,
      ),
      UPDATE_CONTENT_TYPE,
      context(),
    );
    expect(r).toMatchObject({ ok: false, status: 400, reason: 'wrong_shape' });
    expect(!r.ok && r.message).toContain(`expected ${layout.length} values (the dense tensors and ${ROWS} announced rows) for round 1`);
    // A dense-only update to a round with rows: one scale short.
    const dense = updateLayout(CONFIG, 0);
    const d = validateUpdate(
      crafted(
        new Int8Array(dense.length),
        dense.blocks.map(() => 0.001),
        dense,
      ),
      UPDATE_CONTENT_TYPE,
      context(),
    );
    expect(d).toMatchObject({ ok: false, reason: 'wrong_shape' });
    expect(!d.ok && d.message).toContain(`expected ${layout.blocks.length} scales`);
  });

  it('bounds the rows block like the rest: the largest norm at the largest step passes, one code more is refused', () => {
    const s = maxScale(layout, 1, noiseStd);
    const scales = layout.blocks.map(() => s);
    const bound = normBound(layout, 1, noiseStd, scales);
    // Every unit of the allowed norm packed into the rows block, at code ±127.
    const budget = Math.floor((bound / s) ** 2 * (1 - 1e-9));
    const rowsStart = layout.denseSize;
    const fill = (extra: number): Int8Array => {
      const codes = new Int8Array(layout.length);
      let left = budget + extra;
      for (let i = rowsStart; i < layout.length && left > 0; i++) {
        const c = Math.min(127, Math.floor(Math.sqrt(left)));
        codes[i] = c;
        left -= c * c;
      }
      expect(left).toBeLessThanOrEqual(0);
      return codes;
    };
    const edge = fill(0);
    let sq = 0;
    for (const c of edge) sq += c * c;
    expect(Math.sqrt(sq) * s).toBeLessThanOrEqual(bound);
    expect(validateUpdate(crafted(edge, scales), UPDATE_CONTENT_TYPE, context()).ok).toBe(true);
    const over = fill(Math.ceil((bound / s) ** 2 - budget) + 2 * 127 + 1);
    expect(validateUpdate(crafted(over, scales), UPDATE_CONTENT_TYPE, context())).toMatchObject({ ok: false, reason: 'norm_too_large' });
    // A step above the cap in the rows block alone is refused, and named.
    const big = validateUpdate(crafted(new Int8Array(layout.length), [...scales.slice(0, -1), s * 1.001]), UPDATE_CONTENT_TYPE, context());
    expect(big).toMatchObject({ ok: false, reason: 'scale_too_large' });
    expect(!big.ok && big.message).toContain('(items/rows)');
  });
});

describe('rows per round', () => {
  const digi: ModelConfig = { numItems: 43097, embedDim: 64, hiddenDim: 128, attnDim: 64, scale: 9, maxLen: 20, repeat: 'mixture' };

  it('fits the masked report of the DIGINETICA model in 256 KB at 16-bit shares, and one row more would not', () => {
    const rows = rowsPerRound(digi, 16);
    const bytes = (r: number): number => maxReportBytes(updateLayout(digi, r).length, 16);
    expect(bytes(rows)).toBeLessThanOrEqual(MAX_UPDATE_BYTES);
    expect(bytes(rows + 1)).toBeGreaterThan(MAX_UPDATE_BYTES);
    expect(rows).toBeGreaterThan(1000);
    // 24-bit shares (cohorts over 258) leave room for fewer rows; plain int8 updates for more.
    expect(rowsPerRound(digi, 24)).toBeLessThan(rows);
    expect(rowsPerRound(digi, null)).toBeGreaterThan(rows);
  });

  it('caps at the catalogue, honours a request that fits and refuses one that does not, with the arithmetic', () => {
    expect(rowsPerRound(CONFIG, null)).toBe(
      Math.min(CONFIG.numItems, Math.floor((MAX_UPDATE_BYTES - 8 - 4096 - updateLayout(CONFIG).length) / CONFIG.embedDim)),
    );
    expect(rowsPerRound({ ...CONFIG, numItems: 10 }, 16)).toBe(10);
    expect(rowsPerRound(digi, 16, 500)).toBe(500);
    expect(rowsPerRound(digi, 16, 0)).toBe(0);
    expect(() => rowsPerRound(digi, 16, 5000)).toThrow(
      /rowsPerRound 5000 does not fit one upload: 61824 dense values \+ 5000 rows × 64 = 381824 values at 2 bytes \(16-bit shares\) each \+ header = \d+ bytes \(limit 262144\); at most \d+ rows fit/,
    );
    expect(() => rowsPerRound(digi, 16, 1.5)).toThrow(/integer in \[0, 43097\]/);
    expect(() => rowsPerRound({ ...digi, hiddenDim: 400 }, 16)).toThrow(/too large to federate/);
  });

  it('fits the rows beside the item sketch: the masked report with 8,192 buckets stays within 256 KB, with fewer rows', () => {
    const without = rowsPerRound(digi, 16);
    const rows = rowsPerRound(digi, 16, undefined, 8192);
    const bytes = (r: number): number => maxReportBytes(updateLayout(digi, r, 8192).length, 16);
    expect(bytes(rows)).toBeLessThanOrEqual(MAX_UPDATE_BYTES);
    expect(bytes(rows + 1)).toBeGreaterThan(MAX_UPDATE_BYTES);
    // 8,192 buckets take the room of 128 rows of 64 values.
    expect(without - rows).toBe(128);
    expect(rowsPerRound(digi, null, undefined, 8192)).toBe(rowsPerRound(digi, null) - 128);
    expect(() => rowsPerRound(digi, 16, without, 8192)).toThrow(
      new RegExp(
        `rowsPerRound ${without} does not fit one upload: 61824 dense values \\+ ${without} rows × 64 \\+ 8192 sketch buckets = .*; at most ${rows} rows fit beside the sketch`,
      ),
    );
    expect(() => rowsPerRound(digi, 16, 0, 110_000)).toThrow(/the model with its item sketch is too large to federate/);
  });

  it('accepts a device update with the round’s sketch, read with that round’s layout; one without it is the wrong shape', () => {
    const sketched = updateLayout(CONFIG, ROWS, 512);
    const ctx = { ...context(), layoutFor: (roundId: string) => (roundId === '1' ? sketched : updateLayout(CONFIG, 7)) };
    const start = base.items.slice(0, ROWS * CONFIG.embedDim);
    const trained = Float32Array.from(start, (x, i) => x + (i % 3) * 1e-3);
    const after = new Map([...base.dense].map(([n, a]) => [n, Float32Array.from(a, (x) => x + 1e-4)]));
    const common = {
      before: base.dense,
      after,
      config: CONFIG,
      rows: { start, trained },
      modelVersion: BASE_VERSION,
      roundId: '1',
      exampleCount: 5,
      clipNorm: 1,
      noiseStd,
    };
    const bytes = deviceUpdate({ ...common, sketch: { hash: sketchHash(512, 1), sessions: [[3, 4, 5]] } });
    const r = validateUpdate(bytes, UPDATE_CONTENT_TYPE, ctx);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (r.ok) expect(r.update.delta).toHaveLength(sketched.length);
    expect(validateUpdate(deviceUpdate(common), UPDATE_CONTENT_TYPE, ctx)).toMatchObject({ ok: false, reason: 'wrong_shape' });
    expect(bytes.length).toBeLessThanOrEqual(maxUpdateBytes(sketched));
  });
});
