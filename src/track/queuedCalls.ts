/**
 * The sessionStorage key under which the install snippet keeps the `track` calls it queued when
 * the shopper leaves a page before the SDK arrived (see `src/loader/snippet.ts`).
 */
export const QUEUED_KEY = 'edge-personalize.queued';

/** One `track` call the snippet kept: when it was made, and its arguments. */
export interface QueuedTrackCall {
  /** Milliseconds since the epoch when the page queued it; null if the snippet could not tell. */
  at: number | null;
  type: unknown;
  props: unknown;
}

/**
 * Takes the `track` calls earlier pages of this tab queued in the snippet and could not hand to an
 * SDK (oldest first), and removes them from storage: this page owns them now. The snippet writes
 * `[[time, type, props], …]`; anything else is ignored.
 */
export function takeQueuedCalls(storage: Pick<Storage, 'getItem' | 'removeItem'> | null): QueuedTrackCall[] {
  let saved: unknown = null;
  try {
    saved = JSON.parse(storage?.getItem(QUEUED_KEY) ?? 'null');
    storage?.removeItem(QUEUED_KEY);
  } catch {
    /* unreadable or refused: nothing to take over */
  }
  if (!Array.isArray(saved)) return [];
  return saved
    .filter((c): c is unknown[] => Array.isArray(c))
    .map(([at, type, props]) => ({ at: typeof at === 'number' && Number.isFinite(at) ? at : null, type, props }));
}
