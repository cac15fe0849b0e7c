import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readUpdateLog, UpdateLog, type LogMeta } from '../../../src/server/updateLog';
import { startServer } from './serverHarness';
import { BASE_VERSION, makeUpdate } from './updateFixtures';

const meta = (nonce: string): LogMeta => ({ nonce, weight: 1, staleness: 0, modelVersion: 'v', receivedAt: 0 });

describe('round log', () => {
  it('reads back what was appended, stops at a torn or corrupt record and cuts it off on open', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'log-')), '1.log');
    const { log, records } = UpdateLog.open(path);
    expect(records).toEqual([]);
    log.append(meta('a'), new Uint8Array([1, 2, 3]));
    log.append(meta('b'), new Uint8Array([4]));
    await log.durable();
    log.close();
    const good = statSync(path).size;
    expect(readUpdateLog(path).records.map((r) => [r.meta.nonce, Array.from(r.bytes)])).toEqual([
      ['a', [1, 2, 3]],
      ['b', [4]],
    ]);

    appendFileSync(path, Buffer.from([50, 0, 0, 0, 9, 9])); // a record cut short by a crash
    expect(readUpdateLog(path)).toMatchObject({ validLength: good });
    const reopened = UpdateLog.open(path);
    expect(reopened.records).toHaveLength(2);
    expect(statSync(path).size).toBe(good);
    reopened.log.append(meta('c'), new Uint8Array([5]));
    reopened.log.flushSync();
    reopened.log.close();
    expect(readUpdateLog(path).records.map((r) => r.meta.nonce)).toEqual(['a', 'b', 'c']);

    // A flipped byte inside the last record fails its checksum: that record and the rest are ignored.
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(path, bytes);
    expect(readUpdateLog(path).records.map((r) => r.meta.nonce)).toEqual(['a', 'b']);
  });

  it('acknowledges concurrent appends with shared fsyncs (group commit)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'log-')), '1.log');
    const { log } = UpdateLog.open(path);
    const waits = Array.from({ length: 50 }, (_, i) => {
      log.append(meta(String(i)), new Uint8Array(100));
      return log.durable();
    });
    await Promise.all(waits);
    log.close();
    expect(readUpdateLog(path).records).toHaveLength(50);
  });

  it('a restart closes a round whose updates reached the target before a crash could close it', async () => {
    const first = await startServer({ targetUpdates: 3 });
    const noiseStd = 1 / Math.sqrt(3);
    for (let i = 0; i < 2; i++) expect((await first.post(makeUpdate({ noiseStd }).bytes)).status).toBe(202);
    await first.server.close();
    // Same data, target 2 (same noise for the test): the logged round is due as soon as it is read.
    const again = await startServer({ dataDir: first.dataDir, targetUpdates: 2, noiseMultiplier: Math.sqrt(2 / 3) });
    try {
      expect(await again.status()).toMatchObject({ modelVersion: `${BASE_VERSION}-r1`, roundsClosed: 1, round: { id: '2', received: 0 } });
    } finally {
      await again.server.close();
    }
  });
});
