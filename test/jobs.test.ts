/**
 * The background jobs, called directly with the server's real database and local storage, real media
 * from ffmpeg and the real ffmpeg/ffprobe (no mocks): processing a recording, draining the storage
 * deletion outbox, the orphan sweep; and one recording processed end to end by the pg-boss worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markFailed, processRecording } from '../src/server/jobs/process-recording.js';
import { JOBS } from '../src/server/jobs/queue.js';
import { housekeeping } from '../src/server/jobs/housekeeping.js';
import { drainDeletions, sweep } from '../src/server/jobs/storage-maintenance.js';
import { SniffingFileStore } from '../src/server/uploads/sniffing-store.js';
import { createLogger } from '../src/server/logger.js';
import { detectTools, type MediaTools } from '../src/server/media/ffmpeg.js';
import { LocalStorage } from '../src/server/storage/local.js';
import { recordingKey, recordingPrefix, thumbnailKey } from '../src/server/storage/keys.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { ffprobeJson, type MediaFixtures, makeMediaFixtures, packetSizes } from './support/media-fixtures.js';
import {
  attachMedia,
  call,
  insertRecording,
  insertUser,
  readObject,
  sha256,
  waitFor,
} from './support/recordings-fixtures.js';

const logger = createLogger('silent');
let fx: MediaFixtures;
let tools: MediaTools;

beforeAll(async () => {
  fx = await makeMediaFixtures();
  const report = await detectTools();
  if (!report.tools) throw new Error('these tests need ffmpeg and ffprobe');
  tools = report.tools;
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
  beforeAll(async () => {
    t = await startTestServer(target, { JOBS_ENABLED: 'false' });
    c = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await c?.end();
    await t?.close();
  });

  const deps = (over: { tools?: MediaTools | undefined } = { tools }) => ({
    db: t.server.database.db,
    storage: t.server.storage,
    tools: over.tools,
    logger,
  });
  const row = async (id: string) =>
    (await c.query('SELECT *, file_size::int AS size FROM recordings WHERE id = $1', [id])).rows[0];
  /** A processing recording of a new user with `source` as its stored original. */
  async function recording(source: string | Buffer, ext = 'webm', mime = 'video/webm') {
    const userId = await insertUser(c);
    const id = await insertRecording(c, { userId, status: 'processing', mimeType: mime, metadata: { progress: 0 } });
    const stored = await attachMedia(c, t.server.storage, { userId, id }, source, ext, mime);
    return { userId, id, ...stored };
  }
  const toFile = async (key: string) => {
    const file = path.join(fx.dir, `${sha256(Buffer.from(key)).slice(0, 12)}${path.extname(key)}`);
    fs.writeFileSync(file, await readObject(t.server.storage, key));
    return file;
  };

  it('processes a MediaRecorder WebM: duration fixed in the stored object, metadata, thumbnail; a rerun does nothing', async () => {
    const r = await recording(fx.recorderWebm);
    expect(await processRecording(deps(), r.id)).toBe('done');

    const done = await row(r.id);
    expect(done.status).toBe('completed');
    expect(Math.abs(done.metadata.duration_ms - 3000)).toBeLessThan(100);
    expect(done.duration).toBe(3); // the nearest whole second of a 3 s take
    expect(done.metadata).toMatchObject({
      width: 320,
      height: 240,
      video_codec: 'vp9',
      audio_codec: 'opus',
      has_video: true,
      has_audio: true,
    });
    expect(done.metadata).toMatchObject({
      duration_fixed: true,
      duration_source: 'mediabunny',
      processing_skipped: [],
      thumbnail_key: thumbnailKey(r.userId, r.id),
    });
    expect(done.metadata).not.toHaveProperty('progress');

    const fixed = await toFile(r.key);
    expect(Number((await ffprobeJson(fixed)).format?.duration)).toBeCloseTo(3, 0);
    expect(Math.abs(fs.statSync(fixed).size - r.size) / r.size).toBeLessThan(0.05);
    expect(done.size).toBe(fs.statSync(fixed).size);
    expect(await packetSizes(fixed, 'v')).toEqual(await packetSizes(fx.recorderWebm, 'v')); // remuxed, not re-encoded

    expect(done.thumbnail_url).toBe(`/api/recordings/${r.id}/thumbnail`);
    const jpeg = await readObject(t.server.storage, thumbnailKey(r.userId, r.id));
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);

    const before = sha256(await readObject(t.server.storage, r.key));
    expect(await processRecording(deps(), r.id)).toBe('already');
    expect(sha256(await readObject(t.server.storage, r.key))).toBe(before);
    expect((await row(r.id)).updated_at).toEqual(done.updated_at);
  });

  it('processes an MP4 without touching it (its header has the duration)', async () => {
    const r = await recording(fx.mp4, 'mp4', 'video/mp4');
    expect(await processRecording(deps(), r.id)).toBe('done');
    const done = await row(r.id);
    expect(done).toMatchObject({
      status: 'completed',
      duration: 3,
      thumbnail_url: `/api/recordings/${r.id}/thumbnail`,
    });
    expect(done.metadata).toMatchObject({
      duration_fixed: false,
      duration_source: 'header',
      duration_ms: 3000,
      video_codec: 'h264',
      audio_codec: 'aac',
      width: 320,
    });
    expect(sha256(await readObject(t.server.storage, r.key))).toBe(r.sha256);
    expect(done.size).toBe(r.size);
  });

  it('fails on a corrupt file; markFailed records why and the original stays byte for byte', async () => {
    const header = fs.readFileSync(fx.webm).subarray(0, 40); // the EBML header: sniffs as WebM
    const garbage = Buffer.from(
      Array.from({ length: 64 * 1024 }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 24) & 0xff),
    );
    const r = await recording(Buffer.concat([header, garbage]));
    const err = await processRecording(deps(), r.id).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((await row(r.id)).status).toBe('processing');

    await markFailed(t.server.database.db, r.id, err!.message);
    const failed = await row(r.id);
    expect(failed.status).toBe('failed');
    expect(failed.metadata.error).toBe(err!.message.slice(0, 2000));
    expect(failed.metadata.progress).toBeNull();
    expect(sha256(await readObject(t.server.storage, r.key))).toBe(r.sha256);
    expect(await t.server.storage.exists(thumbnailKey(r.userId, r.id))).toBe(false);
  });

  it('without ffmpeg: completes with the mediabunny duration and says what it skipped', async () => {
    const r = await recording(fx.recorderWebm);
    expect(await processRecording(deps({ tools: undefined }), r.id)).toBe('done');
    const done = await row(r.id);
    expect(done.status).toBe('completed');
    expect(Math.abs(done.metadata.duration_ms - 3000)).toBeLessThan(100);
    expect(done.duration).toBe(3);
    expect(done.metadata).toMatchObject({
      duration_fixed: false,
      duration_source: 'mediabunny',
      width: null,
      thumbnail_key: null,
    });
    expect(done.metadata.processing_skipped).toEqual(expect.arrayContaining([expect.stringMatching(/thumbnail/)]));
    expect(done.thumbnail_url).toBeNull();
    expect(sha256(await readObject(t.server.storage, r.key))).toBe(r.sha256);
  });

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

  it('processes a recording end to end through the pg-boss worker', async () => {
    const w = await startTestServer(target); // workers on
    const wc = await connect(w.dbUrl);
    try {
      const a = await signUp(w.url, 'a');
      const id = await insertRecording(wc, {
        userId: a.userId,
        status: 'processing',
        type: 'audio',
        metadata: { progress: 0 },
      });
      await attachMedia(wc, w.server.storage, { userId: a.userId, id }, fx.recorderAudioWebm);
      await w.server.boss.send(JOBS.processRecording, { recordingId: id });
      const done = await waitFor(
        async () => {
          const r = (await call(w.url, 'GET', `/api/recordings/${id}`, a.headers)).json;
          return r.status === 'processing' ? undefined : r;
        },
        30_000,
        'the worker to process the recording',
      );
      expect(done).toMatchObject({ status: 'completed', error: null, thumbnailUrl: `/api/recordings/${id}/thumbnail` });
      expect(done.metadata).toMatchObject({
        duration_fixed: true,
        has_video: false,
        has_audio: true,
        audio_codec: 'opus',
      });
      // uploaded as video/webm (the sniff reads the container); the probe found sound only
      expect(done.mimeType).toBe('audio/webm');
      const wave = await call(w.url, 'GET', done.thumbnailUrl, a.headers);
      expect([wave.status, ...wave.body.subarray(0, 2)]).toEqual([200, 0xff, 0xd8]);
    } finally {
      await wc.end();
      await w.close();
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
    const create = () =>
      fetch(`${t.url}/api/uploads`, {
        method: 'POST',
        headers: {
          ...u.headers,
          'tus-resumable': '1.0.0',
          'upload-defer-length': '1',
          'upload-metadata': `recordingType ${Buffer.from('camera').toString('base64')}`,
        },
      });
    const [oldRes, freshRes] = [await create(), await create()];
    expect([oldRes.status, freshRes.status]).toEqual([201, 201]);
    const idOf = (r: Response) => r.headers.get('location')!.split('/').pop()!;
    const [oldId, freshId] = [idOf(oldRes), idOf(freshRes)];
    // age one upload by eight days, as the tus store (its .json) and our row see it
    const dir = path.join(t.dataDir, 'uploads');
    const info = JSON.parse(fs.readFileSync(path.join(dir, `${oldId}.json`), 'utf8'));
    info.creation_date = new Date(Date.now() - 8 * 86_400_000).toISOString();
    fs.writeFileSync(path.join(dir, `${oldId}.json`), JSON.stringify(info));
    await c.query(`UPDATE uploads SET created_at = now() - interval '8 days' WHERE id = $1`, [oldId]);

    const store = new SniffingFileStore({ directory: dir, expirationPeriodInMilliseconds: 7 * 86_400_000 });
    const result = await housekeeping({
      db: t.server.database.db,
      logger,
      expireUploadFiles: () => store.deleteExpired(),
    });
    expect(result).toMatchObject({ uploadRows: 1, uploadFiles: 1 });
    expect(result.authSessions).toBeGreaterThanOrEqual(1);
    const left = (await c.query('SELECT id FROM auth_sessions WHERE user_id = $1', [u.userId])).rows.map((r) => r.id);
    expect(left).not.toContain(`expired-${u.userId}`);
    expect(left).toHaveLength(1); // the live sign-in stays
    expect(fs.existsSync(path.join(dir, oldId))).toBe(false);
    expect(fs.existsSync(path.join(dir, freshId))).toBe(true);
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
