/**
 * Takes in IndexedDB: the first place every recorded byte is made safe.
 *
 * Database 'recorder', version 1:
 *  - `takes`  keyPath id, index `byUser` (userId): one record per take, with its byte and chunk counters.
 *  - `chunks` keyPath [takeId, seq], index `byOffset` ([takeId, offset]): one record per MediaRecorder
 *    slice, its bytes as an ArrayBuffer and the offset of its first byte in the take.
 *
 * A chunk and the counters on its take are written in ONE transaction, so they never disagree: after a
 * crash at any moment `take.bytes` is exactly the sum of the stored chunks. appendChunk resolves only on
 * the transaction's `complete` event, requested with durability 'strict' (flushed to disk, where the
 * browser supports the hint): "appended" means "survives the browser being killed".
 *
 * Bytes are stored as ArrayBuffers, not Blobs: the caller has read them already (to hash and upload),
 * every IndexedDB implementation stores them the same way, and Blob-in-IndexedDB has had engine bugs.
 */
import type { RecordingMode } from '../recorder/modes.ts';
import type { Quality } from '../recorder/quality.ts';
import type { UploadRefusal } from './refusal.ts';

export type TakeState = 'recording' | 'stopped' | 'kept' | 'uploaded' | 'discarded';

export interface LocalTake {
  id: string;
  userId: string;
  storage: 'server' | 'browser';
  mode: RecordingMode;
  quality: Quality;
  mimeType: string;
  startedAt: string;
  durationMs: number;
  /** Bytes stored in `chunks` for this take (kept in step with them, same transaction). */
  bytes: number;
  chunkCount: number;
  /** Highest seq stored (-1 before the first chunk): appends must come in increasing seq order. */
  lastSeq: number;
  state: TakeState;
  sessionId?: string;
  uploadUrl?: string;
  /** Bytes the server acknowledged (last known; the server's HEAD is the truth). */
  serverOffset?: number;
  recordingId?: string;
  title?: string;
  description?: string;
  projectId?: string | null;
  metadata?: Record<string, unknown>;
  deviceInfo?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  /** Set when keep was asked for: recovery finishes the keep with these details. */
  keepRequested?: boolean;
  /** Why the local copy is still here after the upload (e.g. the server's hash differed). */
  problem?: string;
  /** The server refused the upload for good (e.g. 415): this copy is the only one; Try again resends it. */
  uploadRefused?: UploadRefusal;
}

export type NewTake = Omit<LocalTake, 'bytes' | 'chunkCount' | 'lastSeq' | 'state' | 'durationMs'> &
  Partial<Pick<LocalTake, 'state' | 'durationMs'>>;

interface ChunkRecord {
  takeId: string;
  seq: number;
  offset: number;
  size: number;
  data: ArrayBuffer;
}

export class TakeStoreError extends Error {
  constructor(
    readonly code: 'TAKE_NOT_FOUND' | 'TAKE_CLOSED' | 'QUOTA_EXCEEDED' | 'IDB_ERROR',
    message: string,
  ) {
    super(message);
    this.name = 'TakeStoreError';
  }
}

const DB_VERSION = 1;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Resolves when the transaction committed; rejects with its error (QuotaExceededError lands here). */
function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(wrap(tx.error));
    tx.onabort = () => reject(wrap(tx.error));
  });
}

function wrap(err: unknown): Error {
  if (err instanceof TakeStoreError) return err;
  const e = err as DOMException | null;
  if (e?.name === 'QuotaExceededError')
    return new TakeStoreError('QUOTA_EXCEEDED', 'This browser has no room left to store the recording');
  return new TakeStoreError('IDB_ERROR', `The browser's storage failed: ${e?.message ?? String(err)}`);
}

async function bytesOf(data: Blob | ArrayBuffer | Uint8Array): Promise<ArrayBuffer> {
  if (data instanceof ArrayBuffer) return data;
  if (data instanceof Uint8Array) return data.slice().buffer as ArrayBuffer;
  return data.arrayBuffer();
}

export class TakeStore {
  private constructor(private readonly db: IDBDatabase) {}

