/**
 * The persistence layer end to end against a REAL Recorder server (embedded PostgreSQL, tus uploads,
 * part A's /api/sessions) with the real tus-js-client, and a real IndexedDB implementation:
 * fake-indexeddb (a complete JavaScript IndexedDB, the alternative to a browser's in Node).
 *
 * The recorder is a stand-in fed with a real WebM (made by ffmpeg the way MediaRecorder writes it)
 * cut into one slice per second: MediaRecorder exists only in browsers; the e2e tests drive the real one.
 * Web Locks are absent in Node: the code degrades to its in-page registry.
 *
 * Jobs are disabled so the stored object stays the uploaded bytes (processing would remux a
 * MediaRecorder WebM): file_size and GET /media can then be compared with what was recorded.
 */
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listKeptTakes } from '../../src/web/persist/library.ts';
import {
  dropUnfinished,
  findUnfinishedTakes,
  recoverTake,
  verifyUploadedTakes,
} from '../../src/web/persist/recovery.ts';
import { TakeManager, type TakeStatus } from '../../src/web/persist/take-manager.ts';
import { TakeStore, TakeStoreError } from '../../src/web/persist/take-store.ts';
import { connect, pgTargets } from '../support/db.ts';
import {
  FileRecorder,
  recorderStyleWebm,
  restartableServer,
  testUser,
  until,
  type RestartableServer,
  type TestUser,
} from './support/persist-server.ts';

const SECONDS = 6;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const target = pgTargets()[0]!;

let dir: string;
let media: Uint8Array;
let srv: RestartableServer;
let user: TestUser;
let store: TakeStore;

function manager(storage: 'server' | 'browser' = 'server'): TakeManager {
  return new TakeManager({
    store,
    userId: user.userId,
    storage,
    baseUrl: srv.url,
    fetchImpl: user.fetchImpl,
    uploadHeaders: user.headers,
    uploadRetryDelays: [0, 200, 500],
    maxBackoffMs: 1000,
  });
}

