/**
 * The "never lose a take" edges of an upload's last bytes and its finish, on a real server: a take
 * whose duration nobody can measure is kept (never its bytes deleted for it), a final PATCH cut off
 * mid-body can be retried with the same Upload-Length, a finish that failed for a moment (storage
 * down) is redone by the next HEAD or the hourly housekeeping, two finishes of one upload make one
 * recording, and an upload that is no longer `uploading` never becomes a recording.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { housekeeping } from '../src/server/jobs/housekeeping.js';
import type { JobQueue } from '../src/server/jobs/queue.js';
import { drainDeletions } from '../src/server/jobs/storage-maintenance.js';
import { createLogger } from '../src/server/logger.js';
import { LocalStorage } from '../src/server/storage/local.js';
import { createSinks } from '../src/server/uploads/sinks.js';
import { UploadsRepository } from '../src/server/uploads/uploads.repository.js';
import { UploadsService } from '../src/server/uploads/uploads.service.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { finishCrashRig } from './support/finish-crash.js';
import { makeMediaFixtures, type MediaFixtures } from './support/media-fixtures.js';
import { call, sha256 } from './support/recordings-fixtures.js';
import { createDeferredUpload, patch, sessionsApi, TUS } from './support/sessions.js';

let fx: MediaFixtures;
beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

async function sql<T = Record<string, unknown>>(dbUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = await connect(dbUrl);
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** HEAD with the Recording-Id the server may add. */
async function headUpload(uploadUrl: string, headers: Record<string, string>) {
  const res = await fetch(uploadUrl, { method: 'HEAD', headers: { ...TUS, ...headers } });
  return { status: res.status, offset: res.headers.get('upload-offset'), recordingId: res.headers.get('recording-id') };
}

/** The recording's stored bytes, through the API. */
async function media(url: string, headers: Record<string, string>, recordingId: string) {
  const res = await call(url, 'GET', `/api/recordings/${recordingId}/media`, headers);
  expect(res.status).toBe(200);
  return res.body;
}

