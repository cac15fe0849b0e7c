/**
 * base64url without padding (RFC 4648 §5): the encoding of participation tokens and keys
 * (RFC 9577) and of secure-aggregation keys and report ids. A file of its own so that neither
 * the token client nor the secure-report code has to load the other to use it.
 */

/** `bytes` as base64url, without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Strict base64url decoding, padding optional: null for any other character or an impossible
 * length (a lenient decoder would let two spellings name one token). The result owns its
 * buffer (offset 0), as the token library's parsers assume.
 */
export function fromBase64Url(text: string): Uint8Array | null {
  if (typeof text !== 'string') return null;
  const body = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) return null;
  if (body.length !== text.length && text.length % 4 !== 0) return null;
  let bin: string;
  try {
    bin = atob(body.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Non-canonical trailing bits (e.g. "AB" and "AC" both decoding to one byte) are refused too.
  return toBase64Url(out) === body ? out : null;
}
