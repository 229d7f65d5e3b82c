/**
 * A recording's media over a real server, database and local storage: streaming with HTTP Range (and
 * an object replaced mid-request), the thumbnail processing makes, and the CDN redirect. Rows come
 * from SQL, media from ffmpeg fixtures.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRecording } from '../src/server/jobs/process-recording.js';
import { createLogger } from '../src/server/logger.js';
import { detectTools, type MediaTools } from '../src/server/media/ffmpeg.js';
import { thumbnailKey } from '../src/server/storage/keys.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { type MediaFixtures, makeMediaFixtures } from './support/media-fixtures.js';
import {
  asUser,
  attachMedia,
  call,
  insertRecording,
  readObject,
  withTestServer,
} from './support/recordings-fixtures.js';

const logger = createLogger('silent');
let fx: MediaFixtures;
let media: Buffer;
let tools: MediaTools;

beforeAll(async () => {
  fx = await makeMediaFixtures();
  media = fs.readFileSync(fx.recorderWebm);
  const report = await detectTools();
  if (!report.tools) throw new Error('these tests need ffmpeg and ffprobe');
  tools = report.tools;
});
afterAll(() => fx?.cleanup());

type User = Awaited<ReturnType<typeof signUp>>;

describe.each(pgTargets())('recording media on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  const as = (u: User) => asUser(t.url, u);
  const deps = () => ({ db: t.server.database.db, storage: t.server.storage, tools, logger });

  it('streams the media: whole, ranges (first bytes, open-ended, suffix), 416 past the end, HEAD', async () => {
    const a = await signUp(t.url, 'a');
    const id = await insertRecording(c, { userId: a.userId });
    await attachMedia(c, t.server.storage, { userId: a.userId, id }, media);
    const size = media.length;
    const url = `/api/recordings/${id}/media`;

    const whole = await as(a).get(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-length')).toBe(String(size));
    expect(whole.headers.get('content-type')).toBe('video/webm');
    expect(whole.body.equals(media)).toBe(true);

    const first = await as(a).get(url, { range: 'bytes=0-99' });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
    expect(first.headers.get('content-length')).toBe('100');
    expect(first.body.equals(media.subarray(0, 100))).toBe(true);

    const rest = await as(a).get(url, { range: 'bytes=100-' });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 100-${size - 1}/${size}`);
    expect(rest.body.equals(media.subarray(100))).toBe(true);

    const suffix = await as(a).get(url, { range: 'bytes=-50' });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${size - 50}-${size - 1}/${size}`);
    expect(suffix.body.equals(media.subarray(size - 50))).toBe(true);

    const clamped = await as(a).get(url, { range: `bytes=${size - 10}-${size + 1000}` });
    expect(clamped.status).toBe(206);
    expect(clamped.body.equals(media.subarray(size - 10))).toBe(true);

    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`]) {
      const past = await as(a).get(url, { range });
      expect(past.status, range).toBe(416);
      expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(past.json).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE' });
    }

    const head = await as(a).head(url);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.body.length).toBe(0);
  });

  it('describes the bytes it sends when processing replaces the object between its stat and its read', async () => {
    const a = await signUp(t.url, 'a');
    const id = await insertRecording(c, { userId: a.userId });
    const { key } = await attachMedia(c, t.server.storage, { userId: a.userId, id }, media);
    const storage = t.server.storage;
    const stat = storage.stat.bind(storage);
    const replaced = Buffer.concat([media, media.subarray(0, 1000)]); // the remux came out longer
    // The real storage, with a real replace (as processRecording's remux does) right after each stat.
    storage.stat = async (k) => {
      const info = await stat(k);
      await storage.put(key, Readable.from([replaced]));
      return info;
    };
    try {
      const whole = await as(a).get(`/api/recordings/${id}/media`);
      expect(whole.headers.get('content-length')).toBe(String(whole.body.length));
      expect(whole.body.equals(replaced)).toBe(true);
      await storage.put(key, Readable.from([media]));
      const tail = await as(a).get(`/api/recordings/${id}/media`, { range: 'bytes=-50' });
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(tail.headers.get('content-range') ?? '');
      expect(m && [Number(m[3]), tail.body.equals(replaced.subarray(Number(m[1]), Number(m[2]) + 1))]).toEqual([
        replaced.length,
        true,
      ]);
    } finally {
      storage.stat = stat;
    }
  });

  it('serves the thumbnail JPEG that processing made', async () => {
    const a = await signUp(t.url, 'a');
    const id = await insertRecording(c, { userId: a.userId, status: 'processing' });
    await attachMedia(c, t.server.storage, { userId: a.userId, id }, media);
    expect((await as(a).get(`/api/recordings/${id}/thumbnail`)).json).toMatchObject({ code: 'MEDIA_UNAVAILABLE' });
    expect(await processRecording(deps(), id)).toBe('done');

    const rec = (await as(a).get(`/api/recordings/${id}`)).json;
    expect(rec).toMatchObject({ status: 'completed', thumbnailUrl: `/api/recordings/${id}/thumbnail` });
    const thumb = await as(a).get(rec.thumbnailUrl);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect([...thumb.body.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(thumb.body.equals(await readObject(t.server.storage, thumbnailKey(a.userId, id)))).toBe(true);
    const head = await as(a).head(rec.thumbnailUrl);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(thumb.body.length));
  });

  it('never hands out an unsigned CDN URL: without CDN_SIGNING_KEY the API streams the media itself', async () => {
    const cdn = await startTestServer(target, {
      JOBS_ENABLED: 'false',
      STORAGE_PROVIDER: 'local',
      CDN_BASE_URL: 'https://cdn.example.com/media',
    });
    const cc = await connect(cdn.dbUrl);
    try {
      const a = await signUp(cdn.url, 'a');
      const id = await insertRecording(cc, { userId: a.userId });
      await attachMedia(cc, cdn.server.storage, { userId: a.userId, id }, media);
      const res = await call(cdn.url, 'GET', `/api/recordings/${id}/media`, a.headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect((await call(cdn.url, 'GET', `/api/recordings/${id}`, a.headers)).json.mediaUrl).toBe(
        `/api/recordings/${id}/media`,
      );
    } finally {
      await cc.end();
      await cdn.close();
    }
  });
});