describe.each(pgTargets())('an upload’s last bytes and its finish on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    // No jobs: processing would replace the finish's duration, which is what these tests look at.
    t = await startTestServer(target, { JOBS_ENABLED: 'false' });
  });
  afterAll(async () => t?.close());

  it('a server-only recovery of an unprobeable take takes the duration its heartbeats gave, keeps the bytes', {
    timeout: 60_000,
  }, async () => {
    const u = await signUp(t.url, 'unprobed');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'screen' });
    await api.heartbeat(s.id, { durationMs: 5400 });
    await api.interrupt(s.id, { reason: 'tab crashed' });
    // A truncated WebM: its header, then bytes no demuxer makes sense of (the probe runs to its time limit).
    const bytes = Buffer.concat([fs.readFileSync(fx.webm).subarray(0, 64), Buffer.alloc(100)]);
    const up = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'screen' });
    expect((await patch(up.uploadUrl, u.headers, 0, bytes)).status).toBe(204);

    const started = Date.now();
    const fin = await patch(up.uploadUrl, u.headers, bytes.length, Buffer.alloc(0), bytes.length);
    expect(fin, fin.body).toMatchObject({ status: 204, recordingId: expect.stringMatching(/^\d+$/) });
    expect(Date.now() - started).toBeLessThan(10_000); // no probe: the session knew the length
    const rec = await call(t.url, 'GET', `/api/recordings/${fin.recordingId}`, u.headers);
    expect(rec.json).toMatchObject({ duration: 5, fileSize: bytes.length });
    expect(rec.json.metadata.duration_unknown).toBeUndefined();
    expect(await media(t.url, u.headers, fin.recordingId!)).toEqual(bytes);
    expect(await api.get(s.id)).toMatchObject({ status: 'completed', recordingId: fin.recordingId, duration: 5 });
  });

  it('a take nobody can measure is kept with 1 s and duration_unknown, never failed and deleted', async () => {
    const u = await signUp(t.url, 'unmeasured');
    // A WAV header and zeros: the sniff passes, no probe finds a duration, the client sent none.
    const bytes = Buffer.concat([fs.readFileSync(fx.wav).subarray(0, 12), Buffer.alloc(20_000)]);
    const up = await createDeferredUpload(t.url, u.headers, { recordingType: 'audio', title: 'mystery' });
    const fin = await patch(up.uploadUrl, u.headers, 0, bytes, bytes.length);
    expect(fin, fin.body).toMatchObject({ status: 204, recordingId: expect.stringMatching(/^\d+$/) });
    const rec = await call(t.url, 'GET', `/api/recordings/${fin.recordingId}`, u.headers);
    expect(rec.json).toMatchObject({ title: 'mystery', duration: 1, status: 'processing', fileSize: bytes.length });
    expect(rec.json.metadata).toMatchObject({
      duration_unknown: true,
      upload_size: bytes.length,
      upload_sha256: sha256(bytes),
    });
    expect(await media(t.url, u.headers, fin.recordingId!)).toEqual(bytes);
    const [row] = await sql(t.dbUrl, 'SELECT status FROM uploads WHERE recording_id = $1', [fin.recordingId]);
    expect(row).toMatchObject({ status: 'completed' });
  });

  it('a final PATCH cut off mid-body resumes with the same Upload-Length; a different one is refused', async () => {
    const u = await signUp(t.url, 'cutoff');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'screen' });
    const bytes = fs.readFileSync(fx.webm);
    const up = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'screen' });
    const first = Math.floor(bytes.length / 3);
    expect((await patch(up.uploadUrl, u.headers, 0, bytes.subarray(0, first))).status).toBe(204);

    // The final PATCH declares the length, sends part of the rest, and its connection dies.
    const rest = bytes.subarray(first);
    await new Promise<void>((resolve) => {
      const req = http.request(up.uploadUrl, {
        method: 'PATCH',
        headers: {
          ...TUS,
          ...u.headers,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(first),
          'upload-length': String(bytes.length),
          'content-length': String(rest.length),
        },
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      req.write(rest.subarray(0, Math.floor(rest.length / 2)));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 500);
    });
    await sleep(300); // the server notices the abort and releases the upload's lock

    const h = await headUpload(up.uploadUrl, u.headers);
    expect(h.status).toBe(200);
    const offset = Number(h.offset);
    expect(offset).toBeGreaterThanOrEqual(first);
    expect(offset).toBeLessThan(bytes.length);
    // A different length is still a client bug.
    const wrong = await patch(up.uploadUrl, u.headers, offset, bytes.subarray(offset), bytes.length + 1);
    expect(wrong.status).toBe(400);
    // tus-js-client's retry: from the server's offset, Upload-Length again.
    const fin = await patch(up.uploadUrl, u.headers, offset, bytes.subarray(offset), bytes.length);
    expect(fin, fin.body).toMatchObject({
      status: 204,
      offset: bytes.length,
      recordingId: expect.stringMatching(/^\d+$/),
    });
    expect(await media(t.url, u.headers, fin.recordingId!)).toEqual(bytes);
    expect(await api.get(s.id)).toMatchObject({ status: 'completed', recordingId: fin.recordingId });
  });

  it('a finish that failed for a moment (storage down) is redone by the next HEAD, or by housekeeping', async () => {
    const u = await signUp(t.url, 'stuck');
    const api = sessionsApi(t.url, u.headers);
    const bytes = fs.readFileSync(fx.webm);
    // Storage down for this user: a file where the user's media directory must be created.
    const blocker = path.join(t.dataDir, 'media', 'users', u.userId);
    fs.mkdirSync(path.dirname(blocker), { recursive: true });
    fs.writeFileSync(blocker, 'not a directory');
    const takes = [];
    for (const title of ['by HEAD', 'by housekeeping']) {
      const s = await api.create({ recordingType: 'screen' });
      await api.setTake(s.id, { title });
      const up = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'screen' });
      const fin = await patch(up.uploadUrl, u.headers, 0, bytes, bytes.length);
      // All bytes stored (in DATA_DIR/media/.uploads), only the move to the recording's key failed: a
      // 503 the client may retry, and the upload stays `uploading` and complete.
      expect(fin.status).toBe(503);
      expect(JSON.parse(fin.body)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      takes.push({ s, up });
    }
    expect(
      await sql(t.dbUrl, 'SELECT status, upload_offset, upload_length FROM uploads WHERE user_id = $1', [u.userId]),
    ).toEqual(
      Array(2).fill({ status: 'uploading', upload_offset: `${bytes.length}`, upload_length: `${bytes.length}` }),
    );
    const pending = (uploadUrl: string) => path.join(t.dataDir, 'media', '.uploads', uploadUrl.split('/').pop()!);
    for (const { up } of takes) expect(fs.readFileSync(pending(up.uploadUrl))).toEqual(bytes);
    fs.rmSync(blocker); // storage is back

    const h = await headUpload(takes[0]!.up.uploadUrl, u.headers);
    expect(h).toMatchObject({ status: 200, offset: String(bytes.length), recordingId: expect.stringMatching(/^\d+$/) });
    expect(await api.get(takes[0]!.s.id)).toMatchObject({
      status: 'completed',
      recordingId: h.recordingId,
      take: { title: 'by HEAD' },
    });
    expect(await media(t.url, u.headers, h.recordingId!)).toEqual(bytes);
    // Its bytes left DATA_DIR/media/.uploads (they are the recording's object now); a HEAD after that
    // answers the same: complete, with its recording, and finishes nothing twice.
    expect(fs.existsSync(pending(takes[0]!.up.uploadUrl))).toBe(false);
    expect(await headUpload(takes[0]!.up.uploadUrl, u.headers)).toEqual(h);
    expect(await sql(t.dbUrl, 'SELECT id FROM recordings WHERE user_id = $1', [u.userId])).toEqual([
      { id: h.recordingId },
    ]);
    expect((await api.get(takes[1]!.s.id)).recordingId).toBeNull();

    // Nobody comes back for the second: the hourly housekeeping finishes it (as this server's workers would).
    const db = t.server.database.db;
    const logger = createLogger('silent');
    const queue = { send: async () => undefined } as unknown as JobQueue;
    const storage = new LocalStorage({ dir: path.join(t.dataDir, 'media') });
    const sinks = createSinks(storage, new UploadsRepository(db));
    const uploads = new UploadsService({ db, storage, sinks, queue, logger });
    const done = await housekeeping({
      logger,
      expireSignIns: async () => 0,
      recoverFinished: () => uploads.recoverFinished(),
    });
    expect(done).toMatchObject({ uploadsFinished: 1 });
    const second = await api.get(takes[1]!.s.id);
    expect(second).toMatchObject({
      status: 'completed',
      recordingId: expect.stringMatching(/^\d+$/),
      take: { title: 'by housekeeping' },
    });
    expect(await media(t.url, u.headers, second.recordingId!)).toEqual(bytes);
    expect(fs.existsSync(pending(takes[1]!.up.uploadUrl))).toBe(false);
  });
});

