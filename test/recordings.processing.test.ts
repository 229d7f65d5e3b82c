/**
 * Processing a recording with the server's real database and local storage, real media from ffmpeg and
 * the real ffmpeg/ffprobe (no mocks): a MediaRecorder WebM remuxed, an MP4 left alone, a corrupt file
 * failed with its original intact, no ffmpeg at all; and one recording processed by the pg-boss worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markFailed, processRecording } from '../src/server/jobs/process-recording.js';
import { JOBS } from '../src/server/jobs/queue.js';
import { createLogger } from '../src/server/logger.js';
import { detectTools, type MediaTools } from '../src/server/media/ffmpeg.js';
import { thumbnailKey } from '../src/server/storage/keys.js';
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
  withTestServer,
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

describe.each(pgTargets())('processing recordings on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

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

  it('processes a MediaRecorder WebM: duration fixed in stored object, metadata, thumbnail; idempotent', async () => {
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
});
