/**
 * The old recorder's IndexedDB, as `idb:<database>/<store>/<key>` refs in savedRecordings name it: read a
 * Blob, delete a key. Opening a database that does not exist would create an empty one; the upgrade
 * that would create it is aborted instead, so looking leaves no trace.
 */

function openExisting(database: string): Promise<IDBDatabase | null> {
  return new Promise((resolve) => {
    let created = false;
    let r: IDBOpenDBRequest;
    try {
      r = indexedDB.open(database);
    } catch {
      return resolve(null);
    }
    r.onupgradeneeded = () => {
      created = true;
      r.transaction?.abort();
    };
    r.onsuccess = () => {
      if (created) {
        r.result.close();
        return resolve(null);
      }
      resolve(r.result);
    };
    r.onerror = () => resolve(null);
    r.onblocked = () => resolve(null);
  });
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Old stores keyed by number are named by its digits in the ref. */
function keysOf(key: string): IDBValidKey[] {
  return /^\d+$/.test(key) ? [key, Number(key)] : [key];
}

/** What the old recorder stored under the key, as a Blob: a Blob, bytes, or an object holding either. */
function asBlob(v: unknown): Blob | null {
  if (v instanceof Blob) return v;
  if (v instanceof ArrayBuffer) return new Blob([v]);
  if (ArrayBuffer.isView(v)) return new Blob([v as Uint8Array<ArrayBuffer>]);
  if (v && typeof v === 'object') {
    for (const f of ['blob', 'data', 'media', 'file']) {
      const inner = (v as Record<string, unknown>)[f];
      if (inner instanceof Blob || inner instanceof ArrayBuffer || ArrayBuffer.isView(inner)) return asBlob(inner);
    }
  }
  return null;
}

/** The Blob under database/store/key, or null when any of the three is missing. */
export async function readIdbBlob(database: string, store: string, key: string): Promise<Blob | null> {
  const db = await openExisting(database);
  if (!db) return null;
  try {
    if (!db.objectStoreNames.contains(store)) return null;
    for (const k of keysOf(key)) {
      const v = await request(db.transaction(store, 'readonly').objectStore(store).get(k));
      const blob = asBlob(v);
      if (blob) return blob;
    }
    return null;
  } catch {
    return null;
  } finally {
    db.close();
  }
}

/** Deletes the key (both spellings); resolves once committed. A missing database or store is nothing to do. */
export async function deleteIdbKey(database: string, store: string, key: string): Promise<void> {
  const db = await openExisting(database);
  if (!db) return;
  try {
    if (!db.objectStoreNames.contains(store)) return;
    const tx = db.transaction(store, 'readwrite');
    for (const k of keysOf(key)) tx.objectStore(store).delete(k);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}
