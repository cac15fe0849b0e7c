import { Aes128Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';

/**
 * Encrypting the helper's share seed to the helper (HPKE, RFC 9180, base mode, through
 * `@hpke/core` on WebCrypto): DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, the suite
 * WebCrypto has in every browser and in Node. The leader relays the sealed seed without being
 * able to open it. The associated data binds a sealed seed to one round and one report, so the
 * leader cannot replay it into another round or report: the helper refuses it.
 */

const suite = (): CipherSuite => new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

const INFO = new TextEncoder().encode('edge-personalize/secure-aggregation/v1/helper-seed');

/** A sealed seed: the KEM's encapsulated key and the AEAD ciphertext. */
export interface SealedSeed {
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

/** The associated data (and the seed expansion's context) of one report of one round. */
export function reportContext(roundId: string, reportId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(['edge-personalize', 1, roundId, reportId]));
}

/** A new helper key pair; the public key in its serialized (uncompressed point) form. */
export async function generateHelperKeys(): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
  const s = suite();
  const pair = await s.kem.generateKeyPair();
  return {
    publicKey: new Uint8Array(await s.kem.serializePublicKey(pair.publicKey)),
    privateKey: new Uint8Array(await s.kem.serializePrivateKey(pair.privateKey)),
  };
}

/** Seals `seed` to the helper's public key for the report `context`. */
export async function sealSeed(helperPublicKey: Uint8Array, seed: Uint8Array, context: Uint8Array): Promise<SealedSeed> {
  const s = suite();
  const recipientPublicKey = await s.kem.deserializePublicKey(helperPublicKey);
  const { enc, ct } = await s.seal({ recipientPublicKey, info: INFO }, seed, context);
  return { enc: new Uint8Array(enc), ciphertext: new Uint8Array(ct) };
}

/** Opens a sealed seed with the helper's private key; rejects if it was sealed for another key, round or report, or altered. */
export async function openSeed(helperPrivateKey: Uint8Array, sealed: SealedSeed, context: Uint8Array): Promise<Uint8Array> {
  const s = suite();
  const recipientKey = await s.kem.deserializePrivateKey(helperPrivateKey);
  return new Uint8Array(await s.open({ recipientKey, enc: sealed.enc, info: INFO }, sealed.ciphertext, context));
}

/**
 * Whether `publicKey` is a key HPKE can seal to (a point on P-256). A device checks it before it
 * spends a participation token and trains for a round whose helper key is unusable.
 */
export async function isHelperKey(publicKey: Uint8Array): Promise<boolean> {
  try {
    await suite().kem.deserializePublicKey(publicKey);
    return true;
  } catch {
    return false;
  }
}
