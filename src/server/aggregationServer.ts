import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { applyHttpLimits } from './httpLimits';
import {
  openParticipationTokens,
  TOKEN_REQUEST_CONTENT_TYPE,
  TOKEN_RESPONSE_CONTENT_TYPE,
  type ParticipationTokens,
} from './participationTokens';
import { RateLimiter } from './rateLimiter';
import { readBody } from './readBody';
import { RoundManager } from './roundManager';
import { resolveServerOptions, type AggregationServerOptions, type ResolvedOptions } from './serverOptions';
import { StorageError } from './updateLog';
import { checkContentType, tooLarge, validateUpdate } from './validateUpdate';
import { validateSecureReport } from './secureAggregation/leaderShares';
import { SECURE_REPORT_CONTENT_TYPE } from '../federated/secureAggregation/secureReport';
import { SERVED_FILES, VERSION_PATTERN } from './versionStore';
import { CatalogueError } from './catalogue';

/**
 * The aggregation server's HTTP API (paths below are under `basePath`):
 *
 * - `GET /v1/model` → `{ modelVersion, modelUrl, round: { id, target, received, deadline,
 *   samplingRate, rows, sketch? }, privacy: { clipNorm, noiseStd, noiseMultiplier } }`,
 *   `Cache-Control: no-cache` + ETag (`round.sketch`: `{ buckets, seed }` of the round's item
 *   sketch, with `sketchBuckets`);
 * - `GET /v1/models/<version>/<model.json|weights.bin|vocab.txt>` → a published version's
 *   files, cached as immutable (a version's content never changes);
 * - `POST /v1/updates` (body: one update, `Content-Type: application/vnd.edge-personalize.update`)
 *   → `202 { accepted: true, roundId, received, target }`, sent only once the update is fsynced;
 *   or `{ accepted: false, reason, message }` with 400/409/413/415/429/503 (see validateUpdate.ts);
 * - `GET /v1/status` → rounds, versions, per-round and cumulative ε, counts, recent updates;
 * - `POST /v1/admin/catalogue` (only with an admin token; `Authorization: Bearer <token>`, JSON
 *   `{ items: [{ id, name?, category? }] }`) → `202 { added: [{ id, row }], publishedFrom }`: new
 *   products, published with the next version (see catalogue.ts); 404 without a token configured,
 *   401 for a wrong one, 400/409 for malformed or duplicate items (nothing is added then).
 *
 * Browsers may call it from `allowedOrigins` only (CORS). Neither bodies nor client addresses
 * are ever logged or stored; addresses live in the rate limiter's memory only.
 */
export interface AggregationServer {
  /**
   * Answers a request under `basePath` and resolves to true; resolves to false, without touching
   * `res`, for any other path, so a host server (the demo shop) can try its own routes next.
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Starts a standalone HTTP server on `host:port` (port 0: any free one); resolves to it. */
  listen(port: number, host?: string): Promise<{ server: Server; port: number }>;
  /** Stops the round timer and the server started by `listen`, and closes the open log. */
  close(): Promise<void>;
  /** The `/v1/status` document. */
  status(): Record<string, unknown>;
}

type Headers = Record<string, string>;

/** The largest admin request body (1,000 items of a few hundred bytes). */
const MAX_ADMIN_BYTES = 1 << 20;

/** Constant-time comparison of a presented secret with the expected one (hashed first: equal lengths). */
function sameSecret(presented: string, expected: string): boolean {
  const h = (x: string): Buffer => createHash('sha256').update(x).digest();
  return timingSafeEqual(h(presented), h(expected));
}

/** A type-2 TokenRequest is 2 + 1 + 256 bytes; a little slack for other key sizes. */
const MAX_TOKEN_REQUEST_BYTES = 1024;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * A refusal that closes the connection while the client may still be sending its body: Node
 * closes the socket once the answer is written, and the client's next bytes then meet a reset,
 * which makes its kernel drop our answer unread (the client sees a reset, not the 415/413/503).
 * Instead the answer is followed by our FIN, what still arrives is read and dropped for 200 ms
 * (a few MB on loopback), and only then is the socket destroyed.
 */
function lingerBeforeClose(res: ServerResponse): void {
  const socket = res.socket as (import('node:net').Socket & { destroySoon?: () => void }) | null;
  if (!socket) return;
  socket.destroySoon = function (this: import('node:net').Socket) {
    this.end();
    this.resume();
    setTimeout(() => this.destroy(), 200).unref();
  };
}

