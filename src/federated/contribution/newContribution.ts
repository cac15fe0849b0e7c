import { fromRowRanges } from '../announcedRows';
import { fromSketchAnnouncement } from '../announcedSketch';
import { fromBase64Url } from '../base64Url';
import type { FederatedState } from '../federatedState';
import { MAX_UPDATE_BYTES } from '../makeUpdate';
import { SECURE_REPORT_CONTENT_TYPE, updateLayout, UPDATE_CONTENT_TYPE } from '../modelUpdate';
import type { SecureRoundInfo } from '../secureAggregation/secureReport';
import { postPending } from './postPending';
import { participationAuthorization, roundParticipation } from './roundParticipation';
import { runTrainingJob } from './runTrainingJob';
import { trainingSettings, type ServerModelInfo } from './serverModel';
import type { ContributionOptions, ContributionResult, DeviceSnapshot } from './types';

/**
 * A new contribution to the open round, when no earlier one is pending: if the device is
 * eligible (enough new events, the round's model version, its draw, a session to learn from),
 * train the federated tensors and the item rows the round announced on the device's sessions (starting from the published model it runs; every announced
 * row, whether or not the device saw the item, so the upload says nothing about its items), append
 * the item sketch of those sessions when the round asks for one (a malformed announcement of rows
 * or sketch: the device skips the round), and
 * post the change (the training and the report run in a Worker of their own where one starts:
 * runTrainingJob.ts): as a plain update
 * (`makeUpdate`: clipped, noised, int8) or, when `secure` is set, as a secure report
 * (`makeSecureReport`: the same at the round's fixed step, split into the leader's share and a
 * seed sealed to the helper), with the round's participation token obtained once the report is
 * built. Only those bytes leave the device: no cookie, no Referer, no
 * identifier, no event. A failed post stays in `state.pending` for {@link postPending} to retry,
 * also after a reload.
 */
export async function newContribution(
  o: ContributionOptions & { fetch: typeof fetch; tokenWorker?: boolean },
  device: DeviceSnapshot,
  state: FederatedState,
  server: ServerModelInfo,
  secure: SecureRoundInfo | null,
): Promise<ContributionResult> {
  const { files, sessions, storedEvents } = device;
  if (storedEvents - state.contributedAtEvents < o.minNewEvents) {
    return {
      outcome: 'skipped',
      reason: `${storedEvents - state.contributedAtEvents} new events since the last contribution, ${o.minNewEvents} needed`,
    };
  }
  if (server.modelVersion !== files.manifest.modelVersion) {
    return {
      outcome: 'skipped',
      reason: `the device runs ${files.manifest.modelVersion}, the round is on ${server.modelVersion}: load it first`,
    };
  }
  const notThisRound = roundParticipation(state, server);
  if (notThisRound) return { outcome: 'skipped', reason: notThisRound };
  const usable = sessions.filter((s) => s.length >= 2);
  if (usable.length === 0) return { outcome: 'skipped', reason: 'no session with two or more known items to learn from' };
  const config = files.manifest.config;
  const rows = fromRowRanges(server.round.rows ?? [], config.numItems, config.numItems);
  if (typeof rows === 'string') return { outcome: 'skipped', reason: `the round's rows cannot be trained: ${rows}` };
  const sketch = fromSketchAnnouncement(server.round.sketch, MAX_UPDATE_BYTES);
  if (typeof sketch === 'string') return { outcome: 'skipped', reason: `the round's item sketch cannot be built: ${sketch}` };
  // The upload's size is fixed by the round (dense values, rows, sketch): refuse a round whose upload could not be sent.
  const bytes = updateLayout(config, rows.length, sketch?.buckets ?? 0).length * (secure ? secure.bits / 8 : 1);
  if (bytes > MAX_UPDATE_BYTES)
    return {
      outcome: 'skipped',
      reason: `the round announces ${rows.length} rows${sketch ? ` and a sketch of ${sketch.buckets} buckets` : ''}: ${bytes} bytes, over the ${MAX_UPDATE_BYTES}-byte upload limit`,
    };
  // A check of the helper key first: no training (and no token) for a report that cannot be built.
  if (secure) {
    const refused = await checkSecureRound(secure);
    if (refused) return refused;
  }
  const t = performance.now();
  const settings = trainingSettings(server, { lr: o.lr, epochs: o.localEpochs });
  const privacy = { clipNorm: server.privacy.clipNorm, noiseStd: server.privacy.noiseStd };
  const ran = await runTrainingJob(
    {
      config,
      items: files.items,
      dense: files.dense,
      sessions: usable,
      rows,
      sketch,
      epochs: settings.epochs,
      lr: settings.lr,
      modelVersion: server.modelVersion,
      roundId: server.round.id,
      ...privacy,
      secure,
      keepCodes: o.onSecureReport !== undefined,
    },
    o.trainingWorker,
    o.yieldFn ?? (() => new Promise<void>((r) => setTimeout(r, 0))),
  );
  // The round's participation token once the report is built, right before it is stored and
  // sent: a token is one per address and round, and one obtained before training was lost to a
  // navigation during the training (the Worker ends with the page), so the address could not take
  // part in that round again. The price: a device whose address has no token left has trained
  // for nothing.
  let authorization: string | null = null;
  if (server.participation) {
    const got = await participationAuthorization(o.endpoint, server, o.fetch, o.tokenWorker ?? false);
    if (typeof got !== 'string') return got;
    authorization = got;
  }
  if (ran.secureReport) o.onSecureReport?.(ran.secureReport);
  const body = ran.body;
  state.contributedAtEvents = storedEvents;
  state.pending = {
    body,
    contentType: secure ? SECURE_REPORT_CONTENT_TYPE : UPDATE_CONTENT_TYPE,
    authorization,
    roundId: server.round.id,
    modelVersion: server.modelVersion,
    attempts: 0,
    nextAttemptAt: 0,
    ...privacy,
    noiseMultiplier: server.privacy.noiseMultiplier,
  };
  const result = await postPending(o, state);
  return {
    ...result,
    training: {
      examples: ran.examples,
      firstLoss: ran.firstLoss,
      lastLoss: ran.lastLoss,
      ms: performance.now() - t,
      inWorker: ran.inWorker,
    },
  };
}

/**
 * Checks the round's helper key (loading the HPKE code, its own chunk, only for a secure round):
 * null when the device can make this round's reports, else why not.
 */
async function checkSecureRound(round: SecureRoundInfo): Promise<ContributionResult | null> {
  let isHelperKey;
  try {
    ({ isHelperKey } = await import('../secureAggregation/helperEncryption'));
  } catch (err) {
    return { outcome: 'retry_later', reason: `cannot load the secure-aggregation code: ${(err as Error).message}` };
  }
  // secureRound() checked that the key is 65 bytes of base64url; HPKE checks that it is a P-256 point.
  if (!(await isHelperKey(fromBase64Url(round.helperPublicKey)!))) {
    return {
      outcome: 'skipped',
      reason: "the server's secure aggregation is not one this device can take part in: the helper key is not a P-256 point",
    };
  }
  return null;
}
