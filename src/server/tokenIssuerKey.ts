import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { util as ppUtil } from '@cloudflare/privacypass-ts';
import { toBase64Url } from '../federated/participationChallenge';
import { DataDirError } from './updateStore';
import { keepPrivate, writeSecretFile } from './secretFile';

/** The key file's name inside the data directory. */
export const TOKEN_KEY_FILE = 'token-issuer.json';

const FORMAT = 'edge-personalize token issuer key';
/** RFC 9578 §6: token type 2 keys are 2048-bit RSA with e = 65537. */
const MODULUS_BITS = 2048;
const PUBLIC_EXPONENT = 65537;

/**
 * The participation-token issuer's RSA key pair (RFC 9578 token type 2) and what clients need to
 * know about it. The private key is only ever in this object and the 0600 key file.
 */
export interface TokenIssuerKey {
  /** The RSA private key (OpenSSL's, for the blind signature). */
  readonly privateKey: KeyObject;
  /** The RSA public key (OpenSSL's, for checking the blind signature and verifying tokens). */
  readonly publicKeyObject: KeyObject;
  /** The public key encoding of RFC 9578 §6.5: SubjectPublicKeyInfo with the RSASSA-PSS OID (SHA-384, salt 48). */
  readonly publicKeyBytes: Uint8Array;
  /** `publicKeyBytes` as base64url without padding: the form a client takes (`token-key`, RFC 9577 §2.1). */
  readonly publicKey: string;
  /** `token_key_id` = SHA-256(publicKeyBytes) (RFC 9578 §6.5). */
  readonly tokenKeyId: Uint8Array;
  /** `tokenKeyId` as lower-case hex. */
  readonly tokenKeyIdHex: string;
  /** When the key was made (ISO 8601). */
  readonly createdAt: string;
}

interface KeyFile {
  format: typeof FORMAT;
  version: 1;
  tokenType: 2;
  createdAt: string;
  /** PKCS#8 DER of the RSA private key, base64url. */
  privateKey: string;
}

/**
 * Opens the issuer key kept at `<dataDir>/token-issuer.json`, creating it on first start (a
 * fresh 2048-bit key, written atomically: temp file created with mode 0600, fsync, rename, fsync
 * of the directory), and reusing it after every restart, so tokens issued before a restart
 * still redeem and clients keep seeing one key (key consistency, RFC 9576 §6.3). Synchronous,
 * like the rest of the server's start-up. Throws `DataDirError` for a key file that is not one.
 */
export function openTokenIssuerKey(dataDir: string): TokenIssuerKey {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, TOKEN_KEY_FILE);
  if (!existsSync(path)) createKeyFile(path);
  // Only the server's user may read the private key, even if someone loosened the mode.
  keepPrivate(path);
  const file = readKeyFile(path);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(file.privateKey, 'base64url'), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new DataDirError(`${path}: the private key cannot be read (${(err as Error).message})`);
  }
  const details = privateKey.asymmetricKeyDetails;
  if (
    privateKey.asymmetricKeyType !== 'rsa' ||
    details?.modulusLength !== MODULUS_BITS ||
    details.publicExponent !== BigInt(PUBLIC_EXPONENT)
  ) {
    throw new DataDirError(`${path}: not a ${MODULUS_BITS}-bit RSA key with e = ${PUBLIC_EXPONENT}`);
  }
  const publicKeyObject = createPublicKey(privateKey);
  const spki = new Uint8Array(publicKeyObject.export({ type: 'spki', format: 'der' }));
  // Node exports the rsaEncryption OID; the token format names RSASSA-PSS (the library converts).
  const publicKeyBytes = ppUtil.convertEncToRSASSAPSS(spki);
  const tokenKeyId = new Uint8Array(createHash('sha256').update(publicKeyBytes).digest());
  return {
    privateKey,
    publicKeyObject,
    publicKeyBytes,
    publicKey: toBase64Url(publicKeyBytes),
    tokenKeyId,
    tokenKeyIdHex: Buffer.from(tokenKeyId).toString('hex'),
    createdAt: file.createdAt,
  };
}

function readKeyFile(path: string): KeyFile {
  let parsed: Partial<KeyFile>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeyFile>;
  } catch (err) {
    throw new DataDirError(`${path}: not a token issuer key file (${(err as Error).message})`);
  }
  if (
    parsed.format !== FORMAT ||
    parsed.version !== 1 ||
    parsed.tokenType !== 2 ||
    typeof parsed.privateKey !== 'string' ||
    typeof parsed.createdAt !== 'string'
  ) {
    throw new DataDirError(`${path}: not a version 1 token issuer key file`);
  }
  return parsed as KeyFile;
}

function createKeyFile(path: string): void {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: MODULUS_BITS, publicExponent: PUBLIC_EXPONENT });
  const file: KeyFile = {
    format: FORMAT,
    version: 1,
    tokenType: 2,
    createdAt: new Date().toISOString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64url'),
  };
  writeSecretFile(path, JSON.stringify(file, null, 2) + '\n');
}