async function get<T = Record<string, unknown>>(p: string): Promise<{ status: number; body: T }> {
  const res = await user.fetchImpl(`${srv.url}${p}`);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function recordingRow(id: string) {
  const c = await connect(srv.dbUrl);
  try {
    const { rows } = await c.query<{
      file_size: string;
      duration: number;
      title: string;
      metadata: Record<string, unknown>;
    }>('SELECT file_size, duration, title, metadata FROM recordings WHERE id = $1', [id]);
    return rows[0];
  } finally {
    await c.end();
  }
}

async function sessionRow(id: string) {
  const c = await connect(srv.dbUrl);
  try {
    const { rows } = await c.query<{ status: string; recording_id: string | null }>(
      'SELECT status, recording_id FROM recording_sessions WHERE id = $1',
      [id],
    );
    return rows[0];
  } finally {
    await c.end();
  }
}

async function mediaBytes(id: string): Promise<Uint8Array> {
  const res = await user.fetchImpl(`${srv.url}/api/recordings/${id}/media`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** Feeds the whole file, one slice every `everyMs`, checking `each` after every slice. */
async function record(rec: FileRecorder, everyMs: number, each?: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < rec.slices; i++) {
    rec.feed(1);
    await sleep(everyMs);
    await each?.(i);
  }
  await rec.stop();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-persist-media-'));
  media = new Uint8Array(fs.readFileSync(await recorderStyleWebm(dir, SECONDS)));
  srv = await restartableServer(target, { JOBS_ENABLED: 'false' });
  user = await testUser(srv.url);
});

afterAll(async () => {
  await srv?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  store = await TakeStore.open(`recorder-${Math.random().toString(36).slice(2)}`);
});

describe('live upload to a real server', () => {
  it(
    'streams each slice while recording, keeps, and deletes the local ' + 'copy only after the size and sha256 match',
    async () => {
      const m = manager();
      const statuses: TakeStatus[] = [];
      m.onStatus((s) => statuses.push(s));
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, {
        mode: 'camera',
        quality: 'low',
        deviceInfo: { camera: 'fake' },
        settings: { fps: 15 },
      });
      await record(rec, 250);
      // Bytes reached the server while the take was still recording, not only at keep.
      expect(statuses.some((s) => s.state === 'recording' && s.serverBytes > 0)).toBe(true);
      await until('all bytes acknowledged before keep', () => m.status(take.id)?.serverBytes === media.byteLength);
      expect(await store.get(take.id)).toMatchObject({
        state: 'stopped',
        bytes: media.byteLength,
        chunkCount: SECONDS,
      });

      const sessionId = (await store.get(take.id))!.sessionId!;
      expect(await sessionRow(sessionId)).toMatchObject({ status: 'active', recording_id: null });
      const progress: number[] = [];
      const kept = await m.keep(take.id, { title: 'Morning take', description: 'first' }, (sent) =>
        progress.push(sent),
      );
      expect(kept).toMatchObject({ verified: true, localId: take.id });
      expect(kept.recordingId).toMatch(/^\d+$/);
      expect(await store.get(take.id)).toBeUndefined();
      expect((await store.blob(take.id)).size).toBe(0);

      const row = (await recordingRow(kept.recordingId!))!;
      expect(Number(row.file_size)).toBe(media.byteLength);
      expect(Math.abs(row.duration - SECONDS)).toBeLessThanOrEqual(1);
      expect(row.title).toBe('Morning take');
      expect(row.metadata).toMatchObject({ upload_sha256: sha(media), upload_size: media.byteLength });
      expect(sha(await mediaBytes(kept.recordingId!))).toBe(sha(media));
      expect(await sessionRow(sessionId)).toMatchObject({ status: 'completed', recording_id: kept.recordingId });
      expect(progress.at(-1)).toBe(media.byteLength);
      await m.close();
    },
  );

  it.each([
    ['stopped (SIGTERM)', 'stop'],
    ['killed (SIGKILL)', 'kill'],
  ] as const)(
    'a server %s mid-take and started again on the same data: the take still arrives whole and byte-identical',
    async (_, how) => {
      const m = manager();
      const statuses: TakeStatus[] = [];
      m.onStatus((s) => statuses.push(s));
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'screen', quality: 'medium', deviceInfo: {} });
      let offsetAtStop = 0;
      await record(rec, 250, async (i) => {
        if (i === 1) {
          offsetAtStop = await until('some bytes on the server', () => m.status(take.id)!.serverBytes || undefined);
          await srv[how]();
        }
        if (i === 3) {
          // Recording went on locally while the server was down.
          expect((await store.get(take.id))!.bytes).toBe(rec.fed);
          await until('the outage to be noticed', () => statuses.some((s) => !s.serverReachable));
          await srv.start();
        }
      });
      expect(offsetAtStop).toBeGreaterThan(0);
      expect(offsetAtStop).toBeLessThan(media.byteLength);
      const kept = await m.keep(take.id, { title: 'Across a restart' });
      expect(kept.verified).toBe(true);
      const row = (await recordingRow(kept.recordingId!))!;
      expect(Number(row.file_size)).toBe(media.byteLength);
      expect(sha(await mediaBytes(kept.recordingId!))).toBe(sha(media));
      expect(await store.get(take.id)).toBeUndefined();
      await m.close();
    },
  );

  it(
    'recovers a take whose page died mid-recording: a new page finds it, ' + 'uploads what the server lacks, keeps it',
    async () => {
      const a = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await a.begin(rec, { mode: 'camera', quality: 'high', deviceInfo: {} });
      rec.feed(3);
      const onServer = rec.fed;
      await until('three slices on the server', () => a.status(take.id)?.serverBytes === onServer);
      // The server dies; the fourth slice is only in this browser when the page dies too.
      await srv.kill();
      rec.feed(1);
      const local = await until('four slices stored', async () =>
        (await store.get(take.id))?.chunkCount === 4 ? await store.get(take.id) : undefined,
      );
      await a.close();
      await srv.start();
      // The tab had closed: pagehide's keepalive interrupt (here sent once the server is back).
      const sessionId = local.sessionId!;
      await a.sessions.interrupt(sessionId, 'The page was closed during the take');

      const b = manager();
      const found = await findUnfinishedTakes(store, user.userId, 'server', { client: b.client });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        localId: take.id,
        sessionId,
        where: 'both',
        mode: 'camera',
        localBytes: local.bytes,
        serverBytes: onServer,
      });
      expect(onServer).toBeLessThan(local.bytes);
      const r = await recoverTake(store, b, found[0]!);
      expect(r.verified).toBe(true);
      const row = (await recordingRow(r.recordingId!))!;
      expect(Number(row.file_size)).toBe(local.bytes);
      expect(Number(row.file_size)).toBeGreaterThanOrEqual(rec.fed);
      expect(row.title).toMatch(/^Recovered camera recording — /);
      expect(sha(await mediaBytes(r.recordingId!))).toBe(sha(media.slice(0, local.bytes)));
      expect(row.duration).toBeGreaterThanOrEqual(3);
      expect(await store.get(take.id)).toBeUndefined();
      expect(await findUnfinishedTakes(store, user.userId, 'server', { client: b.client })).toEqual([]);
      await b.close();
    },
  );

  it(
    'recovers from the server alone when this browser lost its copy: the ' +
      'zero-byte final PATCH finishes what the server has',
    async () => {
      const a = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await a.begin(rec, { mode: 'audio', quality: 'low', deviceInfo: {} });
      rec.feed(3);
      const fed = rec.fed;
      await until('three slices on the server', () => a.status(take.id)?.serverBytes === fed);
      const sessionId = (await store.get(take.id))!.sessionId!;
      await a.sessions.interrupt(sessionId, 'browser crashed');
      await a.close();
      await store.delete(take.id); // site data cleared

      const b = manager();
      const found = await findUnfinishedTakes(store, user.userId, 'server', { client: b.client });
      expect(found).toEqual([expect.objectContaining({ sessionId, where: 'server', serverBytes: fed, localBytes: 0 })]);
      const r = await recoverTake(store, b, found[0]!);
      const row = (await recordingRow(r.recordingId!))!;
      expect(Number(row.file_size)).toBe(fed);
      expect(row.metadata).toMatchObject({ upload_size: fed, upload_sha256: sha(media.slice(0, fed)) });
      await b.close();
    },
  );

  it(
    'finishes a take whose page died after the server finished but before it saw the ' +
      'answer (HEAD 404 → the session names the recording)',
    async () => {
      const a = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await a.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
      await record(rec, 50);
      // What keep does up to the final PATCH, then the page dies before reading the answer.
      const live = (
        a as unknown as { live: Map<string, { upload?: { finalize(): void; done: Promise<{ recordingId: string }> } }> }
      ).live.get(take.id)!;
      await until('the upload', () => live.upload);
      live.upload!.finalize();
      const { recordingId } = await live.upload!.done;
      await a.close();

      const b = manager();
      const found = await findUnfinishedTakes(store, user.userId, 'server', { client: b.client });
      expect(found).toEqual([expect.objectContaining({ localId: take.id, where: 'local' })]);
      const r = await recoverTake(store, b, found[0]!);
      expect(r).toMatchObject({ recordingId, verified: true });
      expect(await store.get(take.id)).toBeUndefined();
      const list = await get<{ items: unknown[] }>('/api/recordings?limit=100');
      expect(list.body.items.filter((x) => (x as { id: string }).id === recordingId)).toHaveLength(1);
      await b.close();
    },
  );
});

