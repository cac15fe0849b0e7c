import { decodeUpdate, UPDATE_CONTENT_TYPE, UpdateFormatError, type ModelUpdate, type UpdateLayout } from '../federated/modelUpdate';
import { updateWeight, type WeightPolicy } from './fedAvg';

/**
 * Every check an uploaded update must pass before it is stored. Pure: the caller stores the
 * update only when the answer is `ok`, so a rejected update changes nothing.
 */

/** Machine-readable reasons for refusing an update (the `reason` of the JSON answer). */
export type RejectReason =
  | 'content_type'
  | 'too_large'
  | 'rate_limited'
  | 'bad_magic'
  | 'truncated'
  | 'bad_header'
  | 'bad_format_version'
  | 'bad_scale'
  | 'scale_too_large'
  | 'bad_example_bucket'
  | 'bad_nonce'
  | 'wrong_shape'
  | 'non_finite'
  | 'wrong_privacy_parameters'
  | 'norm_too_large'
  | 'unknown_version'
  | 'stale_version'
  | 'unknown_round'
  | 'round_closed'
  | 'replayed_nonce'
  | 'storage_error'
  | 'storage_full'
  | 'round_full'
  | 'privacy_budget_spent';

/** A refusal: HTTP status, reason and a sentence for people. */
export interface UpdateRejection {
  ok: false;
  status: number;
  reason: RejectReason;
  message: string;
}

/** An update that passed every check, with its FedAvg weight. */
export interface AcceptedUpdate {
  ok: true;
  update: ModelUpdate;
  staleness: number;
  weight: number;
}

/** What the checks need to know about the server. */
export interface ValidationContext {
  /**
   * The layout of an update for round `roundId` (the dense tensors and that round's announced
   * rows); for a round the server does not know, the open round's (the round check refuses it).
   */
  layoutFor: (roundId: string) => UpdateLayout;
  clipNorm: number;
  noiseStd: number;
  /** Published versions, oldest first; the last is current. */
  versionIndex: (version: string) => number | undefined;
  currentIndex: number;
  maxStaleness: number;
  openRound: number;
  hasNonce: (nonce: string) => boolean;
  weightPolicy: WeightPolicy;
}

/** Largest update header accepted. */
export const MAX_HEADER_BYTES = 4096;

/** The body size limit for a layout: magic + length + the largest header + one int8 per value. */
export function maxUpdateBytes(layout: UpdateLayout): number {
  return 8 + MAX_HEADER_BYTES + layout.length;
}

const reject = (status: number, reason: RejectReason, message: string): UpdateRejection => ({ ok: false, status, reason, message });

/** 415 unless the media type is the update's (parameters such as `; charset` are ignored). */
export function checkContentType(contentType: string | undefined): UpdateRejection | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === UPDATE_CONTENT_TYPE ? null : reject(415, 'content_type', `Content-Type must be ${UPDATE_CONTENT_TYPE}`);
}

/** The 413 answer for a body over the limit. */
export function tooLarge(limit: number): UpdateRejection {
  return reject(413, 'too_large', `an update is at most ${limit} bytes`);
}

/** True when the header's `scales` holds something JSON turned from NaN/±Infinity (null, or 1e999). */
function headerHasNonFiniteScale(body: Uint8Array): boolean {
  try {
    const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(4, true);
    const h = JSON.parse(new TextDecoder().decode(body.subarray(8, 8 + length))) as { scales?: unknown };
    return Array.isArray(h.scales) && h.scales.some((s) => s === null || (typeof s === 'number' && !Number.isFinite(s)));
  } catch {
    return false;
  }
}

/**
 * The largest int8 step an honest device can use: its step is max|v|/127 per block, and an honest
 * value is a clipped signal (|s_i| ≤ C) plus Gaussian noise; the largest of d Gaussians stays
 * below `σ_n·(√(2 ln 2d) + 4)` except with probability far below 1e-9. A larger step is refused:
 * otherwise codes of ±1 with an enormous step would pass any norm allowance that grows with the
 * step (one such update once overflowed the published model's scales).
 */
export function maxScale(layout: UpdateLayout, clipNorm: number, noiseStd: number): number {
  const d = layout.length;
  return (clipNorm + noiseStd * (Math.sqrt(2 * Math.log(2 * d)) + 4)) / 127;
}

/**
 * The largest norm an honest update can have. Signal `s` (‖s‖ ≤ C) and the device's Gaussian
 * noise `n` (std σ_n per coordinate) are independent, so ‖s + n‖² = ‖s‖² + 2 s·n + ‖n‖² with
 * ‖n‖² ~ σ_n²·χ²_d (mean dσ_n², sd σ_n²√(2d)) and s·n ~ N(0, C²σ_n²); allowing 8 standard
 * deviations of each makes a false refusal practically impossible. Devices round to int8
 * stochastically (unbiased): the error on one value is below one step, so `√(Σ_t n_t·step_t²)`
 * is allowed for rounding, with every step capped at {@link maxScale}: the allowance can never
 * exceed `√d·maxScale`, whatever an update says about itself (once, codes of ±1 with a step
 * of 1e8 passed an allowance that grew with the step).
 *
 * This bounds what one update can do, not whether it was clipped: noise hides the signal, so
 * a device that sends no noise may send a signal of norm up to about σ_n·√d (see README.md).
 * `d` is the whole layout, the announced rows included: the device clips dense values and rows as
 * one vector, so one bound covers both.
 */
