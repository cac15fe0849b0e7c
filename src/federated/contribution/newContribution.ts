import { fromRowRanges } from '../announcedRows';
import { fromBase64Url } from '../base64Url';
import type { NamedWeights, TrainedRows } from '../federatedDelta';
import type { FederatedState } from '../federatedState';
import { LocalTrainer } from '../localTrainer';
import { makeUpdate, MAX_UPDATE_BYTES } from '../makeUpdate';
import { SECURE_REPORT_CONTENT_TYPE, updateLayout, UPDATE_CONTENT_TYPE } from '../modelUpdate';
import { gatherRows } from '../../model/tfjs/sessionLoss';
import type { SecureRoundInfo } from '../secureAggregation/secureReport';
import type { ModelConfig } from '../../model/plain/modelConfig';
import { postPending } from './postPending';
import { participationAuthorization, roundParticipation } from './roundParticipation';
import { trainingSettings, type ServerModelInfo } from './serverModel';
import type { ContributionOptions, ContributionResult, DeviceSnapshot } from './types';

/** What both kinds of report are made of. */
interface ReportInputs {
  before: NamedWeights;
  after: NamedWeights;
  config: ModelConfig;
  rows?: TrainedRows;
  modelVersion: string;
  clipNorm: number;
  noiseStd: number;
}

/**
 * A new contribution to the open round, when no earlier one is pending: if the device is
 * eligible (enough new events, the round's model version, its draw, a session to learn from),
 * obtain the round's participation token, train the federated tensors and the item rows the round
 * announced on the device's sessions (starting from the published model it runs; every announced
 * row, whether or not the device saw the item, so the upload says nothing about its items), and
 * post the change: as a plain update
 * (`makeUpdate`: clipped, noised, int8) or, when `secure` is set, as a secure report
 * (`makeSecureReport`: the same at the round's fixed step, split into the leader's share and a
 * seed sealed to the helper). Only those bytes leave the device: no cookie, no Referer, no
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
  // The upload's size is fixed by the round (dense values and rows): refuse a round whose upload could not be sent.
  const bytes = updateLayout(config, rows.length).length * (secure ? secure.bits / 8 : 1);
  if (bytes > MAX_UPDATE_BYTES)
    return {
      outcome: 'skipped',
      reason: `the round announces ${rows.length} rows: ${bytes} bytes, over the ${MAX_UPDATE_BYTES}-byte upload limit`,
    };
  // The secure-report code and a check of the helper key before the token: a token is one per
  // address and round, not to be spent on a report that cannot be built.
  let secureReport: ((r: ReportInputs) => Promise<Uint8Array>) | null = null;
  if (secure) {
    const maker = await secureReportMaker(secure, o.onSecureReport);
    if (typeof maker !== 'function') return maker;
    secureReport = maker;
  }
  // The round's participation token next: without one there is nothing to train for.
  let authorization: string | null = null;
  if (server.participation) {
    const got = await participationAuthorization(o.endpoint, server, o.fetch, o.tokenWorker ?? false);
    if (typeof got !== 'string') return got;
    authorization = got;
  }
  const t = performance.now();
  const trainer = new LocalTrainer(config, files.items, { rows });
  const settings = trainingSettings(server, { lr: o.lr, epochs: o.localEpochs });
  const yieldFn = o.yieldFn ?? (() => new Promise<void>((r) => setTimeout(r, 0)));
  let trained;
  try {
    trained = await trainer.train(files.dense, usable, { epochs: settings.epochs, lr: settings.lr, yieldFn });
  } finally {
    trainer.dispose();
  }
  const privacy = { clipNorm: server.privacy.clipNorm, noiseStd: server.privacy.noiseStd };
  const inputs: ReportInputs = {
    before: files.dense,
    after: trained.weights,
    config,
    ...(rows.length > 0 ? { rows: { start: gatherRows(rows, files.items, config.embedDim), trained: trained.rows! } } : {}),
    modelVersion: server.modelVersion,
    ...privacy,
  };
  const body = secureReport
    ? await secureReport(inputs)
    : makeUpdate({ ...inputs, roundId: server.round.id, exampleCount: trained.examples });
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
    training: { examples: trained.examples, firstLoss: trained.firstEpochLoss, lastLoss: trained.lastEpochLoss, ms: performance.now() - t },
  };
}

/**
 * Loads the secure-report code (with HPKE, its own chunk, loaded only for a secure round) and
 * checks the round's helper key: a maker of this round's reports, or why the device cannot make one.
 */
async function secureReportMaker(
  round: SecureRoundInfo,
  onSecureReport: ContributionOptions['onSecureReport'],
): Promise<((r: ReportInputs) => Promise<Uint8Array>) | ContributionResult> {
  let modules;
  try {
    modules = await Promise.all([import('../secureAggregation/secureReport'), import('../secureAggregation/helperEncryption')]);
  } catch (err) {
    return { outcome: 'retry_later', reason: `cannot load the secure-aggregation code: ${(err as Error).message}` };
  }
  const [{ makeSecureReport }, { isHelperKey }] = modules;
  // secureRound() checked that the key is 65 bytes of base64url; HPKE checks that it is a P-256 point.
  if (!(await isHelperKey(fromBase64Url(round.helperPublicKey)!))) {
    return {
      outcome: 'skipped',
      reason: "the server's secure aggregation is not one this device can take part in: the helper key is not a P-256 point",
    };
  }
  return async (r) => {
    const report = await makeSecureReport({ ...r, round });
    onSecureReport?.({ header: report.header, codes: report.codes });
    return report.bytes;
  };
}
