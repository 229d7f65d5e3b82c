/**
 * The persistence layer when something goes wrong on the way (review findings): a slice the browser
 * cannot read, a status listener that throws, the server refusing to open a session, a session thrown
 * away elsewhere, a discard racing the session's creation, a take still live on another device, and
 * uploaded takes whose check fails. Real server (own process, embedded PostgreSQL), real tus-js-client,
 * fake-indexeddb as the IndexedDB; see persist.upload.test.ts for the happy paths.
 */
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findUnfinishedTakes, recoverTake, verifyUploadedTakes } from '../../src/web/persist/recovery.ts';
import { TakeManager, type TakeStatus } from '../../src/web/persist/take-manager.ts';
import { TakeStore } from '../../src/web/persist/take-store.ts';
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

const SECONDS = 4;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const target = pgTargets()[0]!;

let dir: string;
let media: Uint8Array;
let srv: RestartableServer;
let user: TestUser;
let store: TakeStore;

function manager(o: { store?: TakeStore; fetchImpl?: typeof fetch } = {}): TakeManager {
  return new TakeManager({
    store: o.store ?? store,
    userId: user.userId,
    storage: 'server',
    baseUrl: srv.url,
    fetchImpl: o.fetchImpl ?? user.fetchImpl,
    uploadHeaders: user.headers,
    uploadRetryDelays: [0, 200, 500],
    maxBackoffMs: 1000,
  });
}

