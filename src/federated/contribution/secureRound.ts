import { fromBase64Url } from '../base64Url';
import type { SecureRoundInfo } from '../secureAggregation/secureReport';
import type { ServerModelInfo } from './serverModel';

/** The one secure-aggregation protocol this device speaks (see src/federated/secureAggregation/). */
export const SECURE_AGGREGATION_PROTOCOL = 'edge-personalize/two-aggregator-additive-shares/v1';

/** Bytes of a P-256 public key as an uncompressed point, the helper key's serialized form. */
const HELPER_KEY_BYTES = 65;

/** The `secureAggregation` field of `GET /v1/model`, as received (not yet checked: see {@link secureRound}). */
export interface SecureAggregationAnnouncement {
  protocol: string;
  /** Equals `round.id`. */
  roundId: string;
  /** The helper's HPKE public key, base64url. */
  helperPublicKey: string;
  bits: number;
  /** The fixed quantization step of every value. */
  step: number;
  /** The fewest reports the aggregators combine (the server's rule; the device does not check it). */
  minCohort: number;
}

/**
 * The round's secure-aggregation settings, checked: null when the server runs plain rounds, a
 * {@link SecureRoundInfo} to build the report with, or a string saying why the device refuses the
 * announcement (unknown protocol, bits other than 16/24/32, a step that is not a positive finite
 * number, another round's id, a helper key that is not 65 bytes of base64url). A refused
 * announcement means no contribution: never a plain update to a server that asked for secure
 * reports.
 */
export function secureRound(server: ServerModelInfo): SecureRoundInfo | null | string {
  const a = server.secureAggregation;
  if (a === undefined || a === null) return null;
  const refuse = (why: string): string => `the server's secure aggregation is not one this device can take part in: ${why}`;
  if (typeof a !== 'object') return refuse('not an object');
  if (a.protocol !== SECURE_AGGREGATION_PROTOCOL) return refuse(`unknown protocol ${JSON.stringify(a.protocol)}`);
  if (a.roundId !== server.round.id) return refuse(`it is for round ${JSON.stringify(a.roundId)}, the open round is ${server.round.id}`);
  if (a.bits !== 16 && a.bits !== 24 && a.bits !== 32) return refuse(`shares of ${JSON.stringify(a.bits)} bits (16, 24 or 32)`);
  if (typeof a.step !== 'number' || !(a.step > 0) || !Number.isFinite(a.step)) return refuse(`step ${JSON.stringify(a.step)}`);
  const key = typeof a.helperPublicKey === 'string' ? fromBase64Url(a.helperPublicKey) : null;
  if (key?.length !== HELPER_KEY_BYTES) return refuse(`the helper key is not ${HELPER_KEY_BYTES} bytes of base64url`);
  return { roundId: a.roundId, helperPublicKey: a.helperPublicKey, bits: a.bits, step: a.step };
}
