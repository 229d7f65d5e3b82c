/**
 * The recordings API over a real server, database and local storage: the library list (keyset pages,
 * filters, search, project sharing), one recording, edits, delete with its media, and retry. Rows come
 * from SQL, media from ffmpeg fixtures. Streaming, thumbnails and the CDN redirect: recordings.media.test.ts.
 */
import fs from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainDeletions } from '../src/server/jobs/storage-maintenance.js';
import { createLogger } from '../src/server/logger.js';
import { recordingPrefix, thumbnailKey } from '../src/server/storage/keys.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { type MediaFixtures, makeMediaFixtures } from './support/media-fixtures.js';
import {
  addMember,
  asUser,
  attachMedia,
  call,
  insertProject,
  insertRecording,
  waitFor,
  withTestServer,
} from './support/recordings-fixtures.js';

const logger = createLogger('silent');
let fx: MediaFixtures;
let media: Buffer;

beforeAll(async () => {
  fx = await makeMediaFixtures();
  media = fs.readFileSync(fx.recorderWebm);
});
afterAll(() => fx?.cleanup());

type User = Awaited<ReturnType<typeof signUp>>;
/** The part of a listed recording that says what its viewer may do. */
type Rights = { id: string; canEdit: boolean; canDelete: boolean };
const ids = (items: { id: string }[]) => items.map((i) => i.id);