  static open(name = 'recorder'): Promise<TakeStore> {
    return new Promise((resolve, reject) => {
      const r = indexedDB.open(name, DB_VERSION);
      r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains('takes'))
          db.createObjectStore('takes', { keyPath: 'id' }).createIndex('byUser', 'userId');
        if (!db.objectStoreNames.contains('chunks'))
          db.createObjectStore('chunks', { keyPath: ['takeId', 'seq'] }).createIndex('byOffset', ['takeId', 'offset']);
      };
      r.onsuccess = () => {
        const db = r.result;
        // Another tab upgrading the schema: let it, this tab reopens on its next load.
        db.onversionchange = () => db.close();
        resolve(new TakeStore(db));
      };
      r.onerror = () => reject(wrap(r.error));
      r.onblocked = () =>
        reject(
          new TakeStoreError('IDB_ERROR', 'The recorder database is held by an older tab; close other Recorder tabs'),
        );
    });
  }

  close(): void {
    this.db.close();
  }

  private tx(stores: string[], mode: IDBTransactionMode): IDBTransaction {
    return mode === 'readwrite'
      ? this.db.transaction(stores, mode, { durability: 'strict' })
      : this.db.transaction(stores, mode);
  }

  async create(t: NewTake): Promise<LocalTake> {
    const take: LocalTake = { durationMs: 0, state: 'recording', ...t, bytes: 0, chunkCount: 0, lastSeq: -1 };
    const tx = this.tx(['takes'], 'readwrite');
    tx.objectStore('takes').add(take);
    await done(tx);
    return take;
  }

  /**
   * Stores one slice and advances the take's counters in the same transaction; resolves once committed.
   * Re-appending a seq already stored (a retry after an error whose commit did happen) is a no-op.
   */
  async appendChunk(
    id: string,
    seq: number,
    data: Blob | ArrayBuffer | Uint8Array,
    elapsedMs?: number,
  ): Promise<LocalTake> {
    // Read the bytes before opening the transaction: awaiting anything else inside it would commit it early.
    const buf = await bytesOf(data);
    return this.modify(id, ['takes', 'chunks'], (take, tx) => {
      if (take.state !== 'recording' && take.state !== 'stopped')
        return abort(tx, new TakeStoreError('TAKE_CLOSED', `Take ${id} is ${take.state}; no more bytes can be added`));
      if (seq <= take.lastSeq) return take; // already stored
      const chunk: ChunkRecord = { takeId: id, seq, offset: take.bytes, size: buf.byteLength, data: buf };
      tx.objectStore('chunks').add(chunk);
      return {
        ...take,
        bytes: take.bytes + buf.byteLength,
        chunkCount: take.chunkCount + 1,
        lastSeq: seq,
        durationMs: elapsedMs !== undefined ? Math.max(take.durationMs, elapsedMs) : take.durationMs,
      };
    });
  }

  /** Read-modify-write of the take record in one transaction (IndexedDB serialises it with appends). */
  async update(
    id: string,
    patch: Partial<Omit<LocalTake, 'id' | 'userId' | 'bytes' | 'chunkCount' | 'lastSeq'>>,
  ): Promise<LocalTake> {
    return this.modify(id, ['takes'], (take) => ({ ...take, ...patch }));
  }

  /**
   * Drops every trace of the take's server side (session, upload, recording, problem) so it is sent
   * again as a new session + upload; `patch` is applied in the same transaction.
   */
  async forgetServer(id: string, patch: Partial<Pick<LocalTake, 'state' | 'metadata'>> = {}): Promise<LocalTake> {
    return this.modify(id, ['takes'], (take) => {
      const { sessionId: _s, recordingId: _r, problem: _p, ...rest } = withoutUpload(take);
      return { ...rest, ...patch };
    });
  }

  /** Drops the take's upload (URL, offset, refusal) but keeps its session: the next link starts a new upload. */
  async forgetUpload(id: string): Promise<LocalTake> {
    return this.modify(id, ['takes'], withoutUpload);
  }

  /**
   * Reads take `id` and stores what `change` makes of it, in one readwrite transaction over `stores`;
   * resolves with the stored take once committed. `change` may abort the transaction (abort()), or
   * return the take itself to leave it as it is. No take with that id: TAKE_NOT_FOUND.
   */
  private async modify(
    id: string,
    stores: string[],
    change: (take: LocalTake, tx: IDBTransaction) => LocalTake | undefined,
  ): Promise<LocalTake> {
    const tx = this.tx(stores, 'readwrite');
    const takes = tx.objectStore('takes');
    const committed = done(tx);
    let result: LocalTake | undefined;
    const r = takes.get(id);
    r.onsuccess = () => {
      const take = r.result as LocalTake | undefined;
      if (!take) return abort(tx, new TakeStoreError('TAKE_NOT_FOUND', `No local take ${id}`));
      const next = change(take, tx);
      if (!next) return; // aborted
      result = next;
      if (next !== take) takes.put(next);
    };
    await committed.catch((err: unknown) => {
      throw (tx as { recorderError?: Error }).recorderError ?? err;
    });
    return result!;
  }

  async get(id: string): Promise<LocalTake | undefined> {
    return req(this.tx(['takes'], 'readonly').objectStore('takes').get(id)) as Promise<LocalTake | undefined>;
  }

  /** The user's takes, newest first. */
  async list(userId: string): Promise<LocalTake[]> {
    const all = (await req(
      this.tx(['takes'], 'readonly').objectStore('takes').index('byUser').getAll(userId),
    )) as LocalTake[];
    return all.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /**
   * The whole take as one Blob, read chunk by chunk: each chunk becomes its own Blob as the cursor
   * passes, so script memory holds one chunk at a time (a 2 GB take read with getAll would hold it
   * all as ArrayBuffers at once and crash the page); the browser keeps Blob bytes outside the JS heap.
   */
  async blob(id: string): Promise<Blob> {
    const take = await this.get(id);
    const parts: Blob[] = [];
    await this.eachChunk(id, (c) => parts.push(new Blob([c.data])));
    return new Blob(parts, { type: take?.mimeType ?? '' });
  }

  /** The take's bytes from byteOffset to the end (what a resumed upload still has to send). */
  async chunksFrom(id: string, byteOffset: number): Promise<Blob> {
    const take = await this.get(id);
    const bytes = await this.range(id, byteOffset, Number.MAX_SAFE_INTEGER);
    return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: take?.mimeType ?? '' });
  }

  /**
   * Bytes [start, end) of the take, cut at what is stored. Finds the chunk holding `start` through the
   * offset index (no need to read the chunks before it), then reads forward.
   */
  async range(id: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const tx = this.tx(['chunks'], 'readonly');
    const byOffset = tx.objectStore('chunks').index('byOffset');
    const first = await req(byOffset.openCursor(IDBKeyRange.bound([id, 0], [id, start]), 'prev'));
    const from = first ? (first.value as ChunkRecord).offset : 0;
    const parts: Uint8Array[] = [];
    let total = 0;
    await new Promise<void>((resolve, reject) => {
      const c = byOffset.openCursor(IDBKeyRange.bound([id, from], [id, end], false, true));
      c.onerror = () => reject(c.error);
      c.onsuccess = () => {
        const cur = c.result;
        if (!cur) return resolve();
        const ch = cur.value as ChunkRecord;
        const a = Math.max(start, ch.offset) - ch.offset;
        const b = Math.min(end, ch.offset + ch.size) - ch.offset;
        if (b > a) {
          parts.push(new Uint8Array(ch.data, a, b - a));
          total += b - a;
        }
        cur.continue();
      };
    });
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /** Calls fn with each stored chunk's bytes, in order (hashing a take without holding it all in memory). */
  async forEachChunk(id: string, fn: (bytes: Uint8Array) => void): Promise<void> {
    await this.eachChunk(id, (c) => fn(new Uint8Array(c.data)));
  }

  private async eachChunk(id: string, fn: (c: ChunkRecord) => void): Promise<void> {
    const tx = this.tx(['chunks'], 'readonly');
    await new Promise<void>((resolve, reject) => {
      const c = tx.objectStore('chunks').openCursor(IDBKeyRange.bound([id, -1], [id, MAX_SEQ]));
      c.onerror = () => reject(c.error);
      c.onsuccess = () => {
        const cur = c.result;
        if (!cur) return resolve();
        fn(cur.value as ChunkRecord);
        cur.continue();
      };
    });
  }

  /** Removes the chunks but keeps the take record (counters zeroed): a tombstone saying where the take went. */
  async deleteChunks(id: string): Promise<void> {
    const tx = this.tx(['takes', 'chunks'], 'readwrite');
    tx.objectStore('chunks').delete(IDBKeyRange.bound([id, -1], [id, MAX_SEQ]));
    const takes = tx.objectStore('takes');
    const r = takes.get(id);
    r.onsuccess = () => {
      const take = r.result as LocalTake | undefined;
      if (take) takes.put({ ...take, bytes: 0, chunkCount: 0 });
    };
    await done(tx);
  }

  /** The take and all its chunks, in one transaction. */
  async delete(id: string): Promise<void> {
    const tx = this.tx(['takes', 'chunks'], 'readwrite');
    tx.objectStore('chunks').delete(IDBKeyRange.bound([id, -1], [id, MAX_SEQ]));
    tx.objectStore('takes').delete(id);
    await done(tx);
  }
}

function withoutUpload(take: LocalTake): LocalTake {
  const { uploadUrl: _u, serverOffset: _o, uploadRefused: _r, ...rest } = take;
  return rest;
}

/** Aborts the transaction with our own error (tx.error is null after a deliberate abort); no take to store. */
function abort(tx: IDBTransaction, err: Error): undefined {
  (tx as { recorderError?: Error }).recorderError = err;
  tx.abort();
  return undefined;
}

/** Asks the browser not to evict our database under storage pressure; false when it declined or cannot. */
export async function requestPersistentStorage(): Promise<boolean> {
  const s = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!s?.persist) return false;
  try {
    return (await s.persisted?.()) || (await s.persist());
  } catch {
    return false;
  }
}

/** Free space the browser grants this origin, when it says (bytes), for a warning before recording. */
export async function storageEstimate(): Promise<{ usage: number; quota: number } | undefined> {
  const s = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!s?.estimate) return undefined;
  const e = await s.estimate().catch(() => undefined);
  return e && e.quota !== undefined ? { usage: e.usage ?? 0, quota: e.quota } : undefined;
}
