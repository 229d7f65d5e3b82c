/**
 * Keeping a take end to end on a real server and database: its upload (real tus-js-client) becomes
 * exactly one recording with the take's details — however often, or however concurrently, its final
 * upload is sent; a deferred-length upload is finished from the bytes the server holds; a discarded
 * take's upload is gone and can never finish.
 */
import fs from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { type MediaFixtures, makeMediaFixtures } from './support/media-fixtures.js';
import { call, sha256, waitFor } from './support/recordings-fixtures.js';
import { createDeferredUpload, head, patch, sessionsApi, tusUpload } from './support/sessions.js';

let fx: MediaFixtures;
beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

describe.each(pgTargets())('keeping a take on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  beforeAll(async () => {
    t = await startTestServer(target);
    c = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await c?.end();
    await t?.close();
  });
  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await c.query(text, params)).rows as T[];

  it('keep: the upload’s finish makes one recording with the take’s details and completes the session', async () => {
    const u = await signUp(t.url, 'keeper');
    const api = sessionsApi(t.url, u.headers);
    const project = await call(t.url, 'POST', '/api/projects', u.headers, { name: 'Course' });
    const s = await api.create({ recordingType: 'camera', deviceInfo: { camera: 'fake' } });
    const bytes = fs.readFileSync(fx.recorderWebm);
    const slideChanges = [
      { index: 0, atMs: 0 },
      { index: 1, atMs: 1500 },
    ];
    await api.setTake(s.id, {
      title: 'Kept take',
      description: 'from the review screen',
      projectId: project.json.id,
      durationMs: 3000,
      // thumbnail_key names a storage object: a client can never set it
      metadata: { slideChanges, thumbnail_key: 'users/someone-else/recordings/1/thumbnail.jpg' },
    });
    const up = await tusUpload(t.url, u.headers, bytes, {
      sessionId: s.id,
      recordingType: 'camera',
      quality: 'medium',
      title: 'tus title',
      filename: 'take.webm',
    });
    expect(up.recordingId).toMatch(/^\d+$/);

    const rec = await call(t.url, 'GET', `/api/recordings/${up.recordingId}`, u.headers);
    expect(rec.json).toMatchObject({
      title: 'Kept take',
      description: 'from the review screen',
      projectId: project.json.id,
      recordingType: 'camera',
      quality: 'medium',
      duration: 3,
    });
    expect(rec.json.metadata).toMatchObject({
      session_id: s.id,
      upload_size: bytes.length,
      upload_sha256: sha256(bytes),
      slideChanges,
      duration_ms: 3000,
    });
    expect(rec.json.metadata.thumbnail_key ?? null).toBeNull();

    const done = await api.get(s.id);
    expect(done).toMatchObject({ status: 'completed', recordingId: up.recordingId, duration: 3, discarded: false });
    expect(done.endedAt).not.toBeNull();
    expect(done.upload).toEqual({
      id: up.uploadUrl.split('/').pop(),
      url: new URL(up.uploadUrl).pathname,
      offset: bytes.length,
      length: bytes.length,
      status: 'completed',
    });

    // Processing remuxes a MediaRecorder WebM: sha256 then describes the stored bytes, upload_sha256
    // still the uploaded ones the browser compares with.
    const processed = await waitFor(
      async () => {
        const r = await call(t.url, 'GET', `/api/recordings/${up.recordingId}`, u.headers);
        return r.json.status === 'completed' ? r.json : undefined;
      },
      60_000,
      'processing',
    );
    expect(processed.metadata).toMatchObject({
      upload_size: bytes.length,
      upload_sha256: sha256(bytes),
      session_id: s.id,
      slideChanges,
    });
    expect(processed.metadata.thumbnail_key).toMatch(new RegExp(`^users/${u.userId}/recordings/${up.recordingId}/`));

    // Once kept, the take's details and state are closed: the recording is what changes now.
    const again = await api.raw('PATCH', `/api/sessions/${s.id}`, { title: 'late' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'SESSION_CLOSED', details: { recordingId: up.recordingId } });
    expect((await api.raw('POST', `/api/sessions/${s.id}/discard`, {})).json).toMatchObject({ code: 'SESSION_CLOSED' });
    expect((await api.raw('POST', `/api/sessions/${s.id}/heartbeat`, {})).json).toMatchObject({
      code: 'SESSION_CLOSED',
    });
  });

  it('a take’s final upload sent again, or twice at once, never makes a second recording', async () => {
    const u = await signUp(t.url, 'twice');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'camera' });
    await api.setTake(s.id, { title: 'Only once', durationMs: 3000 });
    const bytes = fs.readFileSync(fx.webm);
    const meta = { sessionId: s.id, recordingType: 'camera' };
    // Two uploads of the same take complete at the same moment (a recovery racing the live upload):
    // both pass the early check, both store, and the session row's lock orders their transactions.
    const a = await createDeferredUpload(t.url, u.headers, meta);
    const b = await createDeferredUpload(t.url, u.headers, meta);
    expect(await patch(a.uploadUrl, u.headers, 0, bytes)).toMatchObject({ status: 204, offset: bytes.length });
    expect(await patch(b.uploadUrl, u.headers, 0, bytes)).toMatchObject({ status: 204, offset: bytes.length });
    const [fa, fb] = await Promise.all([
      patch(a.uploadUrl, u.headers, bytes.length, Buffer.alloc(0), bytes.length),
      patch(b.uploadUrl, u.headers, bytes.length, Buffer.alloc(0), bytes.length),
    ]);
    expect([fa.status, fb.status]).toEqual([204, 204]);
    expect(fa.recordingId).toMatch(/^\d+$/);
    expect(fb.recordingId).toBe(fa.recordingId);
    const first = { recordingId: fa.recordingId! };
    // Later, the whole take sent again by tus-js-client: the same recording.
    const resent = await tusUpload(t.url, u.headers, bytes, meta);
    expect(resent.recordingId).toBe(first.recordingId);

    const rows = await sql<{ id: string }>(`SELECT id FROM recordings WHERE user_id = $1`, [u.userId]);
    expect(rows.map((r) => r.id)).toEqual([first.recordingId]);
    const uploads = await sql<{ status: string; recording_id: string }>(
      `SELECT status, recording_id FROM uploads WHERE session_id = $1`,
      [s.id],
    );
    expect(uploads).toHaveLength(3);
    expect(uploads.every((x) => x.status === 'completed' && x.recording_id === first.recordingId)).toBe(true);
    expect((await api.get(s.id)).recordingId).toBe(first.recordingId);

    // Whatever a losing finish stored is deleted through the outbox: in the end the outbox holds nothing of
    // the user's and only the one recording's objects remain under the user's prefix. Both are waited for:
    // a loser's object can be gone (or never have been made) before the worker removes its entry.
    const storage = t.server.storage;
    const queued = () =>
      sql(`SELECT storage_key FROM storage_deletions WHERE storage_key LIKE $1`, [`users/${u.userId}/%`]);
    await waitFor(
      async () => {
        if ((await queued()).length) return undefined;
        const keys: string[] = [];
        for await (const o of storage.list(`users/${u.userId}/recordings/`)) keys.push(o.key);
        return keys.every((k) => k.startsWith(`users/${u.userId}/recordings/${first.recordingId}/`)) && keys.length > 0
          ? keys
          : undefined;
      },
      20_000,
      'a drained outbox and only the kept recording’s objects',
    );
  });

  it('a zero-byte final PATCH with Upload-Length = offset finishes a deferred-length upload', async () => {
    const u = await signUp(t.url, 'recover');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'camera' });
    const bytes = fs.readFileSync(fx.webm);
    const up = await createDeferredUpload(t.url, u.headers, {
      sessionId: s.id,
      recordingType: 'camera',
      filename: 'take.webm',
    });
    expect(up.status).toBe(201);
    const half = Math.floor(bytes.length / 2);
    expect((await patch(up.uploadUrl, u.headers, 0, bytes.subarray(0, half))).status).toBe(204);
    expect((await patch(up.uploadUrl, u.headers, half, bytes.subarray(half))).status).toBe(204);

    // The tab crashed: the session, as recovery sees it, says how many bytes the server holds.
    await api.interrupt(s.id, { reason: 'crash' });
    const [unfinished] = await api.list('?state=unfinished');
    expect(unfinished).toMatchObject({
      id: s.id,
      upload: { url: new URL(up.uploadUrl).pathname, offset: bytes.length, length: null, status: 'uploading' },
    });
    expect(await head(up.uploadUrl, u.headers)).toMatchObject({
      status: 200,
      offset: String(bytes.length),
      length: null,
    });

    await api.setTake(s.id, { title: 'Recovered take' });
    const fin = await patch(up.uploadUrl, u.headers, bytes.length, Buffer.alloc(0), bytes.length);
    expect(fin).toMatchObject({ status: 204, offset: bytes.length });
    expect(fin.recordingId).toMatch(/^\d+$/);
    const rec = await call(t.url, 'GET', `/api/recordings/${fin.recordingId}`, u.headers);
    expect(rec.json).toMatchObject({ title: 'Recovered take', fileSize: bytes.length });
    expect(rec.json.metadata).toMatchObject({
      upload_size: bytes.length,
      upload_sha256: sha256(bytes),
      session_id: s.id,
    });
    const done = await api.get(s.id);
    // The interruption stays on record; the take is kept.
    expect(done).toMatchObject({
      status: 'completed',
      recordingId: fin.recordingId,
      errorMessage: 'crash',
      upload: { status: 'completed', offset: bytes.length, length: bytes.length },
    });
    expect(await api.list('?state=unfinished')).toEqual([]);
  });

  it('discard removes the take’s unfinished upload: its bytes are gone and it can never finish', async () => {
    const u = await signUp(t.url, 'discarder');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'audio' });
    const bytes = fs.readFileSync(fx.recorderAudioWebm);
    const up = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'audio' });
    expect((await patch(up.uploadUrl, u.headers, 0, bytes)).status).toBe(204);
    expect((await api.get(s.id)).upload).toMatchObject({ offset: bytes.length, status: 'uploading' });
    const gone = await api.discard(s.id);
    expect(gone.upload).toMatchObject({ status: 'terminated' });
    // tus's answer for an upload that existed and is gone for good (upload-store.ts)
    expect((await head(up.uploadUrl, u.headers)).status).toBe(410);
    // A new upload for a discarded take is refused.
    const refused = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'audio' });
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SESSION_DISCARDED' });
    expect(await sql('SELECT id FROM recordings WHERE user_id = $1', [u.userId])).toEqual([]);
  });
});
