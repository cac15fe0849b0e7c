import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateLayout, UPDATE_CONTENT_TYPE } from '../../../src/federated/modelUpdate';
import { maxUpdateBytes } from '../../../src/server/validateUpdate';
import { rawPost, startServer, type Harness } from './serverHarness';
import { BASE_VERSION, CONFIG, editHeaderText, freshNonce, makeUpdate } from './updateFixtures';

const noiseStd = 1 / Math.sqrt(100);

describe('aggregation server: every update is validated, refusals carry a status and a reason', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startServer({ targetUpdates: 100 });
  });
  afterAll(() => h.server.close());

  const valid = (spec: Parameters<typeof makeUpdate>[0] = {}) => makeUpdate({ noiseStd, ...spec });
  const expectRefused = async (bytes: Uint8Array, status: number, reason: string, contentType?: string) => {
    const r = await h.post(bytes, contentType);
    expect(r.body, JSON.stringify(r.body)).toMatchObject({ accepted: false, reason });
    expect(r.status).toBe(status);
    expect(typeof r.body.message).toBe('string');
  };

  it('accepts a valid update with 202 once it is stored', async () => {
    const r = await h.post(valid().bytes);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: true, roundId: '1', received: 1, target: 100 });
  });

  it('refuses a wrong content type (415)', async () => {
    await expectRefused(valid().bytes, 415, 'content_type', 'application/octet-stream');
  });

  it('refuses malformed bodies (400): bad magic, truncated, bad header', async () => {
    await expectRefused(new TextEncoder().encode('hello, world'), 400, 'bad_magic');
    const head = new Uint8Array(8);
    head.set(new TextEncoder().encode('EPU1'));
    new DataView(head.buffer).setUint32(4, 500, true);
    await expectRefused(head, 400, 'truncated');
    const junk = new Uint8Array([...head.subarray(0, 4), 3, 0, 0, 0, 0x7b, 0x7b, 0x7b]);
    await expectRefused(junk, 400, 'bad_header');
    await expectRefused(valid({ patchHeader: (x) => ({ ...x, nonce: 'not-hex' }) }).bytes, 400, 'bad_nonce');
    await expectRefused(valid({ patchHeader: (x) => ({ ...x, exampleBucket: 3 }) }).bytes, 400, 'bad_example_bucket');
  });

  it('refuses the wrong shape for the model version (400)', async () => {
    const { bytes } = valid();
    await expectRefused(bytes.subarray(0, bytes.length - 1), 400, 'wrong_shape');
    await expectRefused(valid({ patchHeader: (x) => ({ ...x, scales: x.scales.slice(1) }) }).bytes, 400, 'wrong_shape');
  });

  it('refuses NaN and ±Infinity (400 non_finite), in the header or after dequantizing', async () => {
    // JSON has no NaN: a client's JSON.stringify turns it into null.
    await expectRefused(valid({ patchHeader: (x) => ({ ...x, scales: [NaN, ...x.scales.slice(1)] }) }).bytes, 400, 'non_finite');
    const inf = valid({ patchHeader: (x) => ({ ...x, scales: [1.5e300, ...x.scales.slice(1)] }) });
    // A hand-written 1e999 parses to Infinity.
    await expectRefused(
      editHeaderText(inf.bytes, (json) => json.replace('1.5e+300', '1e999')),
      400,
      'non_finite',
    );
    await expectRefused(
      editHeaderText(inf.bytes, (json) => json.replace('1.5e+300', '-1e999')),
      400,
      'non_finite',
    );
    // 1.5e300 is a finite double but dequantizes to Infinity in float32.
    await expectRefused(inf.bytes, 400, 'non_finite');
  });

  it('refuses an oversized body (413) whether or not it declares its length, and keeps serving', async () => {
    const big = new Uint8Array(maxUpdateBytes(updateLayout(CONFIG)) + 1);
    big.set(valid().bytes);
    const declared = await rawPost(h.url, big);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ reason: 'too_large' });
    const chunked = await rawPost(h.url, new Uint8Array(5_000_000), { chunked: true });
    expect(chunked.status).toBe(413);
    expect((await h.post(valid().bytes)).status).toBe(202);
  });

  it('refuses a huge norm (400 norm_too_large) and foreign privacy parameters', async () => {
    await expectRefused(valid({ signalNorm: 10 }).bytes, 400, 'norm_too_large');
    // A device that skips its noise can send a larger signal, but no more than an honest update's norm.
    await expectRefused(valid({ signalNorm: 20, noiseStd: 0, patchHeader: (x) => ({ ...x, noiseStd }) }).bytes, 400, 'norm_too_large');
    await expectRefused(valid({ clipNorm: 2 }).bytes, 400, 'wrong_privacy_parameters');
    await expectRefused(valid({ noiseStd: 0 }).bytes, 400, 'wrong_privacy_parameters');
  });

  it('refuses unknown versions and rounds (409)', async () => {
    await expectRefused(valid({ modelVersion: 'never-published' }).bytes, 409, 'unknown_version');
    await expectRefused(valid({ roundId: '2' }).bytes, 409, 'unknown_round');
    await expectRefused(valid({ roundId: 'r1' }).bytes, 409, 'unknown_round');
  });

  it('refuses a replayed nonce (409), even with different content', async () => {
    const nonce = freshNonce();
    expect((await h.post(valid({ nonce }).bytes)).status).toBe(202);
    await expectRefused(valid({ nonce }).bytes, 409, 'replayed_nonce');
  });

  it('applies nothing from a refused update and counts refusals by reason', async () => {
    const s = await h.status();
    expect(s.round.received).toBe(3);
    expect(s.updates.accepted).toBe(3);
    expect(s.updates.rejectedSinceStart).toMatchObject({ content_type: 1, bad_magic: 1, too_large: 2, non_finite: 4, replayed_nonce: 1 });
    expect(s.updates.recent).toHaveLength(3);
    expect(Object.keys(s.updates.recent[0]).sort()).toEqual(['bytes', 'modelVersion', 'round', 'staleness', 'time']);
  });

  it('serves the current model (no-cache, ETag) and its files (immutable)', async () => {
    const res = await fetch(`${h.url}/v1/model`);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const body = (await res.json()) as { modelVersion: string; modelUrl: string; round: object; privacy: object };
    expect(body).toMatchObject({
      modelVersion: BASE_VERSION,
      modelUrl: `/v1/models/${BASE_VERSION}/model.json`,
      round: { id: '1', target: 100, received: 3 },
      privacy: { clipNorm: 1, noiseStd, noiseMultiplier: 1 },
    });
    expect((await fetch(`${h.url}/v1/model`, { headers: { 'If-None-Match': res.headers.get('etag')! } })).status).toBe(304);
    const file = await fetch(`${h.url}${body.modelUrl}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(((await file.json()) as { modelVersion: string }).modelVersion).toBe(BASE_VERSION);
    expect((await fetch(`${h.url}/v1/models/${BASE_VERSION}/float`)).status).toBe(404);
    expect((await fetch(`${h.url}/v1/models/..%2F..%2Fstate.json/model.json`)).status).toBe(404);
    expect((await fetch(`${h.url}/v1/updates`)).status).toBe(405);
    expect((await fetch(`${h.url}/nothing`)).status).toBe(404);
  });
});

describe('aggregation server: staleness, rate limit, CORS', () => {
  it('accepts updates a few versions old (down-weighted) and refuses older ones', async () => {
    const h = await startServer({ targetUpdates: 1, minUpdates: 1, maxStaleness: 2, noiseMultiplier: 0.5 });
    try {
      const std = 0.5;
      // Target 1: every accepted update closes its round and publishes a version.
      for (let r = 1; r <= 3; r++) {
        const version = r === 1 ? BASE_VERSION : `${BASE_VERSION}-r${r - 1}`;
        expect((await h.post(makeUpdate({ noiseStd: std, modelVersion: version, roundId: String(r) }).bytes)).status).toBe(202);
      }
      const s = await h.status();
      expect(s.versions).toEqual([BASE_VERSION, `${BASE_VERSION}-r1`, `${BASE_VERSION}-r2`, `${BASE_VERSION}-r3`]);
      expect(s.round.id).toBe('4');
      const stale = await h.post(makeUpdate({ noiseStd: std, modelVersion: BASE_VERSION, roundId: '1' }).bytes);
      expect(stale.status).toBe(409);
      expect(stale.body.reason).toBe('stale_version');
      const closed = await h.post(makeUpdate({ noiseStd: std, modelVersion: `${BASE_VERSION}-r3`, roundId: '1' }).bytes);
      expect(closed.body.reason).toBe('round_closed');
      const late = await h.post(makeUpdate({ noiseStd: std, modelVersion: `${BASE_VERSION}-r1`, roundId: '2' }).bytes);
      expect(late.status).toBe(202);
      const after = await h.status();
      expect(after.updates.recent[0]).toMatchObject({ round: 4, staleness: 2, modelVersion: `${BASE_VERSION}-r1` });
    } finally {
      await h.server.close();
    }
  });

  it('rate-limits per client address (429 with Retry-After)', async () => {
    const h = await startServer({ targetUpdates: 50, rateLimit: { burst: 2, perMinute: 1 } });
    try {
      const std = 1 / Math.sqrt(50);
      expect((await h.post(makeUpdate({ noiseStd: std }).bytes)).status).toBe(202);
      expect((await h.post(makeUpdate({ noiseStd: std }).bytes)).status).toBe(202);
      const third = await h.post(makeUpdate({ noiseStd: std }).bytes);
      expect(third.status).toBe(429);
      expect(third.body.reason).toBe('rate_limited');
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await h.server.close();
    }
  });

  it('answers CORS for the configured shop origin only, under a base path', async () => {
    const h = await startServer({ basePath: '/fl', allowedOrigins: ['http://shop.test'] });
    try {
      const pre = await fetch(`${h.url}/v1/updates`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://shop.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://shop.test');
      expect(pre.headers.get('access-control-allow-headers')).toMatch(/Content-Type/i);
      const other = await fetch(`${h.url}/v1/model`, { headers: { Origin: 'http://evil.test' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const model = (await other.json()) as { modelUrl: string };
      expect(model.modelUrl).toBe(`/fl/v1/models/${BASE_VERSION}/model.json`);
      expect((await fetch(`${h.url.replace('/fl', '')}/v1/model`)).status).toBe(404);
      const bad = await h.post(new Uint8Array(4), 'text/plain');
      expect(bad.body.reason).toBe('content_type');
      void UPDATE_CONTENT_TYPE;
    } finally {
      await h.server.close();
    }
  });
});
