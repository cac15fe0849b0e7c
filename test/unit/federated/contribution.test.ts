import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { contribute } from '../../../src/federated/contribution/contribute';
import { SECURE_AGGREGATION_PROTOCOL, type SecureAggregationAnnouncement } from '../../../src/federated/contribution/secureRound';
import type { ServerModelInfo } from '../../../src/federated/contribution/serverModel';
import type { ContributionHost, ContributionOptions } from '../../../src/federated/contribution/types';
import type { FederatedState, PendingUpload } from '../../../src/federated/federatedState';
import { toBase64Url } from '../../../src/federated/base64Url';
import { decodeUpdate, federatedSize, l2Norm, updateLayout, UPDATE_CONTENT_TYPE } from '../../../src/federated/modelUpdate';
import { SKETCH_SHARE } from '../../../src/federated/announcedSketch';
import { sketchEstimates, sketchHash } from '../../../src/federated/itemSketch';
import { expandSeed, recombine } from '../../../src/federated/secureAggregation/additiveShares';
import { generateHelperKeys, openSeed, reportContext } from '../../../src/federated/secureAggregation/helperEncryption';
import { decodeSecureReport, SECURE_REPORT_CONTENT_TYPE, secureStep } from '../../../src/federated/secureAggregation/secureReport';
import { denseShapes, type ModelConfig } from '../../../src/model/plain/modelConfig';
import type { ModelFiles } from '../../../src/model/plain/modelFiles';
import { openParticipationTokens, TOKEN_RESPONSE_CONTENT_TYPE } from '../../../src/server/participationTokens';
import { Random } from '../../../models/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  vi.useRealTimers();
});

const ENDPOINT = 'https://shop.example/fl';
const config: ModelConfig = { numItems: 30, embedDim: 8, hiddenDim: 10, attnDim: 4, scale: 10, maxLen: 8 };
const rng = new Random(8);
const files = {
  manifest: { modelVersion: 'v1', config },
  items: Float32Array.from({ length: config.numItems * config.embedDim }, () => rng.normal()),
  dense: new Map(
    denseShapes(config).map(([n, shape]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return [n, Float32Array.from({ length: size }, () => (shape.length === 2 ? rng.normal() * 0.3 : 0))] as const;
    }),
  ),
  vocab: Array.from({ length: config.numItems }, (_, i) => `i${i}`),
  bytes: 0,
} as unknown as ModelFiles;
const sessions = [
  [1, 2, 3, 4],
  [7, 8, 9],
  [12, 13, 14, 15, 16],
];

const freshState = (): FederatedState => ({ contributedAtEvents: 0, modelUrl: null, pending: null, uploads: [] });

/** The Worker's side, recorded. */
function host(state = freshState()): ContributionHost & { adopted: string[]; saves: number } {
  const h = {
    state,
    adopted: [] as string[],
    saves: 0,
    adoptServerModel: async (version: string) => void h.adopted.push(version),
    snapshot: async () => ({ files, sessions, storedEvents: 10 }),
    saveState: async () => void h.saves++,
  };
  return h;
}

interface Post {
  contentType: string | null;
  authorization: string | null;
  body: Uint8Array;
  credentials: RequestCredentials | undefined;
}