const FILE_TYPES: Record<string, string> = {
  'model.json': 'application/json; charset=utf-8',
  'weights.bin': 'application/octet-stream',
  'vocab.txt': 'text/plain; charset=utf-8',
};

/**
 * Creates the server over the data directory: loads (or initialises) its state, resumes the
 * open round from its log and closes it if it was due. Throws `ServerConfigError` or
 * `DataDirError` for options or a data directory that cannot work.
 */
export function createAggregationServer(options: AggregationServerOptions): AggregationServer {
  const opts: ResolvedOptions = resolveServerOptions(options);
  const rounds = new RoundManager(opts);
  const limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit.burst, opts.rateLimit.perMinute, opts.now) : null;
  const secure = opts.secureAggregation;
  let tokens: ParticipationTokens | null = null;
  try {
    tokens = opts.participationTokens ? openParticipationTokens(opts.dataDir, opts.participationTokens) : null;
  } catch (err) {
    rounds.shutdown();
    throw err;
  }
  let ticks = 0;
  const timer = setInterval(() => {
    rounds.closeIfDue();
    if (++ticks % 60 === 0) limiter?.sweep();
  }, 1000);
  timer.unref();
  let standalone: Server | null = null;

  /** A refusal with its status and machine-readable reason (RejectReason, or a token reason). */
  const refuse = (res: ServerResponse, r: { status: number; reason: string; message: string }, headers: Headers = {}): void => {
    rounds.countRejection(r.reason);
    if (headers.Connection === 'close') lingerBeforeClose(res);
    sendJson(res, r.status, { accepted: false, reason: r.reason, message: r.message }, headers);
  };

  function cors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin && opts.allowedOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', 'ETag, Retry-After');
    }
    res.setHeader('Vary', 'Origin');
  }

  function getModel(req: IncomingMessage, res: ServerResponse): void {
    const v = rounds.currentVersion;
    const round = rounds.round;
    // The body also carries the round's progress, so the ETag covers it, not the version alone.
    const etag = `"${v}:r${round.id}:${round.received}"`;
    const headers = { 'Cache-Control': 'no-cache', ETag: etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    sendJson(
      res,
      200,
      {
        modelVersion: v,
        modelUrl: `${opts.basePath}/v1/models/${v}/model.json`,
        round,
        privacy: { clipNorm: opts.clipNorm, noiseStd: opts.noiseStd, noiseMultiplier: opts.noiseMultiplier },
        training: { lr: opts.deviceLr, epochs: opts.deviceEpochs },
        // The issuer key is fixed for the data directory's life, so the ETag need not name it.
        ...(tokens ? { participation: tokens.info() } : {}),
        // Secure aggregation: devices split their update into shares (see README.md).
        ...(secure ? { secureAggregation: rounds.secureAnnouncement() } : {}),
      },
      headers,
    );
  }

  async function getModelFile(req: IncomingMessage, res: ServerResponse, version: string, file: string): Promise<void> {
    const dir = VERSION_PATTERN.test(version) && SERVED_FILES.includes(file) ? rounds.versionDir(version) : null;
    if (!dir) return sendJson(res, 404, { reason: 'not_found', message: `no file ${file} in a published version ${version}` });
    const etag = `"${version}/${file}"`;
    const headers = { 'Cache-Control': 'public, max-age=31536000, immutable', ETag: etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const bytes = await readFile(join(dir, file));
    res.writeHead(200, { ...headers, 'Content-Type': FILE_TYPES[file]!, 'Content-Length': bytes.length });
    res.end(bytes);
  }

  async function postUpdate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = req.socket.remoteAddress ?? 'unknown';
    // Refusals before the body is read close the connection: otherwise Node would go on reading
    // (and discarding) an unread body of any size on a kept-alive connection.
    if (limiter && !limiter.take(client)) {
      return refuse(
        res,
        { status: 429, reason: 'rate_limited', message: 'too many updates from this address; retry later' },
        { 'Retry-After': String(limiter.retryAfterSeconds(client)), Connection: 'close' },
      );
    }
    const contentType = req.headers['content-type'];
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const badType = secure
      ? type === SECURE_REPORT_CONTENT_TYPE
        ? null
        : {
            status: 415,
            reason: 'content_type',
            message: `this server runs secure aggregation: Content-Type must be ${SECURE_REPORT_CONTENT_TYPE} (see GET /v1/model)`,
          }
      : checkContentType(contentType);
    if (badType) return refuse(res, badType, { Connection: 'close' });
    const bodyLimit = rounds.maxBodyBytes();
    const body = await admitAndRead(req, res, bodyLimit, tooLarge(bodyLimit));
    if (!body) return;
    const checked = secure
      ? validateSecureReport(body, contentType, rounds.secureContext())
      : validateUpdate(body, contentType, rounds.context());
    if (!checked.ok) return refuse(res, checked);
    // The round may have filled (or failed to close) while this body was being read.
    const full = rounds.admission();
    if (full) return refuse(res, full, full.retryAfter ? { 'Retry-After': String(full.retryAfter) } : {});
    // Redeeming and storing are one synchronous step: no other request can spend the token between.
    let tokenId: string | undefined;
    if (tokens) {
      const roundId = 'report' in checked ? checked.report.header.roundId : checked.update.header.roundId;
      const redeemed = tokens.redeem(req.headers.authorization, roundId, (id) => rounds.tokenSpent(id));
      if (!redeemed.ok)
        return refuse(res, redeemed, redeemed.status === 401 ? { 'WWW-Authenticate': tokens.challengeHeader(roundId) } : {});
      tokenId = redeemed.tokenId;
    }
    let accepted: ReturnType<RoundManager['accept']>;
    try {
      accepted = 'report' in checked ? rounds.acceptSecure(checked, body, tokenId) : rounds.accept(checked, body, tokenId);
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      return storageFailed(res, err);
    }
    // Closing now is safe: a close fsyncs the log before it aggregates.
    rounds.closeIfDue();
    try {
      await accepted.durable;
    } catch (err) {
      return storageFailed(res, err as Error);
    }
    sendJson(res, 202, { accepted: true, ...accepted.ack });
  }

  /**
   * Refuses (503/409, closing the connection) when the open round takes nothing now, else reads
   * the body up to `limit`; null when the request was answered (refused, too large) or aborted.
   */
  async function admitAndRead(
    req: IncomingMessage,
    res: ServerResponse,
    limit: number,
    overLimit: { status: number; reason: string; message: string },
  ): Promise<Uint8Array | null> {
    const closed = rounds.admission();
    if (closed) {
      refuse(res, closed, { Connection: 'close', ...(closed.retryAfter ? { 'Retry-After': String(closed.retryAfter) } : {}) });
      return null;
    }
    const body = await readBody(req, limit);
    if (body === 'aborted') {
      res.destroy();
      return null;
    }
    // Closing the connection keeps the unread rest of an oversized body from being parsed.
    if (body === 'too_large') {
      refuse(res, overLimit, { Connection: 'close' });
      return null;
    }
    return body;
  }

  /**
   * `POST /v1/tokens?round=<id>`: a participation token for the open round (RFC 9578 type 2; the
   * body is a blinded TokenRequest). A request for another round is refused before it costs the
   * address its allowance. The address is kept in memory only, for the open round.
   */
  async function postToken(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    if (!tokens) return sendJson(res, 404, { reason: 'not_found', message: 'this server does not use participation tokens' });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== TOKEN_REQUEST_CONTENT_TYPE)
      return refuse(
        res,
        { status: 415, reason: 'content_type', message: `Content-Type must be ${TOKEN_REQUEST_CONTENT_TYPE}` },
        { Connection: 'close' },
      );
    const round = rounds.round.id;
    if (query.get('round') !== round)
      return refuse(
        res,
        { status: 409, reason: 'round_closed', message: `tokens are issued for the open round, ${round}` },
        { Connection: 'close' },
      );
    const body = await admitAndRead(req, res, MAX_TOKEN_REQUEST_BYTES, {
      status: 413,
      reason: 'too_large',
      message: `a token request is at most ${MAX_TOKEN_REQUEST_BYTES} bytes`,
    });
    if (!body) return;
    const issued = tokens.issue(body, req.socket.remoteAddress ?? 'unknown', round);
    if (!issued.ok)
      return refuse(
        res,
        issued,
        issued.status === 429
          ? { 'Retry-After': String(Math.max(1, Math.ceil((Date.parse(rounds.round.deadline) - opts.now()) / 1000))) }
          : {},
      );
    res.writeHead(200, {
      'Content-Type': TOKEN_RESPONSE_CONTENT_TYPE,
      'Cache-Control': 'no-store',
      'Content-Length': issued.response.length,
    });
    res.end(issued.response);
  }

  function storageFailed(res: ServerResponse, err: Error): void {
    opts.log(`cannot store an update: ${err.message}`);
    refuse(
      res,
      { status: 503, reason: 'storage_error', message: 'the server could not store the update; retry later' },
      { 'Retry-After': '30' },
    );
  }

  /** `POST /v1/admin/catalogue`: new products (see the API list above). Never answered cross-origin. */
  async function postCatalogue(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { reason: 'method_not_allowed', message: 'use POST' }, { Allow: 'POST' });
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!sameSecret(auth, opts.adminToken!))
      return sendJson(
        res,
        401,
        { reason: 'unauthorized', message: 'the admin route needs Authorization: Bearer <the admin token>' },
        { 'WWW-Authenticate': 'Bearer', Connection: 'close' },
      );
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json')
      return sendJson(res, 415, { reason: 'content_type', message: 'Content-Type must be application/json' }, { Connection: 'close' });
    const body = await readBody(req, MAX_ADMIN_BYTES);
    if (body === 'aborted') return void res.destroy();
    if (body === 'too_large')
      return sendJson(res, 413, { reason: 'too_large', message: `at most ${MAX_ADMIN_BYTES} bytes` }, { Connection: 'close' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return sendJson(res, 400, { reason: 'bad_request', message: 'the body is not UTF-8 JSON' });
    }
    try {
      sendJson(res, 202, rounds.addItems(parsed));
    } catch (err) {
      if (err instanceof CatalogueError) return sendJson(res, err.status, { reason: err.reason, message: err.message });
      throw err;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (path === '/v1/admin/catalogue' && opts.adminToken) return postCatalogue(req, res);
    const file = /^\/v1\/models\/([^/]+)\/([^/]+)$/.exec(path);
    const allow =
      path === '/v1/updates' || path === '/v1/tokens' ? 'POST' : path === '/v1/model' || path === '/v1/status' || file ? 'GET, HEAD' : null;
    if (!allow) return sendJson(res, 404, { reason: 'not_found', message: `no route ${path}` });
    if (method === 'OPTIONS') {
      // A CORS preflight, answered for the API's own routes only.
      res.writeHead(204, {
        Allow: `${allow}, OPTIONS`,
        'Access-Control-Allow-Methods': `${allow}, OPTIONS`,
        'Access-Control-Allow-Headers': 'Content-Type, Authorization',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (!allow.split(', ').includes(method))
      return sendJson(res, 405, { reason: 'method_not_allowed', message: `use ${allow}` }, { Allow: allow });
    if (path === '/v1/updates') return postUpdate(req, res);
    if (path === '/v1/tokens') return postToken(req, res, query);
    if (path === '/v1/model') return getModel(req, res);
    if (path === '/v1/status') return sendJson(res, 200, rounds.status());
    // Version and file names are URL-safe (VERSION_PATTERN), so the raw segments are compared.
    return getModelFile(req, res, file![1]!, file![2]!);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    let path: string;
    let query: URLSearchParams;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      path = url.pathname;
      query = url.searchParams;
    } catch {
      return false;
    }
    if (opts.basePath) {
      if (path !== opts.basePath && !path.startsWith(opts.basePath + '/')) return false;
      path = path.slice(opts.basePath.length) || '/';
    } else if (!path.startsWith('/v1/')) {
      return false;
    }
    cors(req, res);
    try {
      await route(req, res, path, query);
    } catch (err) {
      // One bad request costs one response, never the server. Only the path is logged.
      opts.log(`error answering ${req.method} ${path}: ${(err as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { reason: 'internal_error', message: 'internal error' });
      else res.destroy();
    }
    return true;
  }

  return {
    handle,
    status: () => rounds.status(),
    listen(port, host = '127.0.0.1') {
      const server = createServer((req, res) => {
        void handle(req, res).then((done) => {
          if (!done) sendJson(res, 404, { reason: 'not_found', message: 'see /v1/model, /v1/models/…, /v1/updates, /v1/status' });
        });
      });
      // Neither a slow nor a silent client can hold connections (and their buffers) for long.
      applyHttpLimits(server, opts);
      standalone = server;
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve({ server, port: (server.address() as AddressInfo).port }));
      });
    },
    async close() {
      clearInterval(timer);
      if (standalone) {
        const s = standalone;
        standalone = null;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      rounds.shutdown();
    },
  };
}
