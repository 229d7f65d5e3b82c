/**
 * The background jobs, called directly with the server's real database and local storage and real media
 * from ffmpeg (no mocks): draining the storage deletion outbox, the orphan sweep, the stately queue, and
 * housekeeping. Processing a recording (directly and through the worker): recordings.processing.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../src/server/jobs/queue.js';
import { housekeeping } from '../src/server/jobs/housekeeping.js';
import { drainDeletions, sweep } from '../src/server/jobs/storage-maintenance.js';
import { AuthRepository } from '../src/server/auth/auth.repository.js';
import { createLogger } from '../src/server/logger.js';
import { LocalStorage } from '../src/server/storage/local.js';
import {
  recordingKey,
  recordingPrefix,
  thumbnailKey,
  versionKey,
  versionThumbnailKey,
} from '../src/server/storage/keys.js';
import { createSinks } from '../src/server/uploads/sinks.js';
import { UploadsRepository } from '../src/server/uploads/uploads.repository.js';
import { UploadsService } from '../src/server/uploads/uploads.service.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { type MediaFixtures, makeMediaFixtures } from './support/media-fixtures.js';
import { attachMedia, call, insertRecording, insertUser, withTestServer } from './support/recordings-fixtures.js';

const logger = createLogger('silent');
let fx: MediaFixtures;

beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

/** A real LocalStorage whose delete fails for chosen keys, as a full disk or a permission error would. */
class FailingDeletes extends LocalStorage {
  readonly failing = new Set<string>();
  override async delete(key: string): Promise<void> {
    if (this.failing.has(key)) throw new Error(`EACCES: permission denied, unlink '${key}'`);
    return super.delete(key);
  }
}

const TWO_HOURS_AGO = new Date(Date.now() - 2 * 3600_000);