describe.each(pgTargets())('finishing an upload that is no longer uploading on $name', (target) => {
  it('two finishes of one upload at once (a HEAD racing the PATCH’s finish): 1 recording, no orphan', async () => {
    const rig = await finishCrashRig(target, fx.webm);
    try {
      await rig.uploads().create('u1', rig.user.userId, { recordingType: 'screen' }, rig.size);
      expect(await rig.fill('u1')).toBe(rig.size);
      const [a, b] = await Promise.all([rig.uploads().finish('u1'), rig.uploads().finish('u1')]);
      expect(a).toEqual(b);
      const recordings = await rig.kysely.selectFrom('recordings').select(['id', 'storage_key']).execute();
      expect(recordings).toEqual([{ id: a.recordingId, storage_key: expect.any(String) }]);
      const key = recordings[0]!.storage_key!;
      // Both finishes moved the same bytes to the same key (the one reserved at creation): one object, the
      // recording's, and nothing left in DATA_DIR/media/.uploads.
      const objects = async () => {
        const out = [];
        for await (const o of rig.storage.list('')) out.push(o.key);
        return out;
      };
      expect(await objects()).toEqual([key]);
      expect(fs.existsSync(rig.uploadPath('u1'))).toBe(false);
      // Nothing is queued for deletion under the recording's own object: once the deletion outbox is
      // drained, the recording still has its bytes, byte-identical.
      const queued = (await rig.kysely.selectFrom('storage_deletions').select('storage_key').execute()).map(
        (r) => r.storage_key,
      );
      expect(
        queued.filter((q) => key.startsWith(q)),
        'the recording’s own object is queued for deletion',
      ).toEqual([]);
      await drainDeletions({ db: rig.kysely, storage: rig.storage, logger: rig.logger });
      expect(await objects()).toEqual([key]);
      expect(sha256(fs.readFileSync(path.join(rig.storage.root, key)))).toBe(sha256(fs.readFileSync(rig.file)));
    } finally {
      await rig.close();
    }
  });

  it.each(['terminated', 'failed'])(
    'a %s upload is refused with 409 UPLOAD_NOT_FINISHABLE before anything is stored',
    async (status) => {
      const rig = await finishCrashRig(target, fx.webm);
      try {
        const svc = rig.uploads();
        await svc.create('u1', rig.user.userId, { recordingType: 'screen' }, rig.size);
        // All its bytes arrived before it stopped being `uploading` (a finish would otherwise proceed).
        expect(await rig.fill('u1')).toBe(rig.size);
        await rig.kysely
          .updateTable('uploads')
          .set({ status: status as 'terminated' })
          .where('id', '=', 'u1')
          .execute();
        await expect(svc.finish('u1')).rejects.toMatchObject({
          status: 409,
          code: 'UPLOAD_NOT_FINISHABLE',
        });
        // Nothing was moved to a recording's key, no row, no job.
        const objects = [];
        for await (const o of rig.storage.list('')) objects.push(o.key);
        expect(objects).toEqual([]);
        expect(await rig.kysely.selectFrom('recordings').select('id').execute()).toEqual([]);
        expect(rig.sent).toEqual([]);
        expect(await rig.repo.get('u1')).toMatchObject({ status, recording_id: null });
      } finally {
        await rig.close();
      }
    },
  );
});