describe('throwing a take away', () => {
  it('discard: the upload is deleted, the session discarded (never offered again), the local take gone', async () => {
    const m = manager();
    const rec = new FileRecorder(media, SECONDS);
    const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
    rec.feed(2);
    const fed = rec.fed;
    await until('bytes on the server', () => m.status(take.id)?.serverBytes === fed);
    const { sessionId, uploadUrl } = (await store.get(take.id))!;
    await rec.stop();
    await m.discard(take.id);
    expect(await store.get(take.id)).toBeUndefined();
    expect(
      (await get<{ discarded: boolean; recordingId: string | null }>(`/api/sessions/${sessionId}`)).body,
    ).toMatchObject({ discarded: true, recordingId: null });
    const head = await fetch(uploadUrl!, { method: 'HEAD', headers: { ...user.headers, 'Tus-Resumable': '1.0.0' } });
    expect([404, 410]).toContain(head.status);
    expect(await findUnfinishedTakes(store, user.userId, 'server', { client: m.client })).toEqual([]);
    await m.close();
  });

  it('dropUnfinished: an abandoned take the user does not want is removed on both sides', async () => {
    const a = manager();
    const rec = new FileRecorder(media, SECONDS);
    const take = await a.begin(rec, { mode: 'screen-camera', quality: 'low', deviceInfo: {} });
    rec.feed(2);
    const fed = rec.fed;
    await until('bytes on the server', () => a.status(take.id)?.serverBytes === fed);
    const sessionId = (await store.get(take.id))!.sessionId!;
    await a.sessions.interrupt(sessionId, 'tab closed');
    await a.close();
    const found = await findUnfinishedTakes(store, user.userId, 'server', { client: a.client });
    expect(found).toEqual([expect.objectContaining({ localId: take.id, where: 'both' })]);
    await dropUnfinished(store, found[0]!, a.client);
    expect(await store.get(take.id)).toBeUndefined();
    expect((await get<{ discarded: boolean }>(`/api/sessions/${sessionId}`)).body.discarded).toBe(true);
    expect(await findUnfinishedTakes(store, user.userId, 'server', { client: a.client })).toEqual([]);
  });
});

