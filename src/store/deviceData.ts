import { sdkError } from '../errors';
import { HISTORY_DB_NAME } from './databaseName';

/** Everything the SDK keeps about the shopper on this device, as `exportData()` returns it. */
export interface DeviceDataExport {
  format: 'edge-personalize.export';
  formatVersion: 1;
  exportedAt: string;
  /** Every IndexedDB object store of the SDK's database, all records (events, sessions with the model's state, …). */
  indexedDB: Record<string, unknown[]>;
  /** Other small keys the SDK keeps (the consent choice, this tab's unconfirmed events). */
  webStorage: Record<string, unknown>;
}

/**
 * Opens the SDK's database only if it exists: opening a missing database would create one, and
 * with consent not granted the SDK must write nothing. Resolves null when there is none.
 */
function openExisting(name: string): Promise<IDBDatabase | null> {
  return new Promise((resolve, reject) => {
    let created = false;
    const req = indexedDB.open(name);
    req.onupgradeneeded = () => {
      created = true;
      req.transaction?.abort(); // it did not exist: abort the creation
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => (created ? resolve(null) : reject(req.error));
  });
}

/** Reads every record of every store of the SDK's database (read-only; creates nothing). */
export async function readDeviceData(storages: Array<Pick<Storage, 'getItem'> | null>, keys: string[]): Promise<DeviceDataExport> {
  const out: DeviceDataExport = {
    format: 'edge-personalize.export',
    formatVersion: 1,
    exportedAt: new Date().toISOString(),
    indexedDB: {},
    webStorage: {},
  };
  if (typeof indexedDB !== 'undefined') {
    const db = await openExisting(HISTORY_DB_NAME);
    if (db) {
      try {
        const names = Array.from(db.objectStoreNames);
        if (names.length > 0) {
          const tx = db.transaction(names, 'readonly');
          await Promise.all(
            names.map(
              (name) =>
                new Promise<void>((resolve, reject) => {
                  const store = tx.objectStore(name);
                  const values = store.getAll();
                  const keysReq = store.keyPath === null ? store.getAllKeys() : null;
                  values.onerror = () => reject(values.error);
                  values.onsuccess = () => {
                    const finish = (): void => {
                      // Stores with out-of-line keys (meta) export {key, value} pairs.
                      out.indexedDB[name] = keysReq ? values.result.map((value, i) => ({ key: keysReq.result[i], value })) : values.result;
                      resolve();
                    };
                    if (!keysReq || keysReq.readyState === 'done') finish();
                    else keysReq.onsuccess = finish;
                  };
                }),
            ),
          );
        }
      } finally {
        db.close();
      }
    }
  }
  for (const key of keys) {
    for (const storage of storages) {
      try {
        const raw = storage?.getItem(key);
        if (raw != null) out.webStorage[key] = JSON.parse(raw);
      } catch {
        /* unreadable or refused: nothing to export from it */
      }
    }
  }
  return out;
}

/** Deletes the SDK's database. Resolves once it is gone; rejects if another connection blocks it for 5 s. */
export function deleteDeviceDatabase(): Promise<void> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return resolve();
    const req = indexedDB.deleteDatabase(HISTORY_DB_NAME);
    const timer = setTimeout(
      () => reject(sdkError('StorageUnavailableError', 'another tab keeps the database open; close it and try again')),
      5000,
    );
    req.onsuccess = () => {
      clearTimeout(timer);
      resolve();
    };
    req.onerror = () => {
      clearTimeout(timer);
      reject(req.error);
    };
  });
}
