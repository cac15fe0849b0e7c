import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64Url } from '../../federated/participationChallenge';
import { generateHelperKeys } from '../../federated/secureAggregation/helperEncryption';
import { keepPrivate, writeSecretFile } from '../secretFile';
import { DataDirError } from '../updateStore';

export const HELPER_KEY_FILE = 'helper-key.json';
const FORMAT = 'edge-personalize secure aggregation helper key';

/** The helper's HPKE key pair (P-256): the private key never leaves the helper's data directory. */
export interface HelperKey {
  publicKey: Uint8Array;
  /** `publicKey` as base64url: what the leader announces to devices. */
  publicKeyB64: string;
  privateKey: Uint8Array;
  createdAt: string;
}

/**
 * Opens `<dataDir>/helper-key.json` (mode 0600), creating it on first start and reusing it after
 * every restart, so seeds sealed before a restart still open. Throws `DataDirError` for a file
 * that is not one.
 */
export async function openHelperKey(dataDir: string): Promise<HelperKey> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, HELPER_KEY_FILE);
  if (!existsSync(path)) {
    const keys = await generateHelperKeys();
    const file = {
      format: FORMAT,
      version: 1,
      createdAt: new Date().toISOString(),
      publicKey: toBase64Url(keys.publicKey),
      privateKey: toBase64Url(keys.privateKey),
    };
    writeSecretFile(path, JSON.stringify(file, null, 2) + '\n');
  }
  keepPrivate(path);
  let file: { format?: unknown; version?: unknown; createdAt?: unknown; publicKey?: unknown; privateKey?: unknown };
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataDirError(`${path}: not a helper key file (${(err as Error).message})`);
  }
  if (
    file.format !== FORMAT ||
    file.version !== 1 ||
    typeof file.publicKey !== 'string' ||
    typeof file.privateKey !== 'string' ||
    typeof file.createdAt !== 'string'
  ) {
    throw new DataDirError(`${path}: not a version 1 helper key file`);
  }
  return {
    publicKey: new Uint8Array(Buffer.from(file.publicKey, 'base64url')),
    publicKeyB64: file.publicKey,
    privateKey: new Uint8Array(Buffer.from(file.privateKey, 'base64url')),
    createdAt: file.createdAt,
  };
}
