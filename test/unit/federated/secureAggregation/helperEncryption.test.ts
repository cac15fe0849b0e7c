import { describe, expect, it } from 'vitest';
import { generateHelperKeys, openSeed, reportContext, sealSeed } from '../../../../src/federated/secureAggregation/helperEncryption';

describe('the helper seed, sealed with HPKE', () => {
  it('opens with the helper key for the same round and report, and for nothing else', async () => {
    const helper = await generateHelperKeys();
    const other = await generateHelperKeys();
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const ctx = reportContext('5', 'abc');
    const sealed = await sealSeed(helper.publicKey, seed, ctx);
    expect(sealed.enc).toHaveLength(65); // an uncompressed P-256 point
    expect(sealed.ciphertext).toHaveLength(32 + 16); // the seed and the GCM tag
    expect(await openSeed(helper.privateKey, sealed, ctx)).toEqual(seed);
    // Replayed into another round or report, opened by another key, or altered: refused.
    await expect(openSeed(helper.privateKey, sealed, reportContext('6', 'abc'))).rejects.toThrow();
    await expect(openSeed(helper.privateKey, sealed, reportContext('5', 'abd'))).rejects.toThrow();
    await expect(openSeed(other.privateKey, sealed, ctx)).rejects.toThrow();
    const flipped = { ...sealed, ciphertext: sealed.ciphertext.map((b, i) => (i === 3 ? b ^ 1 : b)) };
    await expect(openSeed(helper.privateKey, flipped, ctx)).rejects.toThrow();
    // Two seals of one seed differ (a fresh ephemeral key each time).
    const again = await sealSeed(helper.publicKey, seed, ctx);
    expect(again.enc).not.toEqual(sealed.enc);
  });
});
