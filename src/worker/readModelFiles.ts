import { fetchModelFiles, type ModelFiles } from '../model/plain/modelFiles';
import { cachingModelFetch } from './modelCache';

/** A model's files as read for the Worker, and where they came from. */
export interface ReadModel {
  files: ModelFiles;
  /** The `model.json` URL that answered. */
  url: string;
  source: 'network' | 'cache';
  ms: number;
}

/**
 * Reads a model's files through Cache Storage (`cachingModelFetch`), trying `urls` in order: the
 * next one is the fallback when one fails (e.g. a remembered federated version that is gone).
 * Rejects with the last URL's error (ModelFetchError / ModelFormatError).
 */
export async function readModelFiles(urls: string[]): Promise<ReadModel> {
  const t = performance.now();
  const tried = [...new Set(urls)];
  for (let i = 0; ; i++) {
    const url = tried[i]!;
    const caching = cachingModelFetch(url);
    try {
      const files = await fetchModelFiles(url, caching.fetch);
      return { files, url, source: caching.source, ms: performance.now() - t };
    } catch (err) {
      if (i === tried.length - 1) throw err;
    }
  }
}
