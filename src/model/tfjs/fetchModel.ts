import { buildModel, type FetchedModel } from './buildModel';
import { fetchModelFiles } from '../plain/modelFiles';

export type { FetchedModel } from './buildModel';

/**
 * Fetches a model directory and builds it in one call (Node tools and tests; the Worker runs the
 * two halves separately so the download overlaps tfjs' start). See {@link fetchModelFiles} for the
 * errors.
 */
export async function fetchModel(manifestUrl: string, fetchFn: typeof fetch = fetch): Promise<FetchedModel> {
  return buildModel(await fetchModelFiles(manifestUrl, fetchFn));
}
