import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../readBody';
import { AggregateRefused, HelperAggregator, type AggregateRequest } from './helperAggregator';
import { openHelperKey } from './helperKey';
import { FileHelperStore } from './helperStore';

/** How a helper is run (`npm run server -- --role helper`, in a process and data directory of its own). */
export interface HelperServerOptions {
  dataDir: string;
  /** The bearer secret the leader presents; the helper answers aggregation requests from it only. */
  leaderToken: string;
  /** Fewer reports than this in one aggregation are refused. */
  minCohort: number;
  maxCohort: number;
  /** Progress lines (no report content, no address). */
  log?: (line: string) => void;
}

/** A protocol name both sides check. */
export const HELPER_PROTOCOL = 'edge-personalize/two-aggregator-additive-shares/v1';

/**
 * The helper's HTTP API:
 * - `GET /v1/helper`: its public key, protocol and cohort bounds (the leader announces the key to devices);
 * - `POST /v1/helper/aggregate` (`Authorization: Bearer <leaderToken>`, JSON {@link AggregateRequest}):
 *   200 with its share of the sum; 400 `bad_request`, 409 `cohort_too_small` / `report_reused` /
 *   `round_reused`, 401 without the leader's secret, 413 for a body over the cohort's size.
 * It keeps no client address, and nothing of any report but the ids it summed.
 */
export async function createHelperServer(o: HelperServerOptions): Promise<{
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  publicKey: string;
}> {
  if (o.leaderToken.length < 16) throw new RangeError('the leader token must have at least 16 characters');
  const key = await openHelperKey(o.dataDir);
  const aggregator = new HelperAggregator({
    privateKey: key.privateKey,
    store: new FileHelperStore(o.dataDir),
    minCohort: o.minCohort,
    maxCohort: o.maxCohort,
  });
  const secret = Buffer.from(`Bearer ${o.leaderToken}`);
  // One report takes ~200 bytes of JSON (id, 65-byte key, 48-byte sealed seed, base64url).
  const bodyLimit = 4096 + o.maxCohort * 256;
  const send = (res: ServerResponse, status: number, body: unknown): true => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
    return true;
  };
  // Aggregations one at a time: the store's "each report once" check and its write are one step.
  let chain: Promise<unknown> = Promise.resolve();

  return {
    publicKey: key.publicKeyB64,
    async handle(req, res) {
      const path = new URL(req.url ?? '/', 'http://helper').pathname;
      if (path === '/v1/helper' && req.method === 'GET') {
        return send(res, 200, { protocol: HELPER_PROTOCOL, publicKey: key.publicKeyB64, minCohort: o.minCohort, maxCohort: o.maxCohort });
      }
      if (path !== '/v1/helper/aggregate') return false;
      if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed' });
      const auth = Buffer.from(req.headers.authorization ?? '');
      if (auth.length !== secret.length || !timingSafeEqual(auth, secret)) return send(res, 401, { error: 'unauthorized' });
      const body = await readBody(req, bodyLimit);
      if (body === 'aborted') return true;
      if (body === 'too_large') return send(res, 413, { error: 'too_large' });
      let request: AggregateRequest;
      try {
        request = JSON.parse(Buffer.from(body).toString('utf8')) as AggregateRequest;
      } catch {
        return send(res, 400, { error: 'bad_request', message: 'the body is not JSON' });
      }
      const run = chain.then(() => aggregator.aggregate(request));
      chain = run.catch(() => undefined);
      try {
        const answer = await run;
        o.log?.(`round ${answer.roundId}: summed ${answer.accepted.length} reports (${answer.rejected.length} did not open)`);
        return send(res, 200, answer);
      } catch (err) {
        if (err instanceof AggregateRefused)
          return send(res, err.reason === 'bad_request' ? 400 : 409, { error: err.reason, message: err.message });
        throw err;
      }
    },
  };
}
