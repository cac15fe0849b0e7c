/** One upload, as the device's own transparency log keeps it (never sent anywhere). */
export interface UploadLogEntry {
  /** When the server acknowledged it (ms since the epoch). */
  at: number;
  modelVersion: string;
  roundId: string;
  /** Bytes of the update as sent. */
  bytes: number;
  clipNorm: number;
  noiseStd: number;
  /** The server's noise multiplier σ for the round, and the round's ε (δ in the server status), when known. */
  noiseMultiplier: number | null;
  epsilon: number | null;
  /** Sent as a secure report (two shares, neither aggregator alone can read it); absent for a plain update. */
  secureAggregation?: true;
}

/** An update made but not yet acknowledged: kept in IndexedDB so a reload retries it. */
export interface PendingUpload {
  body: Uint8Array;
  /**
   * What `body` is: a plain update (`application/vnd.edge-personalize.update`) or a secure report
   * (`application/vnd.edge-personalize.secure-report`, which holds only the leader's share and the
   * seed sealed to the helper). Absent in entries saved by older versions: a plain update.
   */
  contentType?: string;
  /** The participation token it is sent with (`PrivateToken token="…"`), or null; a retry reuses it. */
  authorization?: string | null;
  roundId: string;
  modelVersion: string;
  attempts: number;
  /** Not before this time (ms since the epoch): exponential backoff. */
  nextAttemptAt: number;
  clipNorm: number;
  noiseStd: number;
  noiseMultiplier: number | null;
}

/** The round client's state on the device (the `federated` record of the history database). */
export interface FederatedState {
  /** Stored-event count when the device last contributed: it trains again after `minNewEvents` more. */
  contributedAtEvents: number;
  /** The newest model version's `model.json` URL learned from the server (the next page loads it). */
  modelUrl: string | null;
  pending: PendingUpload | null;
  /** Newest last, at most {@link MAX_UPLOAD_LOG}. */
  uploads: UploadLogEntry[];
  /**
   * The device's draw for the newest round it has seen: whether it takes part (probability
   * `samplingRate` announced by the server, drawn once per round so that reloading a page
   * cannot draw again). Absent in state saved by older versions.
   */
  roundDraw?: { roundId: string; join: boolean } | null;
  /** Rounds this device has contributed to (newest last, at most {@link MAX_UPLOAD_LOG}): once per round. */
  contributedRounds?: string[];
}

export const MAX_UPLOAD_LOG = 50;

/** Delay before retry number `attempts` (1, 2, …): 5 s doubling, at most 10 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 600_000);
}
