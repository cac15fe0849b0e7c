import { checkManifest, decodeWeights, ModelFormatError, parseVocab, type ModelManifest } from './modelFile';
import { SessionModel } from './sessionModel';

/** A model fetched and decoded: ready to score, with its vocabulary and manifest. */
export interface FetchedModel {
  manifest: ModelManifest;
  model: SessionModel;
  /** Item ids, index → id. */
  vocab: string[];
  /** Item id → index, for the ids found on a page. */
  index: Map<string, number>;
  /** Bytes downloaded (manifest + weights + vocabulary). */
  bytes: number;
}

/** Named error for a model URL that cannot be fetched (network failure, HTTP error). */
export class ModelFetchError extends Error {
  override name = 'ModelFetchError';
}

async function get(fetchFn: typeof fetch, url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (err) {
    throw new ModelFetchError(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ModelFetchError(`cannot fetch ${url}: HTTP ${res.status}`);
  return res;
}

/**
 * Fetches a model directory written by `npm run train` (`model.json`, its weights and vocabulary,
 * resolved relative to `manifestUrl`), checks every part against the manifest and builds the
 * {@link SessionModel}. Rejects with {@link ModelFetchError} (unreachable, HTTP error) or
 * {@link ModelFormatError} (not JSON, wrong format, truncated weights, vocabulary of the wrong
 * length); the caller keeps the page's own order in either case.
 */
export async function fetchModel(manifestUrl: string, fetchFn: typeof fetch = fetch): Promise<FetchedModel> {
  const manifestRes = await get(fetchFn, manifestUrl);
  const manifestText = await manifestRes.text();
  let json: unknown;
  try {
    json = JSON.parse(manifestText);
  } catch {
    throw new ModelFormatError(`${manifestUrl} is not JSON`);
  }
  const manifest = checkManifest(json);
  // Files are named relative to the manifest; a relative manifest URL is relative to the page
  // (or the Worker script) that asks for it.
  let manifestAt: URL;
  try {
    manifestAt = new URL(manifestUrl, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw new ModelFetchError(`not a usable model URL: ${manifestUrl}`);
  }
  const rel = (file: string): string => new URL(file, manifestAt).toString();
  const [weightsRes, vocabRes] = await Promise.all([get(fetchFn, rel(manifest.weightsFile)), get(fetchFn, rel(manifest.vocabFile))]);
  const [weights, vocabText] = await Promise.all([weightsRes.arrayBuffer(), vocabRes.text()]);

  const { items, dense } = decodeWeights(manifest, weights);
  const vocab = parseVocab(vocabText, manifest.config.numItems);
  return {
    manifest,
    model: new SessionModel(manifest.config, items, dense),
    vocab,
    index: new Map(vocab.map((id, i) => [id, i])),
    bytes: manifestText.length + weights.byteLength + vocabText.length,
  };
}
