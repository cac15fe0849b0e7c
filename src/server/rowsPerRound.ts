import type { ShareBits } from '../federated/secureAggregation/additiveShares';
import { MAX_UPDATE_BYTES } from '../federated/makeUpdate';
import { updateLayout, type UpdateLayout } from '../federated/modelUpdate';
import type { ModelConfig } from '../model/plain/modelConfig';
import { maxReportBytes } from './secureAggregation/leaderShares';
import { ServerConfigError } from './serverOptions';
import { maxUpdateBytes } from './validateUpdate';

/**
 * How many item rows a round announces: as many as fit in one upload of at most
 * {@link MAX_UPDATE_BYTES} beside the dense tensors and the round's item sketch (plain: one int8
 * per value; secure: `bits / 8` bytes per value of the leader's share, the masked form, which is
 * the larger), capped at the catalogue. A server option may ask for fewer (or for 0: no row is
 * trained); asking for more than fit is refused at start.
 */

/** The largest upload a layout can produce: a plain update's body limit, or a secure report's. */
export function uploadBytes(layout: UpdateLayout, secureBits: ShareBits | null): number {
  return secureBits ? maxReportBytes(layout.length, secureBits) : maxUpdateBytes(layout);
}

/** The arithmetic behind a round's row count, for the start-up line and the refusal. */
export function rowArithmetic(config: ModelConfig, rows: number, secureBits: ShareBits | null, sketch = 0): string {
  const l = updateLayout(config, Math.min(rows, config.numItems), sketch);
  const length = l.denseSize + rows * config.embedDim + sketch;
  const perValue = secureBits ? `${secureBits / 8} bytes (${secureBits}-bit shares)` : '1 byte (int8)';
  const sketchPart = sketch > 0 ? ` + ${sketch} sketch buckets` : '';
  return `${l.denseSize} dense values + ${rows} rows × ${config.embedDim}${sketchPart} = ${length} values at ${perValue} each + header = ${uploadBytes({ ...l, length }, secureBits)} bytes (limit ${MAX_UPDATE_BYTES})`;
}

/**
 * The rows per round for `config` beside an item sketch of `sketch` buckets: `requested` when
 * given (an integer in [0, numItems] whose upload fits), else the most that fit, at most
 * `numItems`. Throws {@link ServerConfigError} with the arithmetic when the request, or the dense
 * tensors and the sketch alone, do not fit.
 */
export function rowsPerRound(config: ModelConfig, secureBits: ShareBits | null, requested?: number, sketch = 0): number {
  const dense = uploadBytes(updateLayout(config, 0, sketch), secureBits);
  if (dense > MAX_UPDATE_BYTES)
    throw new ServerConfigError(
      `${sketch > 0 ? 'the model with its item sketch' : 'the model'} is too large to federate: ${rowArithmetic(config, 0, secureBits, sketch)}`,
    );
  const perRow = config.embedDim * (secureBits ? secureBits / 8 : 1);
  const fit = Math.min(config.numItems, Math.floor((MAX_UPDATE_BYTES - dense) / perRow));
  if (requested === undefined) return fit;
  if (!Number.isInteger(requested) || requested < 0 || requested > config.numItems)
    throw new ServerConfigError(`rowsPerRound must be an integer in [0, ${config.numItems}] (the catalogue's rows), got ${requested}`);
  if (requested > fit)
    throw new ServerConfigError(
      `rowsPerRound ${requested} does not fit one upload: ${rowArithmetic(config, requested, secureBits, sketch)}; at most ${fit} rows fit${sketch > 0 ? ` beside the sketch` : ''}`,
    );
  return requested;
}
