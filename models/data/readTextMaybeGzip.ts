import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * Reads a UTF-8 text file, gunzipping it first when it starts with the gzip magic bytes
 * (1f 8b, RFC 1952 §2.3.1), whatever its name: fixtures may be stored plain or compressed.
 */
export function readTextMaybeGzip(path: string): string {
  const bytes = readFileSync(path);
  const gz = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return (gz ? gunzipSync(bytes) : bytes).toString('utf8');
}
