/**
 * TakeStore on a real IndexedDB implementation: fake-indexeddb is a complete, spec-following
 * IndexedDB written in JavaScript (it passes most of the W3C web-platform tests), the alternative to a
 * browser's that runs in Node. `fake-indexeddb/auto` installs it as the global indexedDB.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TakeStore, TakeStoreError, type LocalTake } from '../../src/web/persist/take-store.ts';
import { TakeSource } from '../../src/web/persist/take-source.ts';
import { holdTakeLock, isTakeLockFree } from '../../src/web/persist/locks.ts';
import { InProcessLockManager } from './support/web-locks.ts';

let store: TakeStore;
let dbName: string;

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const take = (id: string, userId = 'u1', startedAt = new Date().toISOString()) =>
  store.create({
    id,
    userId,
    storage: 'server',
    mode: 'camera',
    quality: 'high',
    mimeType: 'video/webm;codecs=vp9,opus',
    startedAt,
  });

async function text(b: Blob): Promise<Uint8Array> {
  return new Uint8Array(await b.arrayBuffer());
}

beforeEach(async () => {
  dbName = `recorder-test-${Math.random().toString(36).slice(2)}`;
  store = await TakeStore.open(dbName);
});
afterEach(() => {
  store.close();
  indexedDB.deleteDatabase(dbName);
});

describe('TakeStore', () => {
  it('appends chunks in seq order, keeps the counters in step, and concatenates them in order', async () => {
    await take('t1');
    const parts = [bytes(1000, 1), bytes(1, 2), bytes(4096, 3), bytes(777, 4)];
    let last: LocalTake | undefined;
    for (const [i, p] of parts.entries()) last = await store.appendChunk('t1', i, new Blob([p]), (i + 1) * 1000);
    expect(last).toMatchObject({ bytes: 5874, chunkCount: 4, lastSeq: 3, durationMs: 4000 });
    expect(await store.get('t1')).toMatchObject({ bytes: 5874, chunkCount: 4, state: 'recording' });
    const all = await text(await store.blob('t1'));
    expect(all).toEqual(Uint8Array.from(parts.flatMap((p) => [...p])));
    expect((await store.blob('t1')).type).toBe('video/webm;codecs=vp9,opus');
  });

  it('orders by seq even when seqs are sparse (the recorder may start at 1 or skip empty slices)', async () => {
    await take('t1');
    await store.appendChunk('t1', 1, bytes(10, 1));
    await store.appendChunk('t1', 5, bytes(10, 5));
    await store.appendChunk('t1', 12, bytes(10, 12));
    expect(await text(await store.blob('t1'))).toEqual(
      Uint8Array.from([...bytes(10, 1), ...bytes(10, 5), ...bytes(10, 12)]),
    );
  });

  it('treats a re-sent seq as already stored (no double bytes) and refuses appends to a closed take', async () => {
    await take('t1');
    await store.appendChunk('t1', 0, bytes(100, 1));
    const again = await store.appendChunk('t1', 0, bytes(100, 1));
    expect(again).toMatchObject({ bytes: 100, chunkCount: 1 });
    await store.update('t1', { state: 'kept' });
    await expect(store.appendChunk('t1', 1, bytes(5, 1))).rejects.toMatchObject({ code: 'TAKE_CLOSED' });
    await expect(store.appendChunk('nope', 0, bytes(5, 1))).rejects.toBeInstanceOf(TakeStoreError);
    expect(await store.get('t1')).toMatchObject({ bytes: 100, chunkCount: 1 });
  });

  it('keeps counters exact under concurrent appends and updates (one transaction each)', async () => {
    await take('t1');
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      ps.push(store.appendChunk('t1', i, bytes(100 + i, i)));
      if (i % 10 === 0) ps.push(store.update('t1', { serverOffset: i }));
    }
    await Promise.all(ps);
    const t = (await store.get('t1'))!;
    const expected = Array.from({ length: 50 }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
    expect(t).toMatchObject({ bytes: expected, chunkCount: 50, lastSeq: 49, serverOffset: 40 });
    expect((await store.blob('t1')).size).toBe(expected);
  });

  it('chunksFrom and range return exactly the bytes from any offset, across chunk boundaries', async () => {
    await take('t1');
    const parts = [bytes(300, 1), bytes(200, 2), bytes(0, 3), bytes(500, 4)];
    for (const [i, p] of parts.entries()) await store.appendChunk('t1', i, p);
    const all = Uint8Array.from(parts.flatMap((p) => [...p]));
    for (const off of [0, 1, 299, 300, 301, 499, 500, 501, 999, 1000, 1200]) {
      expect(await text(await store.chunksFrom('t1', off)), `from ${off}`).toEqual(all.slice(off));
    }
    expect(await store.range('t1', 250, 650)).toEqual(all.slice(250, 650));
    expect(await store.range('t1', 500, 500)).toEqual(new Uint8Array(0));
  });

  it('lists a user’s takes newest first, never another user’s', async () => {
    await take('a', 'u1', '2026-01-01T00:00:00.000Z');
    await take('b', 'u1', '2026-03-01T00:00:00.000Z');
    await take('c', 'u2', '2026-02-01T00:00:00.000Z');
    expect((await store.list('u1')).map((t) => t.id)).toEqual(['b', 'a']);
    expect((await store.list('u2')).map((t) => t.id)).toEqual(['c']);
  });

  it('delete removes the take and all its chunks, and nothing of another take', async () => {
    await take('t1');
    await take('t2');
    for (let i = 0; i < 5; i++) {
      await store.appendChunk('t1', i, bytes(10, i));
      await store.appendChunk('t2', i, bytes(20, i));
    }
    await store.delete('t1');
    expect(await store.get('t1')).toBeUndefined();
    expect((await store.blob('t1')).size).toBe(0);
    expect((await store.blob('t2')).size).toBe(100);
    await store.deleteChunks('t2');
    expect(await store.get('t2')).toMatchObject({ bytes: 0, chunkCount: 0 });
    expect((await store.blob('t2')).size).toBe(0);
  });

  it('a reopened database still has every committed chunk (what a killed browser finds)', async () => {
    await take('t1');
    for (let i = 0; i < 3; i++) await store.appendChunk('t1', i, bytes(64, i));
    store.close();
    store = await TakeStore.open(dbName);
    expect(await store.get('t1')).toMatchObject({ bytes: 192, chunkCount: 3 });
    expect((await store.blob('t1')).size).toBe(192);
  });
});

describe('TakeSource', () => {
  it('serves any offset after the server acknowledged it: from memory, else from IndexedDB', async () => {
    await take('t1');
    const src = new TakeSource(store, 't1');
    const parts = [bytes(100, 1), bytes(100, 2), bytes(100, 3)];
    for (const [i, p] of parts.entries()) {
      await store.appendChunk('t1', i, p);
      src.push(p, true);
    }
    src.ack(300); // all acknowledged and durable: memory is released
    const all = Uint8Array.from(parts.flatMap((p) => [...p]));
    // A restarted server that reports a lower offset still gets the right bytes (from IndexedDB).
    expect(await src.read(50, 250)).toEqual(all.slice(50, 250));
    const p4 = bytes(100, 4);
    src.push(p4, false); // not (yet) durable: must stay in memory whatever the server says
    src.ack(400);
    expect(await src.read(250, 400)).toEqual(Uint8Array.from([...all.slice(250), ...p4]));
  });

  it('slice waits for bytes beyond start while recording, and says done only once finalized', async () => {
    await take('t1');
    const src = new TakeSource(store, 't1');
    const { reader, close } = src.reader();
    const file = (await reader.openFile()) as {
      slice(a: number, b: number): Promise<{ value: Uint8Array & { size: number }; done: boolean }>;
    };
    src.push(bytes(10, 1), false);
    expect(await file.slice(0, 1000)).toMatchObject({ done: false, value: { size: 10 } });
    let settled = false;
    const pending = file.slice(10, 1000).then((r) => {
      settled = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    src.push(bytes(5, 2), false);
    expect(await pending).toMatchObject({ done: false, value: { size: 5 } });
    const last = file.slice(15, 1000);
    src.finalize();
    expect(await last).toMatchObject({ done: true, value: { size: 0 } });
    // An aborted Upload's pending slice rejects instead of sending a stray PATCH later.
    const src2 = new TakeSource(store, 't1');
    const r2 = src2.reader();
    const f2 = (await r2.reader.openFile()) as { slice(a: number, b: number): Promise<unknown> };
    const p2 = f2.slice(0, 10);
    r2.close();
    await expect(p2).rejects.toThrow('upload stopped');
    close();
  });
});

describe('reading a whole take', () => {
  it(
    'builds the Blob chunk by chunk with a cursor (never getAll: a 2 GB ' +
      'take must not sit in script memory at once)',
    async () => {
      await take('big');
      const parts = Array.from({ length: 20 }, (_, i) => bytes(10_000 + i, i));
      for (const [i, p] of parts.entries()) await store.appendChunk('big', i, p);
      const getAll = vi.spyOn(IDBObjectStore.prototype, 'getAll');
      const indexGetAll = vi.spyOn(IDBIndex.prototype, 'getAll');
      try {
        const b = await store.blob('big');
        expect(getAll).not.toHaveBeenCalled();
        expect(indexGetAll).not.toHaveBeenCalled();
        expect(await text(b)).toEqual(Uint8Array.from(parts.flatMap((p) => [...p])));
      } finally {
        getAll.mockRestore();
        indexGetAll.mockRestore();
      }
    },
  );
});

describe('take locks (Web Locks)', () => {
  it(
    'checking whether a take is free never takes its lock: a page ' + 'starting that take at that moment still gets it',
    async () => {
      const locks = new InProcessLockManager();
      vi.stubGlobal('navigator', { locks });
      try {
        const checking = isTakeLockFree('t-race');
        const release = await holdTakeLock('t-race');
        expect(release).toBeTypeOf('function');
        expect(await checking).toBe(true);
        expect(await isTakeLockFree('t-race')).toBe(false);
        expect((await locks.query()).held).toEqual([expect.objectContaining({ name: 'recorder-take-t-race' })]);
        release!();
        await new Promise((r) => setTimeout(r, 0)); // the browser frees the lock once the holder's promise settles
        expect(await isTakeLockFree('t-race')).toBe(true);
      } finally {
        vi.unstubAllGlobals();
      }
    },
  );
});