describe.each(pgTargets())('jobs on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  it('drains the outbox: deletes whole prefixes (and only them) and single keys, then the entries', async () => {
    await c.query('DELETE FROM storage_deletions');
    const userId = await insertUser(c);
    const gone = await insertRecording(c, { userId, id: '9000001' });
    const neighbour = await insertRecording(c, { userId, id: '90000010' }); // its prefix starts with gone's id
    for (const id of [gone, neighbour]) {
      await attachMedia(c, t.server.storage, { userId, id }, fx.recorderAudioWebm);
      await t.server.storage.put(thumbnailKey(userId, id), fx.png);
    }
    const single = recordingKey(userId, '9000002', 'mp4');
    await t.server.storage.put(single, fx.mp4);
    await c.query('DELETE FROM recordings WHERE id = $1', [gone]); // the trigger queues the prefix
    await c.query(`INSERT INTO storage_deletions (storage_provider, storage_key) VALUES ('local', $1)`, [single]);

    expect(await drainDeletions({ db: t.server.database.db, storage: t.server.storage, logger })).toEqual({
      deleted: 2,
      failed: 0,
    });
    expect(await t.server.storage.exists(recordingKey(userId, gone, 'webm'))).toBe(false);
    expect(await t.server.storage.exists(thumbnailKey(userId, gone))).toBe(false);
    expect(await t.server.storage.exists(single)).toBe(false);
    expect(await t.server.storage.exists(recordingKey(userId, neighbour, 'webm'))).toBe(true);
    expect(await t.server.storage.exists(thumbnailKey(userId, neighbour))).toBe(true);
    expect((await c.query('SELECT count(*)::int AS n FROM storage_deletions')).rows[0].n).toBe(0);
  });

  it('keeps an entry whose delete fails, counting the attempt once per drain, and finishes it later', async () => {
    await c.query('DELETE FROM storage_deletions');
    const storage = new FailingDeletes({ dir: path.join(t.dataDir, 'media') });
    const userId = await insertUser(c);
    const stuck = await insertRecording(c, { userId });
    const fine = await insertRecording(c, { userId });
    for (const id of [stuck, fine]) await attachMedia(c, storage, { userId, id }, fx.recorderAudioWebm);
    storage.failing.add(recordingKey(userId, stuck, 'webm'));
    await c.query('DELETE FROM recordings WHERE id = ANY($1)', [[stuck, fine]]);
    const outbox = async () =>
      (await c.query('SELECT storage_key, attempts::int, last_error FROM storage_deletions ORDER BY id')).rows;

    // batch 1: each batch holds one entry, so a failing first entry must not be picked again and again.
    expect(await drainDeletions({ db: t.server.database.db, storage, logger }, 1)).toEqual({ deleted: 1, failed: 1 });
    expect(await outbox()).toEqual([
      { storage_key: recordingPrefix(userId, stuck), attempts: 1, last_error: expect.stringContaining('EACCES') },
    ]);
    expect(await storage.exists(recordingKey(userId, stuck, 'webm'))).toBe(true);
    expect(await storage.exists(recordingKey(userId, fine, 'webm'))).toBe(false);

    expect(await drainDeletions({ db: t.server.database.db, storage, logger })).toEqual({ deleted: 0, failed: 1 });
    expect((await outbox())[0].attempts).toBe(2);
    storage.failing.clear();
    expect(await drainDeletions({ db: t.server.database.db, storage, logger })).toEqual({ deleted: 1, failed: 0 });
    expect(await outbox()).toEqual([]);
    expect(await storage.exists(recordingKey(userId, stuck, 'webm'))).toBe(false);
  });

  it('sweeps: reports and deletes old orphans only, and lists rows whose object is missing', async () => {
    const s = await startTestServer(target, { JOBS_ENABLED: 'false' }); // an empty bucket: the report is exactly ours
    const sc = await connect(s.dbUrl);
    try {
      const storage = s.server.storage;
      const age = (key: string) =>
        fs.utimesSync(path.join(s.dataDir, 'media', ...key.split('/')), TWO_HOURS_AGO, TWO_HOURS_AGO);
      const put = async (key: string, old = true) => {
        await storage.put(key, fx.png);
        if (old) age(key);
        return key;
      };
      const [u, other] = [await insertUser(sc), await insertUser(sc)];
      const owned = await insertRecording(sc, { userId: u });
      const { key: ownedKey } = await attachMedia(sc, storage, { userId: u, id: owned }, fx.recorderAudioWebm);
      age(ownedKey);
      const ownedThumb = await put(thumbnailKey(u, owned));
      const oldOrphan = await put(recordingKey(u, '777001', 'webm'));
      const wrongOwner = await put(recordingKey(other, owned, 'webm')); // a row with this id exists, but it is u's
      const offLayout = await put(`users/${u}/notes.json`);
      const youngOrphan = await put(recordingKey(u, '777002', 'webm'), false);
      const queuedPrefix = await put(recordingKey(u, '777003', 'webm'));
      const queuedKey = await put(recordingKey(u, '777004', 'webm'));
      await sc.query(
        `INSERT INTO storage_deletions (storage_provider, storage_key) VALUES ('local', $1), ('local', $2)`,
        [recordingPrefix(u, '777003'), queuedKey],
      );
      const lost = await insertRecording(sc, { userId: u, createdAt: TWO_HOURS_AGO });
      await sc.query(`UPDATE recordings SET storage_key = $2 WHERE id = $1`, [lost, recordingKey(u, lost, 'webm')]);
      const justCreated = await insertRecording(sc, { userId: u }); // its upload may still be writing the object
      await sc.query(`UPDATE recordings SET storage_key = $2 WHERE id = $1`, [
        justCreated,
        recordingKey(u, justCreated, 'webm'),
      ]);
      const partDir = path.join(s.dataDir, 'media', '.tmp');
      fs.mkdirSync(partDir, { recursive: true });
      fs.writeFileSync(path.join(partDir, 'crashed.part'), 'half an upload');
      fs.utimesSync(path.join(partDir, 'crashed.part'), TWO_HOURS_AGO, TWO_HOURS_AGO);

      const sdeps = { db: s.server.database.db, storage, logger };
      const orphans = [oldOrphan, wrongOwner, offLayout].sort();
      const dry = await sweep(sdeps, { dryRun: true });
      expect({ ...dry, orphans: [...dry.orphans].sort() }).toEqual({
        scanned: 8,
        orphans,
        deleted: 0,
        missing: [{ recordingId: lost, key: recordingKey(u, lost, 'webm') }],
        incompleteRemoved: 0,
      });
      for (const key of orphans) expect(await storage.exists(key), key).toBe(true);

      const real = await sweep(sdeps, { dryRun: false });
      expect([...real.orphans].sort()).toEqual(orphans);
      expect([real.deleted, real.incompleteRemoved]).toEqual([3, 1]);
      for (const key of orphans) expect(await storage.exists(key), key).toBe(false);
      for (const key of [ownedKey, ownedThumb, youngOrphan, queuedPrefix, queuedKey])
        expect(await storage.exists(key), key).toBe(true);
      expect(fs.existsSync(path.join(partDir, 'crashed.part'))).toBe(false);
    } finally {
      await sc.end();
      await s.close();
    }
  });

  it('sweeps versions: an object is owned by its version row; a deleted version leaves an orphan', async () => {
    const s = await startTestServer(target, { JOBS_ENABLED: 'false' }); // an empty bucket: the report is exactly ours
    const sc = await connect(s.dbUrl);
    try {
      const storage = s.server.storage;
      const old = async (key: string) => {
        await storage.put(key, fx.png);
        fs.utimesSync(path.join(s.dataDir, 'media', ...key.split('/')), TWO_HOURS_AGO, TWO_HOURS_AGO);
        return key;
      };
      const u = await insertUser(sc);
      const rec = await insertRecording(sc, { userId: u });
      const { key: originalKey } = await attachMedia(sc, storage, { userId: u, id: rec }, fx.recorderAudioWebm);
      fs.utimesSync(path.join(s.dataDir, 'media', ...originalKey.split('/')), TWO_HOURS_AGO, TWO_HOURS_AGO);
      const version = async (id: string) =>
        sc.query(
          `INSERT INTO recording_versions (id, recording_id, number, status, edit_revision, edits, storage_provider,
             storage_key, file_size, sha256, duration_ms, mime_type, completed_at)
           VALUES ($1::bigint, $2, $1::int, 'ready', 1, '{}', 'local', $3, 1, $4, 1000, 'video/webm', $5)`,
          [id, rec, versionKey(u, rec, id, 'webm'), 'a'.repeat(64), TWO_HOURS_AGO],
        );
      await version('1');
      await version('2');
      const owned = await old(versionKey(u, rec, '1', 'webm'));
      const ownedThumbnail = await old(versionThumbnailKey(u, rec, '1'));
      await sc.query(`UPDATE recording_versions SET thumbnail_key = $1 WHERE id = 1`, [ownedThumbnail]);
      const deleted = await old(versionKey(u, rec, '3', 'webm')); // its row is gone: an orphan
      const lost = versionKey(u, rec, '2', 'webm'); // its row says ready, its object is missing

      const report = await sweep({ db: s.server.database.db, storage, logger }, { dryRun: false });
      expect(report).toMatchObject({ scanned: 4, orphans: [deleted], deleted: 1 });
      expect(report.missing).toEqual([{ recordingId: rec, key: lost }]);
      for (const key of [owned, ownedThumbnail, originalKey]) expect(await storage.exists(key), key).toBe(true);
      expect(await storage.exists(deleted)).toBe(false);
    } finally {
      await sc.end();
      await s.close();
    }
  });

  it('queues one processing job per recording however often it is asked for (stately queue)', async () => {
    const boss = t.server.boss;
    const key = `dedupe-${Date.now()}`;
    const before = await boss.boss.getQueueSize(JOBS.processRecording);
    for (let i = 0; i < 3; i++)
      await boss.send(JOBS.processRecording, { recordingId: '999999' }, { singletonKey: key });
    expect(await boss.boss.getQueueSize(JOBS.processRecording)).toBe(before + 1);
    await boss.send(JOBS.processRecording, { recordingId: '999998' }, { singletonKey: `${key}-other` });
    expect(await boss.boss.getQueueSize(JOBS.processRecording)).toBe(before + 2);
  });

  it('housekeeping deletes expired sign-in sessions and week-old unfinished uploads, and nothing else', async () => {
    const u = await signUp(t.url, 'housekeeping');
    await c.query(
      `INSERT INTO auth_sessions (id, user_id, expires_at) SELECT 'expired-' || $1, $1, now() - interval '1 minute'`,
      [u.userId],
    );
    const create = async () => {
      const res = await fetch(`${t.url}/api/uploads`, {
        method: 'POST',
        headers: {
          ...u.headers,
          'tus-resumable': '1.0.0',
          'upload-defer-length': '1',
          'upload-metadata': `recordingType ${Buffer.from('camera').toString('base64')}`,
        },
      });
      expect(res.status).toBe(201);
      const url = new URL(res.headers.get('location')!, t.url).toString();
      // some bytes, so the upload has a file in the local sink (DATA_DIR/media/.uploads/<id>)
      const patch = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...u.headers,
          'tus-resumable': '1.0.0',
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '0',
        },
        body: fs.readFileSync(fx.webm).subarray(0, 40 * 1024),
      });
      expect(patch.status).toBe(204);
      return url.split('/').pop()!;
    };
    const [oldId, freshId] = [await create(), await create()];
    await c.query(`UPDATE uploads SET created_at = now() - interval '8 days' WHERE id = $1`, [oldId]);

    const db = t.server.database.db;
    const storage = t.server.storage as LocalStorage;
    const uploads = new UploadsService({
      db,
      storage,
      sinks: createSinks(storage, new UploadsRepository(db)),
      queue: t.server.boss,
      logger,
    });
    const auth = new AuthRepository(db);
    const result = await housekeeping({
      logger,
      expireSignIns: async (now) => Number((await auth.deleteExpiredSessions(now)).numDeletedRows),
      expireUploads: (before) => uploads.expire(before),
    });
    expect(result.uploadsExpired).toBe(1);
    expect(result.authSessions).toBeGreaterThanOrEqual(1);
    const left = (await c.query('SELECT id FROM auth_sessions WHERE user_id = $1', [u.userId])).rows.map((r) => r.id);
    expect(left).not.toContain(`expired-${u.userId}`);
    expect(left).toHaveLength(1); // the live sign-in stays
    expect(fs.existsSync(storage.uploadPath(oldId))).toBe(false);
    expect(fs.existsSync(storage.uploadPath(freshId))).toBe(true);
    const status = Object.fromEntries(
      (await c.query('SELECT id, status FROM uploads WHERE id = ANY($1)', [[oldId, freshId]])).rows.map((r) => [
        r.id,
        r.status,
      ]),
    );
    expect(status).toEqual({ [oldId]: 'failed', [freshId]: 'uploading' });
    expect((await call(t.url, 'GET', '/api/auth/me', u.headers)).status).toBe(200);
  });
});
