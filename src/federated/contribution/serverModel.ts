import { sdkError } from '../../errors';
import type { RowRanges } from '../announcedRows';
import type { SketchAnnouncement } from '../announcedSketch';
import type { SecureAggregationAnnouncement } from './secureRound';

/** What the aggregation server's `GET /v1/model` says. */
export interface ServerModelInfo {
  modelVersion: string;
  /** Absolute URL of that version's `model.json`. */
  modelUrl: string;
  /**
   * `rows`: the item rows the round trains, ascending, as inclusive ranges (absent from older
   * servers: none); `sketch`: the item sketch devices append (absent or null: none).
   */
  round: {
    id: string;
    target: number;
    received: number;
    deadline: number;
    samplingRate?: number;
    rows?: RowRanges;
    sketch?: SketchAnnouncement | null;
  };
  privacy: { clipNorm: number; noiseStd: number; noiseMultiplier: number };
  /** The participation-token issuer, when the server requires tokens (see participationToken.ts). */
  participation?: { tokenType: number; issuerName: string; publicKey: string; tokenKeyId: string };
  /** How devices should train this round (the server sets it with its clip norm); absent from older servers. */
  training?: { lr: number; epochs: number };
  /** Present when the server runs secure aggregation: devices then send secure reports only (see secureRound.ts). */
  secureAggregation?: SecureAggregationAnnouncement | null;
}

/**
 * Reads the server's current model and round, without cookies or Referer. Throws a named
 * `FederatedNetworkError` when unreachable or answering with an error status.
 */
export async function fetchServerModel(
  endpoint: string,
  fetchFn: typeof fetch = (input, init) => fetch(input, init),
): Promise<ServerModelInfo> {
  const url = `${endpoint}/v1/model`;
  let res: Response;
  try {
    res = await fetchFn(url, { cache: 'no-cache', credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (err) {
    throw sdkError(
      'FederatedNetworkError',
      `cannot reach ${url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause?: Error }).cause!.message})` : ''}`,
    );
  }
  if (!res.ok) throw sdkError('FederatedNetworkError', `${url}: HTTP ${res.status}`);
  const info = (await res.json()) as ServerModelInfo;
  return { ...info, modelUrl: new URL(info.modelUrl, url).toString() };
}

/**
 * The local training settings for a round: the server's, when they are within the range a
 * device accepts (a learning rate in (0, 1], 1-5 epochs), else the device's own defaults. A
 * server cannot make a device train for long or take absurd steps.
 */
export function trainingSettings(server: ServerModelInfo, fallback: { lr: number; epochs: number }): { lr: number; epochs: number } {
  const t = server.training;
  const lr = t && typeof t.lr === 'number' && t.lr > 0 && t.lr <= 1 ? t.lr : fallback.lr;
  const epochs = t && Number.isInteger(t.epochs) && t.epochs >= 1 && t.epochs <= 5 ? t.epochs : fallback.epochs;
  return { lr, epochs };
}
