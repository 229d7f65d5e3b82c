/**
 * The web app's legacy scan and local removal (src/web/persist/legacy-sources.ts) on fake-indexeddb and
 * an in-memory Storage: what is offered, what is listed with a reason, and that removing an imported
 * entry rewrites the saved list only when it parsed completely.
 */
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeLocalCopy, SAVED_RECORDINGS, scanLegacy } from '../../src/web/persist/legacy-sources.ts';
import { TakeStore } from '../../src/web/persist/take-store.ts';

class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, String(v));
  }
}

const bytesA = Buffer.from('\x1aE\xdf\xa3 first recording bytes');
const bytesB = Buffer.from('\x1aE\xdf\xa3 second, other bytes');
const url = (b: Buffer, mime = 'video/webm') => `data:${mime};base64,${b.toString('base64')}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function putOld(database: string, store: string, key: string, blob: Blob): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(database, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(store);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(blob, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

let store: TakeStore;
let local: MemoryStorage;
let dbName: string;
beforeEach(async () => {
  dbName = `recorder-legacy-${Math.random().toString(36).slice(2)}`;
  store = await TakeStore.open(dbName);
  local = new MemoryStorage();
});
afterEach(() => store.close());

const scan = (storage: 'server' | 'browser' = 'server') => scanLegacy({ store, userId: 'u1', storage, local });

describe('legacy scan', () => {
  it('offers readable entries and lists the rest with their reasons', async () => {
    const old = `old-${dbName}`;
    await putOld(old, 'blobs', '7', new Blob([bytesB], { type: 'video/webm' }));
    const entries = [
      { id: 1, title: 'A', type: 'camera', mediaBlob: url(bytesA) },
      { id: 2, type: 'camera', mediaUrl: 'blob:http://elsewhere.example/0000' },
      { id: 3, type: 'camera', mediaBlob: 'data:video/webm;base64,@@@' },
      { id: 4, type: 'hologram', mediaBlob: url(bytesA) },
      { id: 5, type: 'screen', url: `idb:${old}/blobs/7` },
      { id: 6, type: 'screen', url: `idb:${old}/blobs/8` },
    ];
    local.setItem(SAVED_RECORDINGS, JSON.stringify(entries));
    const r = await scan();
    expect(r.candidates.map((c) => [c.item.legacyId, c.size])).toEqual([
      ['1', bytesA.length],
      ['5', bytesB.length],
    ]);
    expect(r.candidates[0]!.sha256).toBe(sha(bytesA));
    expect(r.skips.map((s) => [s.legacyId, s.reason])).toEqual([
      ['2', 'BLOB_URL_DEAD'],
      ['3', 'CORRUPT_DATA'],
      ['4', 'UNKNOWN_TYPE'],
      ['6', 'IDB_MISSING'],
    ]);
    // Readable bytes of an entry that cannot be imported are offered for download.
    const hologram = r.skips.find((s) => s.legacyId === '4')!;
    expect(Buffer.from(await (await hologram.download!.read()).arrayBuffer()).equals(bytesA)).toBe(true);
    expect(r.skips.find((s) => s.legacyId === '3')!.download).toBeUndefined();
    expect(local.getItem(SAVED_RECORDINGS)).toBe(JSON.stringify(entries));
  });

  it('removes exactly the imported entry (ids may repeat) and its idb bytes', async () => {
    const old = `old-${dbName}`;
    await putOld(old, 'blobs', '9', new Blob([bytesB]));
    const entries = [
      { id: 1, type: 'camera', mediaBlob: url(bytesA) },
      { id: 1, type: 'camera', mediaBlob: url(bytesB) },
      { id: 9, type: 'camera', url: `idb:${old}/blobs/9` },
    ];
    local.setItem(SAVED_RECORDINGS, JSON.stringify(entries));
    const [, second, third] = (await scan()).candidates;
    expect(await removeLocalCopy(second!, store, local)).toBe('removed');
    expect(JSON.parse(local.getItem(SAVED_RECORDINGS)!)).toEqual([entries[0], entries[2]]);
    expect(await removeLocalCopy(third!, store, local)).toBe('removed');
    expect(JSON.parse(local.getItem(SAVED_RECORDINGS)!)).toEqual([entries[0]]);
    const again = await scan();
    expect(again.candidates.map((c) => c.sha256)).toEqual([sha(bytesA)]);
  });

  it('never writes a cut-off list: the imported entry is remembered instead', async () => {
    const whole = JSON.stringify([
      { id: 1, type: 'camera', mediaBlob: url(bytesA) },
      { id: 2, type: 'camera', mediaBlob: url(bytesB) },
    ]);
    const raw = whole.slice(0, whole.length - 20);
    local.setItem(SAVED_RECORDINGS, raw);
    const r = await scan();
    expect(r.truncated).toBe(true);
    expect(r.candidates).toHaveLength(1);
    expect(r.skips.map((s) => s.reason)).toEqual(['UNREADABLE_JSON']);
    expect(await removeLocalCopy(r.candidates[0]!, store, local)).toBe('kept');
    expect(local.getItem(SAVED_RECORDINGS)).toBe(raw);
    expect((await scan()).candidates).toEqual([]);
  });

  it('writes a twice-stringified list back the same way', async () => {
    const entries = [
      { id: 1, type: 'camera', mediaBlob: url(bytesA) },
      { id: 2, type: 'audio', mediaBlob: url(bytesB, 'audio/webm') },
    ];
    local.setItem(SAVED_RECORDINGS, JSON.stringify(JSON.stringify(entries)));
    const [first] = (await scan()).candidates;
    await removeLocalCopy(first!, store, local);
    expect(JSON.parse(JSON.parse(local.getItem(SAVED_RECORDINGS)!))).toEqual([entries[1]]);
  });

  it('offers takes kept in browser mode only once the user is on the server side', async () => {
    await store.create({
      id: 't1',
      userId: 'u1',
      storage: 'browser',
      mode: 'audio',
      quality: 'low',
      mimeType: 'audio/webm',
      startedAt: '2026-01-02T03:04:05.000Z',
    });
    await store.appendChunk('t1', 0, bytesA);
    await store.update('t1', { state: 'kept', title: 'Memo', durationMs: 2500 });
    expect((await scan('browser')).candidates).toEqual([]);
    const [c] = (await scan('server')).candidates;
    expect(c!.item).toMatchObject({ legacyId: 't1', title: 'Memo', recordingType: 'audio', durationMs: 2500 });
    expect(c!.legacySource).toBe('browser-take');
    expect(await removeLocalCopy(c!, store, local)).toBe('removed');
    expect(await store.get('t1')).toBeUndefined();
  });
});
