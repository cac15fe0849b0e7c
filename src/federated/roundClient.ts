import { sdkError } from '../errors';
import type { FetchedModel } from '../model/tfjs/buildModel';
import { backoffMs, MAX_UPLOAD_LOG, type FederatedState } from './federatedState';
import { LocalTrainer } from './localTrainer';
import { makeUpdate } from './makeUpdate';
import { secureUniform } from './randomSource';
import { UPDATE_CONTENT_TYPE } from './modelUpdate';

/** What the aggregation server's `GET /v1/model` says. */
export interface ServerModelInfo {
  modelVersion: string;
  /** Absolute URL of that version's `model.json`. */
  modelUrl: string;
  round: { id: string; target: number; received: number; deadline: number; samplingRate?: number };
  privacy: { clipNorm: number; noiseStd: number; noiseMultiplier: number };
  /** The participation-token issuer, when the server requires tokens (see participationToken.ts). */
  participation?: { tokenType: number; issuerName: string; publicKey: string; tokenKeyId: string };
  /** How devices should train this round (the server sets it with its clip norm); absent from older servers. */
  training?: { lr: number; epochs: number };
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

/** Why a contribution did or did not happen. */
export interface ContributionResult {
  outcome: 'uploaded' | 'skipped' | 'retry_later' | 'rejected';
  reason: string;
  bytes?: number;
  roundId?: string;
  /** Local training: examples, first and last epoch loss, ms. */
  training?: { examples: number; firstLoss: number; lastLoss: number; ms: number };
}

/** Settings of the round client. */
export interface RoundClientOptions {
  /** Absolute base URL of the aggregation server (`…/fl`). */
  endpoint: string;
  /** New stored events needed since the last contribution. */
  minNewEvents: number;
  /** Local passes over the device's sessions. */
  localEpochs: number;
  lr: number;
  /** Awaited between training steps, so the Worker keeps answering rank calls. */
  yieldFn: () => Promise<void>;
}

/**
 * Whether this device takes part in the server's open round; null if it does, else why not.
 * At most once per round (the rounds it contributed to are remembered), and only if its draw for
 * the round came out: each device takes part with probability `round.samplingRate` (q), drawn
 * once per round and remembered in `state`, so a reload cannot draw again. The server's privacy
 * accounting (amplification by sampling) assumes exactly this; an honest device enforces it.
 */
export function roundParticipation(state: FederatedState, server: ServerModelInfo, uniform: () => number = secureUniform()): string | null {
  const round = server.round.id;
  if (state.contributedRounds?.includes(round)) return `already contributed to round ${round}`;
  if (state.roundDraw?.roundId !== round) {
    const q = server.round.samplingRate;
    const rate = typeof q === 'number' && q > 0 && q <= 1 ? q : 1;
    state.roundDraw = { roundId: round, join: rate >= 1 || uniform() < rate };
  }
  return state.roundDraw.join
    ? null
    : `not sampled for round ${round} (each device takes part with probability ${server.round.samplingRate})`;
}

/**
 * A participation token for the server's open round (Privacy Pass, see participationToken.ts;
 * its chunk is loaded only here): the `Authorization` value, or why not. A refusal for this round
 * (the address's allowance is taken, e.g. by another device behind the same NAT) skips the round;
 * a network failure is retried later.
 */
async function participationToken(endpoint: string, server: ServerModelInfo): Promise<string | ContributionResult> {
  const p = server.participation!;
  try {
    const { obtainToken } = await import('./participationToken');
    return await obtainToken(endpoint, {
      issuerName: p.issuerName,
      publicKey: p.publicKey,
      tokenKeyId: p.tokenKeyId,
      roundId: server.round.id,
    });
  } catch (err) {
    const e = err as Error & { status?: number; reason?: string };
    if (e.name === 'TokenRefusedError' && e.status !== undefined && e.status < 500) {
      return { outcome: 'skipped', reason: `no participation token for round ${server.round.id}: ${e.reason ?? e.message}` };
    }
    return { outcome: 'retry_later', reason: `participation token: ${e.message}` };
  }
}

/** Reads the server's current model and round. Throws a named `FederatedNetworkError` when unreachable. */
export async function fetchServerModel(endpoint: string): Promise<ServerModelInfo> {
  const url = `${endpoint}/v1/model`;
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-cache', credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (err) {
    throw sdkError('FederatedNetworkError', `cannot reach ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw sdkError('FederatedNetworkError', `${url}: HTTP ${res.status}`);
  const info = (await res.json()) as ServerModelInfo;
  return { ...info, modelUrl: new URL(info.modelUrl, url).toString() };
}

/**
 * One contribution of this device to the current round: train the federated tensors on the
 * device's own sessions (starting from the published model the device runs), turn the change into
 * a clipped, noised, int8 update (`makeUpdate`), and post it. Only the update's bytes leave the
 * device: no cookie (`credentials: 'omit'`), no Referer, no identifier, no event. A failed post is kept in
 * `state.pending` and retried with backoff, also after a reload; a refused one is dropped.
 *
 * The caller holds the cross-tab lock and persists `state` afterwards.
 */
export async function contribute(
  o: RoundClientOptions,
  model: FetchedModel,
  sessions: number[][],
  storedEvents: number,
  state: FederatedState,
  server: ServerModelInfo,
): Promise<ContributionResult> {
  if (state.pending) return postPending(o, state);
  if (storedEvents - state.contributedAtEvents < o.minNewEvents) {
    return {
      outcome: 'skipped',
      reason: `${storedEvents - state.contributedAtEvents} new events since the last contribution, ${o.minNewEvents} needed`,
    };
  }
  if (server.modelVersion !== model.manifest.modelVersion) {
    return {
      outcome: 'skipped',
      reason: `the device runs ${model.manifest.modelVersion}, the round is on ${server.modelVersion}: load it first`,
    };
  }
  const notThisRound = roundParticipation(state, server);
  if (notThisRound) return { outcome: 'skipped', reason: notThisRound };
  const usable = sessions.filter((s) => s.length >= 2);
  if (usable.length === 0) return { outcome: 'skipped', reason: 'no session with two or more known items to learn from' };
  // The round's participation token first: without one there is nothing to train for.
  let authorization: string | null = null;
  if (server.participation) {
    const got = await participationToken(o.endpoint, server);
    if (typeof got !== 'string') return got;
    authorization = got;
  }
  const t = performance.now();
  const trainer = new LocalTrainer(model.manifest.config, model.files.items);
  const settings = trainingSettings(server, { lr: o.lr, epochs: o.localEpochs });
  let trained;
  try {
    trained = await trainer.train(model.files.dense, usable, { epochs: settings.epochs, lr: settings.lr, yieldFn: o.yieldFn });
  } finally {
    trainer.dispose();
  }
  const body = makeUpdate({
    before: model.files.dense,
    after: trained.weights,
    config: model.manifest.config,
    modelVersion: server.modelVersion,
    roundId: server.round.id,
    exampleCount: trained.examples,
    clipNorm: server.privacy.clipNorm,
    noiseStd: server.privacy.noiseStd,
  });
  state.contributedAtEvents = storedEvents;
  state.pending = {
    body,
    authorization,
    roundId: server.round.id,
    modelVersion: server.modelVersion,
    attempts: 0,
    nextAttemptAt: 0,
    clipNorm: server.privacy.clipNorm,
    noiseStd: server.privacy.noiseStd,
    noiseMultiplier: server.privacy.noiseMultiplier,
  };
  const result = await postPending(o, state);
  return {
    ...result,
    training: { examples: trained.examples, firstLoss: trained.firstEpochLoss, lastLoss: trained.lastEpochLoss, ms: performance.now() - t },
  };
}

/** Remembers that this device's update is in `roundId` (the newest {@link MAX_UPLOAD_LOG} rounds). */
function markContributed(state: FederatedState, roundId: string): void {
  state.contributedRounds = [...(state.contributedRounds ?? []), roundId].slice(-MAX_UPLOAD_LOG);
}

/** Posts the pending update (if its backoff allows) and records the outcome in `state`. */
export async function postPending(
  o: Pick<RoundClientOptions, 'endpoint'>,
  state: FederatedState,
  now = Date.now(),
): Promise<ContributionResult> {
  const p = state.pending;
  if (!p) return { outcome: 'skipped', reason: 'nothing to upload' };
  if (now < p.nextAttemptAt) return { outcome: 'retry_later', reason: `next attempt in ${Math.ceil((p.nextAttemptAt - now) / 1000)} s` };
  let res: Response | null = null;
  try {
    res = await fetch(`${o.endpoint}/v1/updates`, {
      method: 'POST',
      headers: { 'Content-Type': UPDATE_CONTENT_TYPE, ...(p.authorization ? { Authorization: p.authorization } : {}) },
      body: p.body as Uint8Array<ArrayBuffer>,
      credentials: 'omit',
      cache: 'no-store',
      // Nothing about the page either: no Referer (the Worker's URL is harmless, but say nothing).
      referrerPolicy: 'no-referrer',
    });
  } catch {
    res = null;
  }
  if (res && res.status === 202) {
    state.pending = null;
    markContributed(state, p.roundId);
    state.uploads.push({
      at: Date.now(),
      modelVersion: p.modelVersion,
      roundId: p.roundId,
      bytes: p.body.length,
      clipNorm: p.clipNorm,
      noiseStd: p.noiseStd,
      noiseMultiplier: p.noiseMultiplier,
      epsilon: null,
    });
    if (state.uploads.length > MAX_UPLOAD_LOG) state.uploads.shift();
    return { outcome: 'uploaded', reason: 'accepted', bytes: p.body.length, roundId: p.roundId };
  }
  if (!res || res.status >= 500 || res.status === 429) {
    p.attempts += 1;
    p.nextAttemptAt = now + backoffMs(p.attempts);
    return { outcome: 'retry_later', reason: res ? `HTTP ${res.status}` : 'network error', roundId: p.roundId };
  }
  // Refused for good (stale version, closed round, bad update): drop it; the next round retrains.
  state.pending = null;
  let reason = `HTTP ${res.status}`;
  try {
    reason = ((await res.json()) as { reason?: string }).reason ?? reason;
  } catch {
    /* no JSON body */
  }
  // An earlier attempt was stored although its answer was lost: the round has this device's update.
  if (reason === 'replayed_nonce' || reason === 'token_spent') markContributed(state, p.roundId);
  return { outcome: 'rejected', reason, roundId: p.roundId };
}
