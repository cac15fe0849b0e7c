import type { FederatedState } from '../federated/federatedState';
import type { ContributionResult } from '../federated/roundClient';
import type { FetchedModel } from '../model/tfjs/buildModel';
import type { HistoryStore } from '../store/historyStore';
import type { WorkerStartOptions } from './protocol';

/** What a contribution needs from the Worker's state (see Personalizer). */
export interface ContributionHost {
  model(): FetchedModel;
  readonly store: HistoryStore | null;
  readonly federated: FederatedState;
  /** Runs `op` in the Worker's serial chain (no rank sees half a change). */
  serial<T>(op: () => Promise<T>): Promise<T>;
  /** Loads and swaps in another published version. */
  swapModel(manifestUrl: string): Promise<void>;
  serverVersion(version: string): void;
  note(err: Error): void;
}

/**
 * One contribution, inside the cross-tab lock: ask the server for its version and round, move to
 * a newer published model first, snapshot the device's sessions (vocabulary indices, repeats
 * collapsed), train and upload (or retry a pending upload) outside the serial chain so ranking
 * stays prompt, persist the round client's state, and pick up the version the round may have
 * published. The round client is its own chunk, loaded on first use.
 */
export async function contributeOnce(
  fed: NonNullable<WorkerStartOptions['federated']>,
  host: ContributionHost,
): Promise<ContributionResult> {
  const { contribute, fetchServerModel, postPending } = await import('../federated/roundClient');
  let server;
  try {
    server = await fetchServerModel(fed.endpoint);
  } catch (err) {
    return { outcome: 'retry_later', reason: (err as Error).message };
  }
  host.serverVersion(server.modelVersion);
  if (server.modelVersion !== host.model().manifest.modelVersion) await host.swapModel(server.modelUrl);
  const { sessions, storedEvents } = await host.serial(async () => {
    const model = host.model();
    const all = host.store ? await host.store.allSessions() : [];
    return {
      storedEvents: host.store ? await host.store.countEvents() : 0,
      sessions: all.map((events) => {
        const items: number[] = [];
        for (const e of events) {
          const i = model.index.get(e.itemId);
          if (i !== undefined && items[items.length - 1] !== i) items.push(i);
        }
        return items;
      }),
    };
  });
  const state = host.federated;
  const result = state.pending
    ? await postPending(fed, state)
    : await contribute(
        { ...fed, yieldFn: () => new Promise((r) => setTimeout(r, 0)) },
        host.model(),
        sessions,
        storedEvents,
        state,
        server,
      );
  await host.store?.putMeta('federated', state).catch((err: unknown) => host.note(err as Error));
  if (result.outcome === 'uploaded') {
    const after = await fetchServerModel(fed.endpoint).catch(() => null);
    if (after && after.modelVersion !== host.model().manifest.modelVersion) {
      host.serverVersion(after.modelVersion);
      await host.swapModel(after.modelUrl);
    }
  }
  return result;
}
