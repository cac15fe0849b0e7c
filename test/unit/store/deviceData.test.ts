import { describe, expect, it } from 'vitest';
import { deleteDeviceDatabase, readDeviceData } from '../../../src/store/deviceData';

// IndexedDB itself is exercised in Chromium (test/e2e/privacy.e2e.ts); here, the rest of the
// export/erase logic, where Node has no IndexedDB at all.
function storage(entries: Record<string, string>) {
  return { getItem: (k: string) => entries[k] ?? null };
}

describe('device data export', () => {
  it('exports the named web-storage keys as parsed JSON, from every storage, and nothing else', async () => {
    const local = storage({ 'edge-personalize.consent': '{"state":"granted","at":5}', 'site-own-key': '"not ours"' });
    const session = storage({ 'edge-personalize.pending': '[{"type":"view","itemId":"A","at":1}]' });
    const out = await readDeviceData([local, session], ['edge-personalize.consent', 'edge-personalize.pending']);
    expect(out.format).toBe('edge-personalize.export');
    expect(out.webStorage).toEqual({
      'edge-personalize.consent': { state: 'granted', at: 5 },
      'edge-personalize.pending': [{ type: 'view', itemId: 'A', at: 1 }],
    });
    expect(out.indexedDB).toEqual({}); // no IndexedDB here: nothing, and nothing created
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
  it('skips unreadable values and refused storages instead of failing the export', async () => {
    const broken = storage({ 'edge-personalize.consent': '{oops' });
    const refusing = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    const out = await readDeviceData([broken, refusing, null], ['edge-personalize.consent']);
    expect(out.webStorage).toEqual({});
  });
  it('erasing where there is no IndexedDB succeeds (nothing to delete)', async () => {
    await expect(deleteDeviceDatabase()).resolves.toBeUndefined();
  });
});
