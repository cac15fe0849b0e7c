/**
 * A `fetch` for {@link fetchModel} that keeps the model's three files in Cache Storage, so a
 * returning shopper's next page loads the model without the network. Entries are keyed by the
 * model version read from the manifest: weights and vocabulary of one version are never mixed
 * with another's. {@link revalidateModel} checks the network copy of the manifest afterwards and
 * drops a stale version, so a newly published model is used from the next page on.
 */
import { MODEL_REQUEST } from '../model/plain/modelFiles';

const CACHE_NAME = 'edge-personalize-model-v1';

/** Cache key of a file of a given model version. */
function versionedKey(url: string, version: string): string {
  const u = new URL(url);
  u.searchParams.set('edge-personalize-model-version', version);
  return u.toString();
}

async function openCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
  } catch {
    return null; // Opaque origins and some private modes refuse Cache Storage: use the network.
  }
}

/** A cache-first fetch for one model load; `source` tells afterwards whether the network was used. */
export interface CachingFetch {
  fetch: typeof fetch;
  readonly source: 'network' | 'cache';
}

export function cachingModelFetch(manifestUrl: string): CachingFetch {
  let version: string | null = null;
  let usedNetwork = false;
  const cache = openCache(); // once per load: each open is a round trip to the browser process
  const run = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const c = await cache;
    const isManifest = url === manifestUrl;
    const key = isManifest ? url : version ? versionedKey(url, version) : null;
    if (c && key) {
      const hit = await c.match(key).catch(() => undefined);
      if (hit) {
        if (!isManifest) return hit;
        // The manifest is small: read it once here, hand the caller a fresh Response.
        const text = await hit.text();
        version = versionOf(text);
        return new Response(text, { headers: { 'Content-Type': 'application/json' } });
      }
    }
    usedNetwork = true;
    const res = await fetch(url, init);
    if (!res.ok) return res;
    if (isManifest) {
      const text = await res.text();
      version = versionOf(text);
      if (c) await c.put(url, new Response(text, { headers: { 'Content-Type': 'application/json' } })).catch(() => undefined);
      return new Response(text, { status: res.status, headers: { 'Content-Type': 'application/json' } });
    }
    if (c && version) await c.put(versionedKey(url, version), res.clone()).catch(() => undefined);
    return res;
  };
  return {
    fetch: run as typeof fetch,
    get source() {
      return usedNetwork ? 'network' : 'cache';
    },
  };
}

function versionOf(manifestText: string): string | null {
  try {
    const v = (JSON.parse(manifestText) as { modelVersion?: unknown }).modelVersion;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * Asks the network for the manifest (bypassing the HTTP cache's freshness) and, if it names
 * another version than `loadedVersion`, deletes the cached files so the next load fetches the new
 * model. Returns the network's version (null when unreachable). Never throws.
 */
export async function revalidateModel(manifestUrl: string, loadedVersion: string): Promise<string | null> {
  try {
    const res = await fetch(manifestUrl, { ...MODEL_REQUEST, cache: 'no-cache' });
    if (!res.ok) return null;
    const version = versionOf(await res.text());
    if (version && version !== loadedVersion) {
      const cache = await openCache();
      if (cache) for (const req of await cache.keys()) await cache.delete(req);
    }
    return version;
  } catch {
    return null;
  }
}
