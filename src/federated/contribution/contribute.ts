import { SECURE_REPORT_CONTENT_TYPE } from '../modelUpdate';
import { newContribution } from './newContribution';
import { postPending } from './postPending';
import { secureRound } from './secureRound';
import { fetchServerModel, type ServerModelInfo } from './serverModel';
import type { ContributionHost, ContributionOptions, ContributionResult } from './types';

/**
 * One contribution of this device, start to end: ask the server for its version and round, move
 * to a newer published model first, then either retry the upload still pending (an earlier
 * attempt failed) or make a new one: train the federated tensors on the device's sessions and
 * post a plain update, or a secure report when the server announces secure aggregation (never
 * the one to a server that asked for the other). The state is persisted and the version the
 * round may have published is picked up. This is the one place that decides between a retry and
 * a new contribution. The caller holds the cross-tab lock.
 *
 * Consent withdrawn mid-round: the page terminates the Worker (`stopPersonalization` in
 * src/sdk/createEdgePersonalize.ts), which stops this flow wherever it is (training, token,
 * upload) at once, so nothing here watches for it; a request in flight dies with the Worker.
 *
 * Throws only what the host throws (a model that cannot be swapped in) or a bug; the Worker
 * reports either as `retry_later`.
 */
export async function contribute(o: ContributionOptions, host: ContributionHost): Promise<ContributionResult> {
  const net: typeof fetch = o.fetch ?? ((input, init) => fetch(input, init));
  let server: ServerModelInfo;
  try {
    server = await fetchServerModel(o.endpoint, net);
  } catch (err) {
    return { outcome: 'retry_later', reason: (err as Error).message };
  }
  await host.adoptServerModel(server.modelVersion, server.modelUrl);
  const secure = secureRound(server);
  if (typeof secure === 'string') return { outcome: 'skipped', reason: secure };
  const state = host.state;
  let result: ContributionResult;
  const pending = state.pending;
  if (!pending) {
    result = await newContribution({ ...o, fetch: net, tokenWorker: !o.fetch }, await host.snapshot(), state, server, secure);
  } else if ((pending.contentType === SECURE_REPORT_CONTENT_TYPE) !== (secure !== null)) {
    // The server changed modes since the entry was made: it may not go to this server (next round retrains).
    state.pending = null;
    result = {
      outcome: 'skipped',
      reason: secure
        ? 'dropped the pending update: the server now asks for secure reports'
        : 'dropped the pending secure report: the server no longer runs secure aggregation',
      roundId: pending.roundId,
    };
  } else {
    result = await postPending({ endpoint: o.endpoint, fetch: net }, state);
  }
  await host.saveState();
  if (result.outcome === 'uploaded') {
    const after = await fetchServerModel(o.endpoint, net).catch(() => null);
    if (after) await host.adoptServerModel(after.modelVersion, after.modelUrl);
  }
  return result;
}