async function api<T = Record<string, unknown>>(
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await user.fetchImpl(`${srv.url}${p}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function recordingRow(id: string) {
  const c = await connect(srv.dbUrl);
  try {
    const { rows } = await c.query<{
      file_size: string;
      duration: number;
      project_id: string | null;
      metadata: Record<string, unknown>;
    }>('SELECT file_size, duration, project_id, metadata FROM recordings WHERE id = $1', [id]);
    return rows[0];
  } finally {
    await c.end();
  }
}

async function recordAll(rec: FileRecorder): Promise<void> {
  for (let i = 0; i < rec.slices; i++) {
    rec.feed(1);
    await sleep(20);
  }
  await rec.stop();
}

/** A take stored in this browser only, as if recorded while the server was unreachable. */
async function localTake(
  id: string,
  bytes: Uint8Array,
  extra: Partial<Parameters<TakeStore['update']>[1]> & { startedAt?: string } = {},
) {
  const { startedAt, ...patch } = extra;
  await store.create({
    id,
    userId: user.userId,
    storage: 'server',
    mode: 'camera',
    quality: 'low',
    mimeType: 'video/webm',
    startedAt: startedAt ?? new Date().toISOString(),
  });
  const size = Math.ceil(bytes.byteLength / SECONDS);
  for (let i = 0, seq = 1; i < bytes.byteLength; i += size, seq++)
    await store.appendChunk(id, seq, bytes.slice(i, i + size), seq * 1000);
  return store.update(id, { state: 'stopped', ...patch });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-persist-faults-'));
  media = new Uint8Array(fs.readFileSync(await recorderStyleWebm(dir, SECONDS)));
  srv = await restartableServer(target, { JOBS_ENABLED: 'false' });
  user = await testUser(srv.url, 'faye');
});

afterAll(async () => {
  await srv?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  store = await TakeStore.open(`recorder-faults-${Math.random().toString(36).slice(2)}`);
});

describe('a slice or a listener failing mid-take', () => {
  it(
    'an unreadable slice and a throwing status listener stop the recording with ' +
      'a problem; keep still finishes what came before',
    async () => {
      const m = manager();
      const statuses: TakeStatus[] = [];
      let throwOnce = true;
      m.onStatus(() => {
        if (throwOnce) {
          throwOnce = false;
          throw new Error('a UI bug');
        }
      });
      m.onStatus((s) => statuses.push(s));
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
      rec.feed(2);
      const before = rec.fed;
      rec.feedUnreadable();
      rec.feed(1); // after the hole: dropped, never appended behind it
      await until('the recorder to be stopped', () => rec.stopCalls > 0);
      expect(statuses.at(-1)!.problem).toMatchObject({ code: 'CHUNK_UNREADABLE' });
      expect(await store.get(take.id)).toMatchObject({ chunkCount: 2, bytes: before, state: 'stopped' });
      const kept = await m.keep(take.id, { title: 'cut short' });
      expect(kept.verified).toBe(true);
      expect(Number((await recordingRow(kept.recordingId!))!.file_size)).toBe(before);
      await m.close();
    },
  );
});

describe('the server refusing the session', () => {
  it(
    'a recovered take older than a day (startedAt refused) opens its ' + 'session without startedAt and is kept',
    async () => {
      const old = new Date(Date.now() - 3 * 24 * 3600_000).toISOString();
      await localTake('old-take', media, { startedAt: old });
      const m = manager();
      const found = await findUnfinishedTakes(store, user.userId, 'server', { client: m.client });
      expect(found).toEqual([expect.objectContaining({ localId: 'old-take', where: 'local' })]);
      const r = await recoverTake(store, m, found[0]!);
      expect(r.verified).toBe(true);
      expect(Number((await recordingRow(r.recordingId!))!.file_size)).toBe(media.byteLength);
      await m.close();
    },
  );

  it(
    'a project that is gone: recording goes on, keep reports the refusal instead of ' +
      'hanging, and keeps once another project is chosen',
    async () => {
      const m = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'camera', quality: 'low', projectId: '987654321', deviceInfo: {} });
      await recordAll(rec);
      await until('all bytes on the server', () => m.status(take.id)?.serverBytes === media.byteLength);
      await expect(m.keep(take.id, { title: 'for a deleted project' })).rejects.toMatchObject({
        code: 'PROJECT_NOT_FOUND',
      });
      const kept = await m.keep(take.id, { title: 'personal after all', projectId: null });
      expect(kept.verified).toBe(true);
      expect((await recordingRow(kept.recordingId!))!.project_id).toBeNull();
      await m.close();
    },
  );

  it(
    'a refusal that repeats (an unknown recording type) is a problem ' + 'and a rejected keep, not an endless retry',
    async () => {
      const m = manager();
      const statuses: TakeStatus[] = [];
      m.onStatus((s) => statuses.push(s));
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'hologram' as 'camera', quality: 'low', deviceInfo: {} });
      await recordAll(rec);
      await expect(m.keep(take.id, { title: 'x' })).rejects.toMatchObject({ status: 400 });
      expect(statuses.some((s) => s.problem && /refused to open this take/.test(s.problem.message))).toBe(true);
      expect(await store.get(take.id)).toMatchObject({ bytes: media.byteLength, state: 'stopped' });
      await m.discard(take.id);
      await m.close();
    },
  );
});

describe('the session thrown away or raced', () => {
  it(
    'a session discarded in another tab: keep sends the whole take again ' +
      'from IndexedDB as a new session and upload',
    async () => {
      const m = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
      await recordAll(rec);
      await until('all bytes on the server', () => m.status(take.id)?.serverBytes === media.byteLength);
      const first = (await store.get(take.id))!.sessionId!;
      expect((await api('POST', `/api/sessions/${first}/discard`)).status).toBe(200);
      const kept = await m.keep(take.id, { title: 'saved anyway' });
      expect(kept.verified).toBe(true);
      const row = (await recordingRow(kept.recordingId!))!;
      expect(Number(row.file_size)).toBe(media.byteLength);
      expect(row.metadata).toMatchObject({ upload_sha256: sha(media) });
      expect(
        (await api<{ recordingId: string | null; discarded: boolean }>('GET', `/api/sessions/${first}`)).body,
      ).toMatchObject({ discarded: true, recordingId: null });
      await m.close();
    },
  );

  it(
    'discarded while its session was being created: the new session is ' + 'discarded too, never offered as unfinished',
    async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let creating = false;
      const slowCreate: typeof fetch = async (input, init) => {
        if (String(input).endsWith('/api/sessions') && init?.method === 'POST') {
          creating = true;
          await held;
        }
        return user.fetchImpl(input, init);
      };
      const m = manager({ fetchImpl: slowCreate });
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
      rec.feed(1);
      await until('the create to be on its way', () => creating);
      const discarding = m.discard(take.id);
      await sleep(50);
      release();
      await discarding;
      await sleep(300); // the create's answer arrives, the session is thrown away
      const c = await connect(srv.dbUrl);
      try {
        const { rows } = await c.query<{ discarded: boolean }>(
          `SELECT discarded_at IS NOT NULL AS discarded FROM recording_sessions WHERE settings->>'localTakeId' = $1`,
          [take.id],
        );
        expect(rows).toEqual([{ discarded: true }]);
      } finally {
        await c.end();
      }
      expect(await store.get(take.id)).toBeUndefined();
      await m.close();
    },
  );

  it(
    'a server-only take still heard from is not finished from here; once ' + 'it went quiet it is, with its duration',
    async () => {
      const a = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await a.begin(rec, { mode: 'audio', quality: 'low', deviceInfo: {} });
      rec.feed(2);
      const fed = rec.fed;
      await until('two slices on the server', () => a.status(take.id)?.serverBytes === fed);
      const sessionId = (await store.get(take.id))!.sessionId!;
      // The first device's tab was hidden (interrupted): another device lists the take as unfinished …
      await a.sessions.interrupt(sessionId, 'tab hidden');
      const other = await TakeStore.open(`recorder-other-device-${Math.random().toString(36).slice(2)}`);
      const b = manager({ store: other });
      const found = await findUnfinishedTakes(other, user.userId, 'server', { client: b.client });
      const t = found.find((x) => x.sessionId === sessionId)!;
      expect(t).toMatchObject({ where: 'server' });
      // … and then the tab came back and records on (its heartbeat makes the session active again).
      await a.sessions.heartbeat(sessionId, { durationMs: 2000 });
      await expect(recoverTake(other, b, t)).rejects.toMatchObject({ status: 409, code: 'TAKE_STILL_RECORDING' });

      await a.sessions.interrupt(sessionId, 'browser crashed');
      await a.close();
      const r = await recoverTake(other, b, t);
      const row = (await recordingRow(r.recordingId!))!;
      expect(Number(row.file_size)).toBe(fed);
      expect(row.duration).toBe(2);
      await b.close();
    },
  );
});

describe('uploaded takes whose check fails', () => {
  it(
    'verifyUploadedTakes checks every take (a deleted recording does not stop it); ' +
      'recovery sends the kept copy again as a new recording',
    async () => {
      const m = manager();
      const rec = new FileRecorder(media, SECONDS);
      const take = await m.begin(rec, { mode: 'camera', quality: 'low', deviceInfo: {} });
      await recordAll(rec);
      const kept = await m.keep(take.id, { title: 'the real one' });
      expect(kept.verified).toBe(true);

      // Newest first: the take whose recording was deleted is checked first and must not stop the rest.
      await localTake('impostor', media.slice(0, 1000), {
        state: 'uploaded',
        recordingId: kept.recordingId!,
        startedAt: new Date(Date.now() - 60_000).toISOString(),
      });
      await localTake('orphan', media, {
        state: 'uploaded',
        recordingId: '987654321',
        startedAt: new Date().toISOString(),
      });
      const results = await verifyUploadedTakes(store, m);
      expect(results).toEqual([
        expect.objectContaining({
          localId: 'orphan',
          verified: false,
          problem: expect.stringMatching(/no longer on the server/),
        }),
        expect.objectContaining({
          localId: 'impostor',
          verified: false,
          problem: expect.stringMatching(/received \d+ bytes, this browser recorded 1000/),
        }),
      ]);

      const found = await findUnfinishedTakes(store, user.userId, 'server', { client: m.client });
      expect(found).toEqual([
        expect.objectContaining({ localId: 'orphan', recordingId: '987654321', problem: expect.any(String) }),
        expect.objectContaining({ localId: 'impostor', recordingId: kept.recordingId, problem: expect.any(String) }),
      ]);
      const r = await recoverTake(store, m, found[1]!);
      expect(r.verified).toBe(true);
      expect(r.recordingId).not.toBe(kept.recordingId);
      expect(Number((await recordingRow(r.recordingId!))!.file_size)).toBe(1000);
      expect((await recordingRow(r.recordingId!))!.metadata).toMatchObject({
        resentAfterFailedCheckOf: kept.recordingId,
      });
      expect((await api('GET', `/api/recordings/${kept.recordingId}`)).status).toBe(200); // the old one stays
      expect(await store.get('impostor')).toBeUndefined();
      await m.close();
    },
  );
});