describe.each(pgTargets())('recordings API on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  const as = (u: User) => asUser(t.url, u);

  it('lists newest first in keyset pages returning every row exactly once, identical created_at included', async () => {
    const [a, b] = [await signUp(t.url, 'a'), await signUp(t.url, 'b')];
    const p = await insertProject(c, a.userId);
    await addMember(c, p, b.userId, 'editor');
    // [owner, project, created_at, order key in µs]: equal timestamps across users and across the union's branches.
    const plan: [User, string | null, string, number][] = [
      [a, null, '2026-01-01 00:00:01+00', 1_000_000],
      [a, null, '2026-01-01 00:00:02+00', 2_000_000],
      [b, p, '2026-01-01 00:00:02+00', 2_000_000],
      [a, p, '2026-01-01 00:00:02+00', 2_000_000],
      [a, null, '2026-01-01 00:00:01.000001+00', 1_000_001],
      [b, p, '2026-01-01 00:00:03+00', 3_000_000],
      [a, null, '2026-01-01 00:00:02+00', 2_000_000],
      [a, null, '2026-01-01 00:00:04.5+00', 4_500_000],
      [a, null, '2025-12-31 23:59:59.999999+00', 0],
    ];
    const rows: { id: string; us: number }[] = [];
    for (const [u, project, at, us] of plan)
      rows.push({ id: await insertRecording(c, { userId: u.userId, projectId: project, createdAt: at }), us });
    // b's private one: never listed to a
    await insertRecording(c, { userId: b.userId, createdAt: '2026-01-01 00:00:02+00' });
    const expected = rows.sort((x, y) => y.us - x.us || Number(BigInt(y.id) - BigInt(x.id))).map((r) => r.id);

    for (const limit of [1, 2, 4]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 20; page++) {
        const res = await as(a).get(`/api/recordings?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        expect(res.json.items.length).toBeLessThanOrEqual(limit);
        seen.push(...ids(res.json.items));
        cursor = res.json.nextCursor;
        if (!cursor) break;
      }
      expect(seen, `limit ${limit}`).toEqual(expected);
    }
    const all = await as(a).get('/api/recordings');
    expect(ids(all.json.items)).toEqual(expected);
    expect(all.json.nextCursor).toBeNull();
  });

  it('filters by type, status, quality and project, alone and combined', async () => {
    const [a, b] = [await signUp(t.url, 'a'), await signUp(t.url, 'b')];
    const p = await insertProject(c, a.userId);
    await addMember(c, p, b.userId, 'viewer');
    const r1 = await insertRecording(c, { userId: a.userId, type: 'screen', status: 'completed', quality: 'low' });
    const r2 = await insertRecording(c, { userId: a.userId, type: 'audio', status: 'failed', quality: 'high' });
    const r3 = await insertRecording(c, {
      userId: a.userId,
      type: 'screen',
      status: 'processing',
      quality: 'medium',
      projectId: p,
    });
    const r4 = await insertRecording(c, { userId: a.userId, type: 'camera', status: 'completed', quality: 'high' });
    const got = async (u: User, q: string) => {
      const res = await as(u).get(`/api/recordings?${q}`);
      expect(res.status, q).toBe(200);
      return ids(res.json.items).sort();
    };
    expect(await got(a, 'type=screen')).toEqual([r1, r3].sort());
    expect(await got(a, 'type=slides')).toEqual([]);
    expect(await got(a, 'status=failed')).toEqual([r2]);
    expect(await got(a, 'status=completed')).toEqual([r1, r4].sort());
    expect(await got(a, 'quality=medium')).toEqual([r3]);
    expect(await got(a, 'quality=high')).toEqual([r2, r4].sort());
    expect(await got(a, `projectId=${p}`)).toEqual([r3]);
    expect(await got(a, 'type=screen&status=completed')).toEqual([r1]);
    expect(await got(b, `projectId=${p}`)).toEqual([r3]);
    expect(await got(b, `projectId=${p}&status=completed`)).toEqual([]);
  });

  it('searches title and description case-insensitively, with % and _ matching literally', async () => {
    const a = await signUp(t.url, 'a');
    const mk = (title: string, description: string | null = null) =>
      insertRecording(c, { userId: a.userId, title, description });
    const review = await mk('Quarterly REVIEW');
    const notes = await mk('Monday', 'notes from the review');
    const percent = await mk('100% done');
    const percentLike = await mk('100 percent');
    const snake = await mk('about snake_case');
    await mk('about snakeXcase');
    const backslash = await mk('C:\\temp');
    await mk('nothing to see');
    const q = async (s: string) =>
      ids((await as(a).get(`/api/recordings?q=${encodeURIComponent(s)}`)).json.items).sort();
    expect(await q('review')).toEqual([review, notes].sort());
    expect(await q('rEvIeW')).toEqual([review, notes].sort());
    expect(await q('100%')).toEqual([percent]);
    expect(await q('100')).toEqual([percent, percentLike].sort());
    expect(await q('e_c')).toEqual([snake]);
    expect(await q('%')).toEqual([percent]);
    expect(await q('_')).toEqual([snake]);
    expect(await q('\\t')).toEqual([backslash]);
    expect(await q('no such words')).toEqual([]);
  });

  it("shows project members each other's recordings with rights by role, and nobody else's private ones", async () => {
    const [owner, editor, viewer, outsider] = [
      await signUp(t.url, 'o'),
      await signUp(t.url, 'e'),
      await signUp(t.url, 'v'),
      await signUp(t.url, 'x'),
    ];
    const p = await insertProject(c, owner.userId);
    await addMember(c, p, editor.userId, 'editor');
    await addMember(c, p, viewer.userId, 'viewer');
    const shared = await insertRecording(c, { userId: editor.userId, projectId: p });
    const ownerPrivate = await insertRecording(c, { userId: owner.userId });
    const editorPrivate = await insertRecording(c, { userId: editor.userId });
    const rights = async (u: User) =>
      Object.fromEntries(
        ((await as(u).get('/api/recordings')).json.items as Rights[]).map((i) => [i.id, [i.canEdit, i.canDelete]]),
      );
    expect(await rights(owner)).toEqual({ [shared]: [true, true], [ownerPrivate]: [true, true] });
    expect(await rights(editor)).toEqual({ [shared]: [true, true], [editorPrivate]: [true, true] });
    expect(await rights(viewer)).toEqual({ [shared]: [false, false] });
    expect(await rights(outsider)).toEqual({});
    const ownerShared = await insertRecording(c, { userId: owner.userId, projectId: p });
    expect((await as(editor).get(`/api/recordings/${ownerShared}`)).json).toMatchObject({
      canEdit: true,
      canDelete: false,
    });
    expect((await as(viewer).get(`/api/recordings/${ownerShared}`)).json).toMatchObject({
      canEdit: false,
      canDelete: false,
    });
  });

  it('returns one recording with its status, progress while processing and error when failed', async () => {
    const a = await signUp(t.url, 'a');
    const processing = await insertRecording(c, {
      userId: a.userId,
      status: 'processing',
      metadata: { progress: 0.4 },
      title: 'Talk',
      description: 'd',
    });
    const failed = await insertRecording(c, {
      userId: a.userId,
      status: 'failed',
      metadata: { error: 'ffprobe: Invalid data', progress: 0.2 },
    });
    const done = await insertRecording(c, {
      userId: a.userId,
      status: 'completed',
      metadata: { progress: 1, error: 'old' },
    });
    const one = await as(a).get(`/api/recordings/${processing}`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({
      id: processing,
      userId: a.userId,
      projectId: null,
      title: 'Talk',
      description: 'd',
      status: 'processing',
      progress: 0.4,
      error: null,
      mediaUrl: null,
      canEdit: true,
      canDelete: true,
    });
    expect((await as(a).get(`/api/recordings/${failed}`)).json).toMatchObject({
      status: 'failed',
      progress: null,
      error: 'ffprobe: Invalid data',
    });
    expect((await as(a).get(`/api/recordings/${done}`)).json).toMatchObject({
      status: 'completed',
      progress: null,
      error: null,
    });
  });

  it('changes title, description and project: into a project where you edit, and out with null', async () => {
    const [a, b] = [await signUp(t.url, 'a'), await signUp(t.url, 'b')];
    const p = await insertProject(c, b.userId);
    await addMember(c, p, a.userId, 'editor');
    const id = await insertRecording(c, { userId: a.userId, title: 'old', description: 'old d' });
    const row = async () =>
      (await c.query('SELECT title, description, project_id::text FROM recordings WHERE id = $1', [id])).rows[0];

    const r1 = await as(a).patch(`/api/recordings/${id}`, { title: '  New title  ', description: 'new d' });
    expect(r1.status).toBe(200);
    expect(r1.json).toMatchObject({ id, title: 'New title', description: 'new d', projectId: null });
    expect(await row()).toEqual({ title: 'New title', description: 'new d', project_id: null });

    const r2 = await as(a).patch(`/api/recordings/${id}`, { projectId: p, description: null });
    expect(r2.status).toBe(200);
    expect(r2.json).toMatchObject({ projectId: p, description: null, title: 'New title' });
    expect(await row()).toEqual({ title: 'New title', description: null, project_id: p });
    expect(ids((await as(b).get(`/api/recordings?projectId=${p}`)).json.items)).toEqual([id]);

    const r3 = await as(a).patch(`/api/recordings/${id}`, { projectId: null });
    expect(r3.status).toBe(200);
    expect(r3.json.projectId).toBeNull();
    expect((await row()).project_id).toBeNull();
    expect((await as(b).get(`/api/recordings/${id}`)).status).toBe(404);
  });

  it('deletes: 204, the row goes, its prefix is queued, and draining the outbox removes the objects', async () => {
    const a = await signUp(t.url, 'a');
    const id = await insertRecording(c, { userId: a.userId });
    const { key } = await attachMedia(c, t.server.storage, { userId: a.userId, id }, media);
    await t.server.storage.put(thumbnailKey(a.userId, id), fx.png);
    const jobs = async () =>
      Number((await c.query(`SELECT count(*) FROM pgboss.job WHERE name = 'storage-delete'`)).rows[0].count);
    const jobsBefore = await jobs();

    const res = await as(a).delete(`/api/recordings/${id}`);
    expect(res.status).toBe(204);
    expect((await c.query('SELECT 1 FROM recordings WHERE id = $1', [id])).rowCount).toBe(0);
    const prefix = recordingPrefix(a.userId, id);
    const outbox = await c.query(
      'SELECT storage_provider, storage_bucket, storage_key FROM storage_deletions WHERE storage_key = $1',
      [prefix],
    );
    expect(outbox.rows).toEqual([{ storage_provider: 'local', storage_bucket: null, storage_key: prefix }]);
    expect(await jobs()).toBe(jobsBefore + 1);
    expect(await t.server.storage.exists(key)).toBe(true); // the job removes the media, not the request

    const drained = await drainDeletions({ db: t.server.database.db, storage: t.server.storage, logger });
    expect(drained.deleted).toBeGreaterThanOrEqual(1);
    expect(await t.server.storage.exists(key)).toBe(false);
    const left = [];
    for await (const o of t.server.storage.list(prefix)) left.push(o.key);
    expect(left).toEqual([]);
    expect((await c.query('SELECT 1 FROM storage_deletions WHERE storage_key = $1', [prefix])).rowCount).toBe(0);
    expect((await as(a).get(`/api/recordings/${id}`)).status).toBe(404);
  });

  it('retries a failed recording: processing again, then completed by the worker', async () => {
    const w = await startTestServer(target); // with workers
    const wc = await connect(w.dbUrl);
    try {
      const a = await signUp(w.url, 'a');
      const id = await insertRecording(wc, {
        userId: a.userId,
        status: 'failed',
        metadata: { error: 'killed mid-way', progress: 0.7 },
      });
      await attachMedia(wc, w.server.storage, { userId: a.userId, id }, media);
      const retry = await call(w.url, 'POST', `/api/recordings/${id}/retry`, a.headers);
      expect(retry.status).toBe(200);
      expect(retry.json).toMatchObject({ id, status: 'processing', progress: 0, error: null });
      const done = await waitFor(
        async () => {
          const r = (await call(w.url, 'GET', `/api/recordings/${id}`, a.headers)).json;
          return r.status === 'processing' ? undefined : r;
        },
        30_000,
        'the worker to process the recording',
      );
      expect(done).toMatchObject({
        status: 'completed',
        error: null,
        progress: null,
        thumbnailUrl: `/api/recordings/${id}/thumbnail`,
      });
      expect(done.metadata).toMatchObject({ duration_fixed: true, width: 320, height: 240 });
      // Opus framing makes the 3 s fixture 3.0xx s; the row keeps the nearest whole second.
      expect(Math.abs(done.metadata.duration_ms - 3000)).toBeLessThan(100);
      expect(done.duration).toBe(3);
    } finally {
      await wc.end();
      await w.close();
    }
  });
});