describe('when something is wrong', () => {
  it('keeps the local copy and says why when the server’s bytes differ from ours', async () => {
    const m = manager();
    const rec = new FileRecorder(media, SECONDS);
    const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
    await record(rec, 10);
    const kept = await m.keep(take.id, { title: 'the real one' });
    // A second local take claiming that recording, with other bytes (a server that stored something else).
    const other = await store.create({
      id: 'impostor',
      userId: user.userId,
      storage: 'server',
      mode: 'camera',
      quality: 'low',
      mimeType: rec.mimeType,
      startedAt: new Date().toISOString(),
    });
    await store.appendChunk(other.id, 1, media.slice(0, 1000));
    await store.update(other.id, { state: 'uploaded', recordingId: kept.recordingId! });
    const results = await verifyUploadedTakes(store, m);
    expect(results).toEqual([
      expect.objectContaining({
        localId: 'impostor',
        verified: false,
        problem: expect.stringMatching(/received \d+ bytes, this browser recorded 1000/),
      }),
    ]);
    expect(await store.get('impostor')).toMatchObject({ bytes: 1000, problem: expect.any(String) });
    expect((await store.blob('impostor')).size).toBe(1000);
    await m.close();
  });

  it(
    'stops the recording cleanly when the browser’s storage is full, keeps what ' +
      'was stored, and the server still gets every byte',
    async () => {
      store = await TakeStore.open(`recorder-full-${Math.random().toString(36).slice(2)}`);
      let n = 0;
      const append = store.appendChunk.bind(store);
      // The quota runs out on the third slice: what an IndexedDB transaction aborting with QuotaExceededError gives.
      store.appendChunk = (...a) =>
        ++n >= 3
          ? Promise.reject(new TakeStoreError('QUOTA_EXCEEDED', 'This browser has no room left to store the recording'))
          : append(...a);
      const m = manager();
      const statuses: TakeStatus[] = [];
      m.onStatus((s) => statuses.push(s));
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
      rec.feed(3);
      await until('the recorder to be stopped', () => rec.stopCalls > 0);
      expect(statuses.at(-1)!.problem).toMatchObject({ code: 'LOCAL_STORAGE_FULL' });
      const stored = (await store.get(take.id))!;
      expect(stored).toMatchObject({ chunkCount: 2, state: 'stopped' });
      const kept = await m.keep(take.id, { title: 'cut short' });
      expect(kept.verified).toBe(true);
      expect(Number((await recordingRow(kept.recordingId!))!.file_size)).toBe(rec.fed);
      await m.close();
    },
  );
});

describe('browser-only mode', () => {
  it('keeps the take in IndexedDB, lists it, plays it back byte-identical, and never calls the server', async () => {
    let calls = 0;
    const m = new TakeManager({
      store,
      userId: user.userId,
      storage: 'browser',
      baseUrl: srv.url,
      fetchImpl: (...a) => {
        calls++;
        return user.fetchImpl(...a);
      },
    });
    const rec = new FileRecorder(media, SECONDS);
    const take = await m.begin(rec, { mode: 'slides', quality: 'medium', deviceInfo: {} });
    await record(rec, 10);
    expect(await m.keep(take.id, { title: 'Local only' })).toEqual({ localId: take.id });
    const kept = await listKeptTakes(store, user.userId);
    expect(kept).toEqual([
      expect.objectContaining({
        id: take.id,
        title: 'Local only',
        state: 'kept',
        bytes: media.byteLength,
        durationMs: SECONDS * 1000,
      }),
    ]);
    expect(sha(new Uint8Array(await (await store.blob(take.id)).arrayBuffer()))).toBe(sha(media));
    expect(calls).toBe(0);
    expect(await findUnfinishedTakes(store, user.userId, 'browser')).toEqual([]);
    await m.close();
  });
});
