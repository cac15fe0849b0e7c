import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fetchModel } from '../../../src/model/tfjs/fetchModel';
import { readModelDir } from '../../../src/node/modelDir';
import { SessionModel } from '../../../src/model/tfjs/sessionModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const root = new URL('../../../', import.meta.url).pathname;
const dir = join(root, 'models/online-retail');

/** A fetch that serves the committed demo model from disk under http://shop.test/m/. */
function fakeFetch(overrides: Record<string, Response | Error> = {}): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input);
    const o = overrides[url];
    if (o instanceof Error) throw o;
    if (o) return o;
    const file = url.replace('http://shop.test/m/', '');
    try {
      return new Response(readFileSync(join(dir, file)));
    } catch {
      return new Response('not found', { status: 404 });
    }
  }) as typeof fetch;
}

describe('fetchModel', () => {
  it('loads the committed demo model and scores exactly like the Node reader', async () => {
    const m = await fetchModel('http://shop.test/m/model.json', fakeFetch());
    expect(m.vocab.length).toBe(m.manifest.config.numItems);
    expect(m.index.get(m.vocab[10]!)).toBe(10);
    expect(m.bytes).toBeGreaterThan(200_000);
    const { weights } = readModelDir(dir);
    const ref = new SessionModel(weights.config, weights.items, weights.dense);
    const prefix = Int32Array.of(3, 14, 15);
    expect(Array.from(m.model.scorePrefixes([prefix]).dataSync())).toEqual(Array.from(ref.scorePrefixes([prefix]).dataSync()));
  });

  it('rejects with named errors: 404, network failure, not JSON, truncated weights', async () => {
    const url = 'http://shop.test/m/model.json';
    await expect(fetchModel('http://shop.test/nope/model.json', fakeFetch())).rejects.toMatchObject({
      name: 'ModelFetchError',
      message: expect.stringMatching(/HTTP 404/),
    });
    await expect(fetchModel(url, fakeFetch({ [url]: new TypeError('Failed to fetch') }))).rejects.toMatchObject({
      name: 'ModelFetchError',
    });
    await expect(fetchModel(url, fakeFetch({ [url]: new Response('<html>oops</html>') }))).rejects.toMatchObject({
      name: 'ModelFormatError',
    });
    await expect(fetchModel(url, fakeFetch({ [url]: new Response('{"format":"other"}') }))).rejects.toMatchObject({
      name: 'ModelFormatError',
    });
    await expect(
      fetchModel('relative/model.json', (async () => new Response(readFileSync(join(dir, 'model.json')))) as unknown as typeof fetch),
    ).rejects.toMatchObject({ name: 'ModelFetchError' });
    const cut = readFileSync(join(dir, 'weights.bin')).subarray(0, 1000);
    await expect(fetchModel(url, fakeFetch({ 'http://shop.test/m/weights.bin': new Response(cut) }))).rejects.toMatchObject({
      name: 'ModelFormatError',
    });
    await expect(fetchModel(url, fakeFetch({ 'http://shop.test/m/vocab.txt': new Response('a\nb\n') }))).rejects.toMatchObject({
      name: 'ModelFormatError',
      message: expect.stringMatching(/vocabulary has 2 ids/),
    });
  });
});
