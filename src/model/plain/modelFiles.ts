import { sdkError } from '../../errors';
import { checkManifest, decodeWeights, parseVocab, type ModelManifest } from './modelFile';

/** A model's files fetched, checked against each other and decoded to float32 (no tfjs needed yet). */
export interface ModelFiles {
  manifest: ModelManifest;
  /** The item table, `numItems × embedDim`, dequantized. */
  items: Float32Array;
  /** Dense weights by name, dequantized. */
  dense: Map<string, Float32Array>;
  /** Item ids, index → id. */
  vocab: string[];
  /** Bytes downloaded (manifest + weights + vocabulary). */
  bytes: number;
}

/**
 * How model files are requested: they are public, so never with the site's cookies (a model
 * served by the aggregation server would otherwise receive the shop's session cookie with every
 * version a device loads) and without a Referer (the page URL names the product being viewed).
 */
export const MODEL_REQUEST: RequestInit = { credentials: 'omit', referrerPolicy: 'no-referrer' };

async function get(fetchFn: typeof fetch, url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url, MODEL_REQUEST);
  } catch (err) {
    throw sdkError('ModelFetchError', `cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw sdkError('ModelFetchError', `cannot fetch ${url}: HTTP ${res.status}`);
  return res;
}

/**
 * Fetches a model directory written by `npm run train` (`model.json`, its weights and vocabulary,
 * resolved relative to `manifestUrl`) and checks every part against the manifest. Pure
 * JavaScript: the Worker runs it while tfjs is still loading. Rejects with a `ModelFetchError`
 * (unreachable, HTTP error) or `ModelFormatError` (not JSON, wrong format, truncated weights,
 * vocabulary of the wrong length); the caller keeps the page's own order in either case.
 */
export async function fetchModelFiles(manifestUrl: string, fetchFn: typeof fetch = fetch): Promise<ModelFiles> {
  const manifestRes = await get(fetchFn, manifestUrl);
  const manifestText = await manifestRes.text();
  let json: unknown;
  try {
    json = JSON.parse(manifestText);
  } catch {
    throw sdkError('ModelFormatError', `${manifestUrl} is not JSON`);
  }
  const manifest = checkManifest(json);
  // Files are named relative to the manifest; a relative manifest URL is relative to the page
  // (or the Worker script) that asks for it.
  let manifestAt: URL;
  try {
    manifestAt = new URL(manifestUrl, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw sdkError('ModelFetchError', `not a usable model URL: ${manifestUrl}`);
  }
  const rel = (file: string): string => new URL(file, manifestAt).toString();
  const [weightsRes, vocabRes] = await Promise.all([get(fetchFn, rel(manifest.weightsFile)), get(fetchFn, rel(manifest.vocabFile))]);
  const [weights, vocabText] = await Promise.all([weightsRes.arrayBuffer(), vocabRes.text()]);
  const { items, dense } = decodeWeights(manifest, weights);
  const vocab = parseVocab(vocabText, manifest.config.numItems);
  return { manifest, items, dense, vocab, bytes: manifestText.length + weights.byteLength + vocabText.length };
}
