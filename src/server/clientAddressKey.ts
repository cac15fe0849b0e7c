import { createHmac, randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The unit a per-address allowance counts: an IPv4 address (also when written IPv4-mapped,
 * `::ffff:a.b.c.d`), or an IPv6 address's first `ipv6PrefixBits` bits (default 64). One
 * household or phone usually gets a whole IPv6 /64, so counting full IPv6 addresses would give
 * one device 2^64 allowances. Anything that is not an IP address counts as itself.
 */
export function addressUnit(address: string, ipv6PrefixBits = 64): string {
  if (!Number.isInteger(ipv6PrefixBits) || ipv6PrefixBits < 1 || ipv6PrefixBits > 128)
    throw new RangeError('ipv6PrefixBits must be an integer in 1..128');
  const bare = address.replace(/%.*$/, '');
  if (isIPv4(bare)) return `v4:${bare}`;
  if (!isIPv6(bare)) return `other:${address}`;
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `v4:${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  const shift = BigInt(128 - ipv6PrefixBits);
  return `v6:${((value >> shift) << shift).toString(16)}/${ipv6PrefixBits}`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 split). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/**
 * Turns address units into keys for in-memory maps: HMAC-SHA-256 under a random key made when
 * the process starts and never stored, so neither a heap dump nor a core file of the server
 * holds the shoppers' addresses, and keys from two runs cannot be matched.
 */
export class AddressKeyer {
  private readonly secret = randomBytes(32);

  constructor(private readonly ipv6PrefixBits = 64) {
    addressUnit('::1', ipv6PrefixBits);
  }

  /** The map key for `address` (its unit, see `addressUnit`), 16 bytes as base64. */
  key(address: string): string {
    return createHmac('sha256', this.secret).update(addressUnit(address, this.ipv6PrefixBits)).digest().subarray(0, 16).toString('base64');
  }
}
