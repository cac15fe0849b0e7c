import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `limit` bytes. Refuses at once when `Content-Length` says it
 * is larger, and stops reading (and buffering) as soon as a body without one grows past the
 * limit, so an oversized upload never costs more than `limit` bytes of memory.
 * Resolves to the bytes, `'too_large'`, or `'aborted'` when the client went away.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | 'too_large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too_large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: Uint8Array | 'too_large' | 'aborted'): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.pause();
        finish('too_large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', () => finish('aborted'));
    req.on('close', () => finish('aborted'));
  });
}