/** An aggregation server as `fetch` sees it: `GET /v1/model` answers `info`, `POST /v1/updates` the next of `statuses`. */
function server(info: ServerModelInfo, statuses: number[] = [202], tokens?: ReturnType<typeof openParticipationTokens>) {
  const posts: Post[] = [];
  const tokenRequests: string[] = [];
  const answers = [...statuses];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    if (url.pathname === '/fl/v1/model') return Response.json(info);
    if (url.pathname === '/fl/v1/tokens' && tokens) {
      tokenRequests.push(url.searchParams.get('round')!);
      const r = tokens.issue(new Uint8Array(init!.body as Uint8Array), '192.0.2.7', info.round.id);
      if (!r.ok) return Response.json({ reason: r.reason, message: r.message }, { status: r.status });
      return new Response(r.response as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': TOKEN_RESPONSE_CONTENT_TYPE } });
    }
    if (url.pathname === '/fl/v1/updates' && init?.method === 'POST') {
      const headers = new Headers(init.headers);
      posts.push({
        contentType: headers.get('Content-Type'),
        authorization: headers.get('Authorization'),
        body: new Uint8Array(init.body as Uint8Array),
        credentials: init.credentials,
      });
      const status = answers.shift() ?? 202;
      if (status === 202) return Response.json({ roundId: info.round.id, received: 1, target: 3 }, { status });
      return Response.json({ reason: status === 409 ? 'round_closed' : 'unavailable', message: `HTTP ${status}` }, { status });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  return { fetch: fetchFn, posts, tokenRequests };
}

const plainInfo = (): ServerModelInfo => ({
  modelVersion: 'v1',
  modelUrl: 'models/v1/model.json',
  round: { id: '4', target: 3, received: 0, deadline: 0 },
  privacy: { clipNorm: 0.5, noiseStd: 0.01, noiseMultiplier: 1 },
  training: { lr: 0.5, epochs: 1 },
});

async function secureInfo(): Promise<{ info: ServerModelInfo; keys: { publicKey: Uint8Array; privateKey: Uint8Array } }> {
  const keys = await generateHelperKeys();
  const announcement: SecureAggregationAnnouncement = {
    protocol: SECURE_AGGREGATION_PROTOCOL,
    roundId: '4',
    helperPublicKey: toBase64Url(keys.publicKey),
    bits: 24,
    step: secureStep(0.5),
    minCohort: 3,
  };
  return { info: { ...plainInfo(), secureAggregation: announcement }, keys };
}

const options = (o: Partial<ContributionOptions>): ContributionOptions => ({
  endpoint: ENDPOINT,
  minNewEvents: 1,
  localEpochs: 1,
  lr: 0.5,
  yieldFn: async () => {},
  ...o,
});

describe('contribute: one contribution, start to end', () => {
  it('to a plain server: trains and posts one plain update, logs it, persists, and picks up the version', async () => {
    const s = server(plainInfo());
    const h = host();
    const result = await contribute(options({ fetch: s.fetch }), h);
    expect(result).toMatchObject({ outcome: 'uploaded', reason: 'accepted', roundId: '4' });
    expect(result.training!.examples).toBe(sessions.reduce((n, x) => n + x.length - 1, 0));
    expect(s.posts).toHaveLength(1);
    const post = s.posts[0]!;
    expect(post.contentType).toBe(UPDATE_CONTENT_TYPE);
    expect(post.authorization).toBeNull();
    expect(post.credentials).toBe('omit');
    const { header } = decodeUpdate(post.body, updateLayout(config));
    expect(header).toMatchObject({ roundId: '4', modelVersion: 'v1', clipNorm: 0.5, noiseStd: 0.01 });
    expect(h.state.pending).toBeNull();
    expect(h.state.contributedRounds).toEqual(['4']);
    expect(h.state.uploads).toHaveLength(1);
    expect(h.state.uploads[0]).not.toHaveProperty('secureAggregation');
    expect(h.saves).toBe(1);
    // Before training, and after the upload (the round may have published a version).
    expect(h.adopted).toEqual(['v1', 'v1']);
  });

  it('trains every announced row, seen or not, and sends them after the dense values; refuses rows that are not the model’s', async () => {
    const info = {
      ...plainInfo(),
      round: {
        ...plainInfo().round,
        rows: [
          [2, 4],
          [13, 13],
          [25, 28],
        ] as Array<[number, number]>,
      },
    };
    const s = server(info);
    const result = await contribute(options({ fetch: s.fetch }), host());
    expect(result).toMatchObject({ outcome: 'uploaded', roundId: '4' });
    const layout = updateLayout(config, 8);
    const { header, delta } = decodeUpdate(s.posts[0]!.body, layout);
    expect(header.scales).toHaveLength(layout.blocks.length);
    const rowDelta = (k: number): number => {
      let e = 0;
      for (let j = 0; j < config.embedDim; j++) e += delta[layout.denseSize + k * config.embedDim + j]! ** 2;
      return e;
    };
    // Rows 2-4 and 13 are in the device's sessions, 25-28 are not: all move (negatives of the softmax).
    for (let k = 0; k < 8; k++) expect(rowDelta(k)).toBeGreaterThan(0);
    expect(rowDelta(0)).toBeGreaterThan(rowDelta(5));
    // The same contribution without rows has another length: what the server checks.
    const plain = server(plainInfo());
    await contribute(options({ fetch: plain.fetch }), host());
    expect(s.posts[0]!.body.length).toBeGreaterThan(plain.posts[0]!.body.length + 8 * config.embedDim - 1);
    // Rows outside the model, or not ascending: the round is skipped, nothing is posted.
    for (const rows of [
      [[28, 30]],
      [
        [5, 6],
        [3, 4],
      ],
    ] as Array<Array<[number, number]>>) {
      const bad = server({ ...plainInfo(), round: { ...plainInfo().round, rows } });
      const r = await contribute(options({ fetch: bad.fetch }), host());
      expect(r.outcome).toBe('skipped');
      expect(r.reason).toMatch(/the round's rows cannot be trained/);
      expect(bad.posts).toHaveLength(0);
    }
  });

  it('appends the item sketch of the sessions it trained on, at its share of the clip norm beside the rest; hidden in the shares of a secure report', async () => {
    const sketch = { buckets: 1024, seed: 4 };
    const info = { ...plainInfo(), privacy: { ...plainInfo().privacy, noiseStd: 0 }, round: { ...plainInfo().round, sketch } };
    const s = server(info);
    expect(await contribute(options({ fetch: s.fetch }), host())).toMatchObject({ outcome: 'uploaded', roundId: '4' });
    const layout = updateLayout(config, 0, 1024);
    const { header, delta } = decodeUpdate(s.posts[0]!.body, layout);
    expect(header.scales).toHaveLength(layout.blocks.length);
    const part = delta.subarray(layout.denseSize);
    const c = SKETCH_SHARE * 0.5;
    // int8 rounding: below one step per value.
    expect(Math.abs(l2Norm(part) - c)).toBeLessThan(0.01);
    expect(l2Norm(delta.subarray(0, layout.denseSize))).toBeLessThanOrEqual(Math.sqrt(0.25 - c * c) * 1.02);
    // Each distinct item of the device's sessions once, at c/√12; nothing else.
    const distinct = new Set(sessions.flat());
    const estimates = sketchEstimates(part, sketchHash(1024, 4), config.numItems);
    for (const i of distinct) expect(estimates[i]).toBeCloseTo(c / Math.sqrt(distinct.size), 2);
    expect(estimates.filter((e) => Math.abs(e) > 0.01).length).toBeLessThan(distinct.size + 3);
    // A secure report carries it among its values, masked like them.
    const { info: secure } = await secureInfo();
    const t = server({ ...secure, round: { ...secure.round, sketch } });
    const seen: Array<{ codes: Int8Array }> = [];
    expect((await contribute(options({ fetch: t.fetch, onSecureReport: (r) => seen.push(r) }), host())).outcome).toBe('uploaded');
    expect(seen[0]!.codes).toHaveLength(federatedSize(config) + 1024);
    expect(decodeSecureReport(t.posts[0]!.body, federatedSize(config) + 1024).header.length).toBe(federatedSize(config) + 1024);
  });

  it('refuses a sketch it cannot build, or one too large to send: skipped, no training, nothing posted', async () => {
    const { info: secure } = await secureInfo();
    const bad: Array<[string, unknown, ServerModelInfo]> = [
      ['no buckets', { buckets: 0, seed: 1 }, plainInfo()],
      ['fractional buckets', { buckets: 1.5, seed: 1 }, plainInfo()],
      ['buckets as a string', { buckets: '64', seed: 1 }, plainInfo()],
      ['no seed', { buckets: 64 }, plainInfo()],
      ['a negative seed', { buckets: 64, seed: -1 }, plainInfo()],
      ['a seed past 32 bits', { buckets: 64, seed: 2 ** 32 }, plainInfo()],
      ['not an object', 'yes', plainInfo()],
      ['a list', [64, 1], plainInfo()],
      ['more buckets than bytes in an upload', { buckets: 300_000, seed: 1 }, plainInfo()],
      ['a masked report over the limit', { buckets: 100_000, seed: 1 }, secure],
    ];
    for (const [what, sketch, info] of bad) {
      const s = server({ ...info, round: { ...info.round, sketch: sketch as ServerModelInfo['round']['sketch'] } });
      const h = host();
      const trained = vi.fn();
      const result = await contribute(options({ fetch: s.fetch, yieldFn: async () => trained() }), h);
      expect(result.outcome, what).toBe('skipped');
      expect(result.reason, what).toMatch(/the round's item sketch cannot be built|over the 262144-byte upload limit/);
      expect(s.posts, what).toEqual([]);
      expect(trained, what).not.toHaveBeenCalled();
      expect(h.state.contributedAtEvents, what).toBe(0);
    }
  });

  it("to a secure server: one secure report whose leader share and the helper's seed recombine to exactly the device's codes", async () => {
    const { info, keys } = await secureInfo();
    const s = server(info);
    const h = host();
    const seen: Array<{ header: unknown; codes: Int8Array }> = [];
    const result = await contribute(options({ fetch: s.fetch, onSecureReport: (r) => seen.push(r) }), h);
    expect(result).toMatchObject({ outcome: 'uploaded', roundId: '4' });
    expect(s.posts).toHaveLength(1);
    expect(seen).toHaveLength(1);
    const post = s.posts[0]!;
    expect(post.contentType).toBe(SECURE_REPORT_CONTENT_TYPE);
    const d = federatedSize(config);
    const report = decodeSecureReport(post.body, d);
    expect(report.header).toMatchObject({
      roundId: '4',
      modelVersion: 'v1',
      bits: 24,
      step: secureStep(0.5),
      clipNorm: 0.5,
      noiseStd: 0.01,
    });
    expect(report.header).toEqual(seen[0]!.header);
    const ctx = reportContext('4', report.header.reportId);
    const seed = await openSeed(keys.privateKey, { enc: report.enc, ciphertext: report.sealedSeed }, ctx);
    const codes = recombine(report.leaderShare, expandSeed(seed, ctx, d, 24), 24);
    expect(Array.from(codes)).toEqual(Array.from(seen[0]!.codes));
    expect(seen[0]!.codes.some((c) => c !== 0)).toBe(true);
    // The leader's share alone is not the codes.
    expect(Array.from(report.leaderShare.subarray(0, 32))).not.toEqual(Array.from(codes.subarray(0, 32)));
    expect(h.state.uploads).toEqual([expect.objectContaining({ roundId: '4', secureAggregation: true, bytes: post.body.length })]);
    expect(h.state.pending).toBeNull();
  });

  it("to a secure server that asks for participation tokens: the report carries the round's token", async () => {
    const tokens = openParticipationTokens(mkdtempSync(join(tmpdir(), 'contribution-tokens-')), { issuerName: 'shop.example' });
    const { info } = await secureInfo();
    const s = server({ ...info, participation: tokens.info() }, [202], tokens);
    const result = await contribute(options({ fetch: s.fetch }), host());
    expect(result.outcome).toBe('uploaded');
    expect(s.tokenRequests).toEqual(['4']);
    expect(s.posts[0]!.contentType).toBe(SECURE_REPORT_CONTENT_TYPE);
    expect(tokens.redeem(s.posts[0]!.authorization!, '4', () => false)).toMatchObject({ ok: true });
  });

  it('refuses a secure aggregation it does not understand: skipped, no token, no training, nothing posted, a pending update kept', async () => {
    const { info } = await secureInfo();
    const a = info.secureAggregation!;
    const notAPoint = new Uint8Array(65).fill(7);
    notAPoint[0] = 4;
    const bad: Array<[string, Partial<SecureAggregationAnnouncement> | string]> = [
      ['unknown protocol', { protocol: 'edge-personalize/two-aggregator-additive-shares/v2' }],
      ['8-bit shares', { bits: 8 }],
      ['bits as a string', { bits: '16' as unknown as number }],
      ['step 0', { step: 0 }],
      ['negative step', { step: -0.01 }],
      ['step as a string', { step: '0.01' as unknown as number }],
      ["another round's id", { roundId: '3' }],
      ['a 64-byte helper key', { helperPublicKey: toBase64Url(new Uint8Array(64).fill(4)) }],
      ['a helper key in base64 (not url)', { helperPublicKey: Buffer.from(new Uint8Array(65).fill(0xfb)).toString('base64') }],
      ['65 bytes that are not a P-256 point', { helperPublicKey: toBase64Url(notAPoint) }],
      ['not an object', 'yes'],
    ];
    for (const [what, change] of bad) {
      const announced = typeof change === 'string' ? change : { ...a, ...change };
      const s = server({ ...info, secureAggregation: announced as SecureAggregationAnnouncement });
      const h = host();
      const trained = vi.fn();
      const result = await contribute(options({ fetch: s.fetch, yieldFn: async () => trained() }), h);
      expect(result.outcome, what).toBe('skipped');
      expect(result.reason, what).toMatch(/secure aggregation is not one this device can take part in/);
      expect(s.posts, what).toEqual([]);
      expect(trained, what).not.toHaveBeenCalled();
      expect(h.state.pending, what).toBeNull();
      expect(h.state.contributedAtEvents, what).toBe(0);
    }
    // Nor does a pending plain update go out to that server.
    const s = server({ ...info, secureAggregation: { ...a, bits: 12 as 16 } });
    const h = host({ ...freshState(), pending: plainPending() });
    expect((await contribute(options({ fetch: s.fetch }), h)).outcome).toBe('skipped');
    expect(s.posts).toEqual([]);
    expect(h.state.pending).not.toBeNull();
  });

  it('keeps a secure report on 503 and retries it with its content type; the same bytes go out', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const { info } = await secureInfo();
    const s = server(info, [503, 202]);
    const h = host();
    const first = await contribute(options({ fetch: s.fetch }), h);
    expect(first).toMatchObject({ outcome: 'retry_later', reason: 'HTTP 503', roundId: '4' });
    const pending = h.state.pending!;
    expect(pending).toMatchObject({ contentType: SECURE_REPORT_CONTENT_TYPE, attempts: 1, roundId: '4', nextAttemptAt: 1_005_000 });
    expect(h.saves).toBe(1);
    // Before the backoff: nothing is posted.
    expect((await contribute(options({ fetch: s.fetch }), h)).outcome).toBe('retry_later');
    expect(s.posts).toHaveLength(1);
    vi.setSystemTime(1_005_000);
    const retry = await contribute(options({ fetch: s.fetch }), h);
    expect(retry).toMatchObject({ outcome: 'uploaded', roundId: '4' });
    expect(retry.training).toBeUndefined();
    expect(s.posts).toHaveLength(2);
    expect(s.posts[1]!.contentType).toBe(SECURE_REPORT_CONTENT_TYPE);
    expect(Buffer.from(s.posts[1]!.body).equals(Buffer.from(s.posts[0]!.body))).toBe(true);
    expect(h.state.pending).toBeNull();
    expect(h.state.uploads).toEqual([expect.objectContaining({ secureAggregation: true })]);
  });

  it('drops a secure report the server refuses (409)', async () => {
    const { info } = await secureInfo();
    const s = server(info, [409]);
    const h = host();
    const result = await contribute(options({ fetch: s.fetch }), h);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'round_closed', roundId: '4' });
    expect(s.posts.map((p) => p.contentType)).toEqual([SECURE_REPORT_CONTENT_TYPE]);
    expect(h.state.pending).toBeNull();
    expect(h.state.uploads).toEqual([]);
    expect(h.saves).toBe(1);
  });

  it('retries an entry saved by an older version (no content type) as a plain update', async () => {
    const s = server(plainInfo());
    const h = host({ ...freshState(), pending: plainPending() });
    const result = await contribute(options({ fetch: s.fetch }), h);
    expect(result).toMatchObject({ outcome: 'uploaded', roundId: '4' });
    expect(s.posts.map((p) => p.contentType)).toEqual([UPDATE_CONTENT_TYPE]);
  });

  it('never sends a pending entry to a server of the other kind: it is dropped', async () => {
    const { info } = await secureInfo();
    const toSecure = server(info);
    const h1 = host({ ...freshState(), pending: plainPending() });
    expect(await contribute(options({ fetch: toSecure.fetch }), h1)).toMatchObject({ outcome: 'skipped', reason: /secure reports/ });
    expect(toSecure.posts).toEqual([]);
    expect(h1.state.pending).toBeNull();

    const toPlain = server(plainInfo());
    const h2 = host({ ...freshState(), pending: { ...plainPending(), contentType: SECURE_REPORT_CONTENT_TYPE } });
    expect(await contribute(options({ fetch: toPlain.fetch }), h2)).toMatchObject({ outcome: 'skipped', reason: /secure aggregation/ });
    expect(toPlain.posts).toEqual([]);
    expect(h2.state.pending).toBeNull();
  });

  it('cannot reach the server: retry later, nothing else happens', async () => {
    const h = host();
    const result = await contribute(
      options({
        fetch: (async () => {
          throw new TypeError('Failed to fetch');
        }) as typeof fetch,
      }),
      h,
    );
    expect(result).toMatchObject({ outcome: 'retry_later', reason: /cannot reach .*Failed to fetch/ });
    expect(h.adopted).toEqual([]);
    expect(h.saves).toBe(0);
  });
});

/** A pending plain update as an older version saved it (no `contentType`). */
function plainPending(): PendingUpload {
  return {
    body: new Uint8Array([1, 2, 3]),
    authorization: null,
    roundId: '4',
    modelVersion: 'v1',
    attempts: 0,
    nextAttemptAt: 0,
    clipNorm: 0.5,
    noiseStd: 0.01,
    noiseMultiplier: 1,
  };
}