export function normBound(layout: UpdateLayout, clipNorm: number, noiseStd: number, scales?: readonly number[]): number {
  const d = layout.length;
  const v = noiseStd * noiseStd;
  const cap = maxScale(layout, clipNorm, noiseStd);
  // The rounding allowance: one step per value, each step capped (so at most √d·maxScale).
  let rounding = d * cap * cap;
  if (scales) {
    rounding = 0;
    layout.blocks.forEach(({ size }, t) => {
      const step = Math.min(scales[t] ?? cap, cap);
      rounding += size * step * step;
    });
  }
  return Math.sqrt(clipNorm * clipNorm + v * (d + 8 * Math.sqrt(2 * d)) + 16 * clipNorm * noiseStd) + Math.sqrt(rounding);
}

const same = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/**
 * Checks a received body: content type, size, format and shape for the model, finite values,
 * privacy parameters, norm, version staleness, round and nonce, in that order. Returns the
 * decoded update with its weight, or the first failed check as a rejection.
 */
export function validateUpdate(
  body: Uint8Array,
  contentType: string | undefined,
  ctx: ValidationContext,
): AcceptedUpdate | UpdateRejection {
  const badType = checkContentType(contentType);
  if (badType) return badType;
  // The open round's layout bounds the size (rowsPerRound only grows, with the catalogue).
  let layout = ctx.layoutFor(String(ctx.openRound));
  const limit = maxUpdateBytes(layout);
  if (body.length > limit) return tooLarge(limit);

  let update: ModelUpdate;
  try {
    update = decodeUpdate(body, (roundId) => (layout = ctx.layoutFor(roundId)));
  } catch (err) {
    if (!(err instanceof UpdateFormatError)) throw err;
    if (err.reason === 'bad_scale' && headerHasNonFiniteScale(body))
      return reject(400, 'non_finite', 'every scale must be a finite number (NaN and ±Infinity are refused)');
    return reject(400, err.reason as RejectReason, err.message);
  }
  const h = update.header;
  const l = layout;
  const stepLimit = maxScale(l, ctx.clipNorm, ctx.noiseStd);
  const bigStep = h.scales.findIndex((x) => x > stepLimit * (1 + 1e-9));
  let sumSq = 0;
  for (let i = 0; i < update.delta.length; i++) sumSq += update.delta[i]! * update.delta[i]!;
  // Any NaN or ±Infinity in the delta makes the sum of squares non-finite.
  if (!Number.isFinite(sumSq)) return reject(400, 'non_finite', 'the update holds non-finite values (a scale too large for float32)');
  if (!same(h.clipNorm, ctx.clipNorm) || !same(h.noiseStd, ctx.noiseStd)) {
    return reject(400, 'wrong_privacy_parameters', `clipNorm must be ${ctx.clipNorm} and noiseStd ${ctx.noiseStd} (see GET /v1/model)`);
  }
  if (bigStep >= 0) {
    return reject(
      400,
      'scale_too_large',
      `the int8 step of block ${bigStep} (${l.blocks[bigStep]!.name}) is ${h.scales[bigStep]!.toPrecision(4)}; an honest update's is at most ${stepLimit.toPrecision(4)} at clip norm ${ctx.clipNorm} and noise ${ctx.noiseStd.toPrecision(4)}`,
    );
  }
  const norm = Math.sqrt(sumSq);
  const bound = normBound(l, ctx.clipNorm, ctx.noiseStd, h.scales);
  if (norm > bound)
    return reject(
      400,
      'norm_too_large',
      `update norm ${norm.toPrecision(4)} exceeds ${bound.toPrecision(4)}, the most a clipped (norm ${ctx.clipNorm}), noised and rounded update can have`,
    );

  const index = ctx.versionIndex(h.modelVersion);
  if (index === undefined) return reject(409, 'unknown_version', `model version ${h.modelVersion} was never published here`);
  const staleness = ctx.currentIndex - index;
  if (staleness > ctx.maxStaleness) {
    return reject(
      409,
      'stale_version',
      `model version ${h.modelVersion} is ${staleness} versions old; at most ${ctx.maxStaleness} are accepted: fetch the current model and train again`,
    );
  }
  // Canonical decimal only ("01" or "1.0" would name round 1 under another spelling).
  const round = /^[1-9]\d{0,8}$/.test(h.roundId) ? Number(h.roundId) : NaN;
  if (!(round >= 1 && round <= ctx.openRound))
    return reject(409, 'unknown_round', `round ${h.roundId} was never opened (the open round is ${ctx.openRound})`);
  if (ctx.openRound - round > ctx.maxStaleness)
    return reject(409, 'round_closed', `round ${round} closed too long ago (the open round is ${ctx.openRound})`);
  if (ctx.hasNonce(h.nonce)) return reject(409, 'replayed_nonce', 'an update with this nonce was already received');

  return { ok: true, update, staleness, weight: updateWeight(h.exampleBucket, staleness, ctx.weightPolicy) };
}
