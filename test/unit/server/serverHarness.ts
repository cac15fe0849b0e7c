import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UPDATE_CONTENT_TYPE } from '../../../src/federated/modelUpdate';
import { createAggregationServer, type AggregationServer } from '../../../src/server/aggregationServer';
import type { AggregationServerOptions } from '../../../src/server/serverOptions';
import { MODEL_DIR } from './updateFixtures';

/** A real aggregation server on an ephemeral loopback port over a fresh data directory. */
export interface Harness {
  url: string;
  dataDir: string;
  server: AggregationServer;
  logs: string[];
  post(bytes: Uint8Array, contentType?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  status(): Promise<Record<string, any>>;
}

/**
 * The settings most tests run with: clip norm 1 (the fixtures' updates), the budget and noise
 * checks off, so that a test of one behaviour can use tiny rounds, no participation tokens
 * (their own tests turn them on), and no announced item rows (the fixtures' updates are dense
 * only; roundRows.test.ts runs rounds with rows). Tests of the defaults
 * and of the checks pass their own values.
 */
export const TEST_SETTINGS: Partial<AggregationServerOptions> = {
  clipNorm: 1,
  maxNoiseRatio: Infinity,
  maxEpsilon: Infinity,
  participationTokens: null,
  rowsPerRound: 0,
};

export async function startServer(options: Partial<AggregationServerOptions> = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fl-server-'));
  const logs: string[] = [];
  const server = createAggregationServer({
    modelDir: MODEL_DIR,
    rateLimit: null,
    log: (l) => logs.push(l),
    ...TEST_SETTINGS,
    ...options,
    dataDir,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}${options.basePath ?? ''}`;
  return {
    url,
    dataDir,
    server,
    logs,
    async post(bytes, contentType = UPDATE_CONTENT_TYPE) {
      const res = await fetch(`${url}/v1/updates`, {
        method: 'POST',
        headers: { 'Content-Type': contentType },
        body: bytes as Uint8Array<ArrayBuffer>,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
    },
    async status() {
      return (await (await fetch(`${url}/v1/status`)).json()) as Record<string, any>;
    },
  };
}

/**
 * Posts with node:http, optionally chunked (no Content-Length), and resolves with the status and
 * body even when the server closes the connection before the whole body was sent.
 */
export function rawPost(
  url: string,
  body: Uint8Array,
  opts: { chunked?: boolean; contentType?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/updates`,
      {
        method: 'POST',
        headers: {
          'Content-Type': opts.contentType ?? UPDATE_CONTENT_TYPE,
          ...(opts.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': body.length }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    // Write in pieces so a server that stops reading early is exercised.
    for (let at = 0; at < body.length; at += 16384) req.write(body.subarray(at, at + 16384));
    req.end();
  });
}
