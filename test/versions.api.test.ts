/**
 * Versions (issue 12) over a real server, database, local storage and ffmpeg: "Save as new version" (202,
 * If-Match, the 409s), the render job run here (jobs are off in these servers), the version ready and
 * current, the media served (current, ?version=original, ?version=<id>), the recording's playable facts,
 * choosing the original again, a render ffmpeg refuses (failed with the reason, original untouched),
 * deletion through the outbox, permissions, and the cascade when the recording goes.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionsService } from '../src/server/jobs/render-version.js';
import { drainDeletions } from '../src/server/jobs/storage-maintenance.js';
import { createLogger } from '../src/server/logger.js';
import { detectTools, type MediaTools } from '../src/server/media/ffmpeg.js';
import { versionKey, versionThumbnailKey } from '../src/server/storage/keys.js';
import type { Edit } from '../src/shared/edits.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import {
  addMember,
  attachMedia,
  call,
  insertProject,
  insertRecording,
  readObject,
  sha256,
  waitFor,
  withTestServer,
} from './support/recordings-fixtures.js';
import { makeRenderMedia, type RenderMedia } from './support/render-media.js';

type User = Awaited<ReturnType<typeof signUp>>;
const logger = createLogger('silent');
let tools: MediaTools;
let media: RenderMedia;

beforeAll(async () => {
  media = await makeRenderMedia();
  const report = await detectTools();
  if (!report.tools) throw new Error('these tests need ffmpeg and ffprobe');
  tools = report.tools;
});
afterAll(() => media?.cleanup());

describe.each(pgTargets())('versions API on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  const api = (u: User) => ({
    get: (path: string) => call(t.url, 'GET', path, u.headers),
    post: (path: string, body?: unknown, h: Record<string, string> = {}) =>
      call(t.url, 'POST', path, { ...u.headers, ...h }, body),
    put: (path: string, body: unknown) => call(t.url, 'PUT', path, u.headers, body),
    delete: (path: string) => call(t.url, 'DELETE', path, u.headers),
  });
  const service = () =>
    versionsService({
      db: t.server.database.db,
      storage: t.server.storages,
      tools,
      logger,
      queue: { send: async () => {} },
    });

  /** A processed 4 s 160×120 recording with its media stored; returns its id and the original's sha256. */
  async function recording(u: User, opts: { projectId?: string; bytes?: Buffer | string } = {}) {
    const id = await insertRecording(c, {
      userId: u.userId,
      projectId: opts.projectId ?? null,
      // as processing records it; a recording without the stream facts is probed by the render instead
      metadata: {
        duration_ms: 4000,
        width: 160,
        height: 120,
        ...(opts.bytes ? {} : { has_video: true, has_audio: true }),
      },
    });
    const stored = await attachMedia(c, t.server.storage, { userId: u.userId, id }, opts.bytes ?? media.webm);
    return { id, original: stored };
  }

  /** Edits through the edits API, each on the revision the last one answered. */
  async function edit(u: User, id: string, ...edits: Edit[]): Promise<string> {
    let revision = (await api(u).get(`/api/recordings/${id}/edits`)).json.revision as string;
    for (const e of edits) {
      const res = await api(u).post(`/api/recordings/${id}/edits`, e, { 'if-match': `"${revision}"` });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      revision = res.json.revision as string;
    }
    return revision;
  }

  const trim: Edit = { type: 'trim', parameters: { start: 1, end: 3 } };
  const crop: Edit = { type: 'crop', parameters: { x: 20, y: 10, width: 80, height: 60 } };

  it('renders the active edits into a ready, current version; the recording plays it; the original stays', async () => {
    const a = await signUp(t.url, 'a');
    const { id, original } = await recording(a);
    const base = `/api/recordings/${id}/versions`;
    expect((await api(a).post(base)).json.code).toBe('NOTHING_TO_RENDER');

    const revision = await edit(a, id, trim, crop);
    const stale = await api(a).post(base, undefined, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ code: 'VERSION_STALE', details: { revision } });

    const asked = await api(a).post(base, undefined, { 'if-match': `"${revision}"` });
    expect(asked.status).toBe(202);
    const v = asked.json;
    expect(v).toMatchObject({ number: 1, status: 'rendering', current: false, editRevision: revision, mediaUrl: null });
    expect(v.edits).toMatchObject({ revision, state: { keep: [{ start: 1, end: 3 }], crop: crop.parameters } });
    expect((await api(a).get(base)).json).toMatchObject({ current: null, versions: [{ id: v.id }] });

    expect(await service().render(v.id)).toBe('done');
    const ready = (await api(a).get(`${base}/${v.id}`)).json;
    expect(ready).toMatchObject({ status: 'ready', progress: 1, current: true, width: 80, height: 60 });
    expect(ready.mimeType).toBe('video/webm');
    expect(Math.abs((ready.durationMs as number) - 2000)).toBeLessThanOrEqual(100);
    const key = versionKey(a.userId, id, v.id, 'webm');
    const stored = await readObject(t.server.storage, key);
    expect({ size: stored.length, sha: sha256(stored) }).toEqual({ size: ready.fileSize, sha: ready.sha256 });

    // the recording plays the version: its facts, and /media; ?version= picks either
    const rec = (await api(a).get(`/api/recordings/${id}`)).json;
    expect(rec).toMatchObject({ currentVersionId: v.id, duration: 2, originalDuration: 3 });
    expect(rec).toMatchObject({ fileSize: ready.fileSize, originalFileSize: original.size });
    expect(sha256((await api(a).get(`/api/recordings/${id}/media`)).body)).toBe(ready.sha256);
    expect(sha256((await api(a).get(`/api/recordings/${id}/media?version=${v.id}`)).body)).toBe(ready.sha256);
    const orig = await api(a).get(`/api/recordings/${id}/media?version=original`);
    expect(sha256(orig.body)).toBe(original.sha256);
    expect(sha256(await readObject(t.server.storage, original.key))).toBe(original.sha256);
    expect((await api(a).get(`/api/recordings/${id}/media?version=999999`)).json.code).toBe('VERSION_NOT_FOUND');
    // its own thumbnail (a frame of the cropped render), by a URL that names it
    expect(rec.thumbnailUrl).toBe(`/api/recordings/${id}/thumbnail?version=${v.id}`);
    const thumb = await api(a).get(rec.thumbnailUrl);
    expect([thumb.status, thumb.body.subarray(0, 2).toString('hex')]).toEqual([200, 'ffd8']);
    expect(thumb.body.equals(await readObject(t.server.storage, versionThumbnailKey(a.userId, id, v.id)))).toBe(true);

    // the original made current again, then the version
    const back = await api(a).put(`/api/recordings/${id}/current`, { versionId: null });
    expect(back.json).toMatchObject({ current: null, versions: [{ id: v.id, current: false }] });
    expect(sha256((await api(a).get(`/api/recordings/${id}/media`)).body)).toBe(original.sha256);
    expect((await api(a).get(`/api/recordings/${id}`)).json).toMatchObject({ currentVersionId: null, duration: 3 });
    expect((await api(a).put(`/api/recordings/${id}/current`, { versionId: v.id })).json.current).toBe(v.id);

    // a second render is number 2; deleting the current version makes the original current again
    const second = (await api(a).post(base)).json;
    expect(second.number).toBe(2);
    expect((await api(a).delete(`${base}/${v.id}`)).status).toBe(204);
    expect((await api(a).get(base)).json).toMatchObject({ current: null, versions: [{ id: second.id }] });
    const thumbKey = versionThumbnailKey(a.userId, id, v.id);
    const queued = await c.query(`SELECT storage_key FROM storage_deletions WHERE storage_key = ANY($1)`, [
      [key, thumbKey],
    ]);
    expect(queued.rows).toHaveLength(2);
    await drainDeletions({ db: t.server.database.db, storage: t.server.storages, logger });
    expect(await t.server.storage.exists(key)).toBe(false);
    expect(await t.server.storage.exists(thumbKey)).toBe(false);
    expect(await t.server.storage.exists(original.key)).toBe(true);
    expect((await api(a).delete(`${base}/${v.id}`)).json.code).toBe('VERSION_NOT_FOUND');

    // deleted while it renders: the render finds it gone and leaves nothing behind
    expect((await api(a).delete(`${base}/${second.id}`)).status).toBe(204);
    expect(await service().render(second.id)).toBe('gone');
  });

  it('a render ffmpeg refuses: the version failed with the reason (no paths), the original untouched', async () => {
    const a = await signUp(t.url, 'a');
    const { id, original } = await recording(a, { bytes: Buffer.from('not a recording at all, just text') });
    await edit(a, id, trim);
    const v = (await api(a).post(`/api/recordings/${id}/versions`)).json;
    expect(await service().render(v.id)).toBe('failed');
    const failed = (await api(a).get(`/api/recordings/${id}/versions/${v.id}`)).json;
    expect(failed).toMatchObject({ status: 'failed', current: false, mediaUrl: null });
    expect(failed.error).toMatch(/Invalid data|could not be read/i);
    expect(failed.error).not.toMatch(/\/tmp\/|users\//);
    expect(sha256(await readObject(t.server.storage, original.key))).toBe(original.sha256);
    const put = await api(a).put(`/api/recordings/${id}/current`, { versionId: v.id });
    expect(put.json.code).toBe('VERSION_NOT_READY');
    expect((await api(a).get(`/api/recordings/${id}`)).json.currentVersionId).toBeNull();
  });

  it('a recording still processing cannot be rendered (409)', async () => {
    const a = await signUp(t.url, 'a');
    const { id } = await recording(a);
    await edit(a, id, trim);
    await c.query(`UPDATE recordings SET status = 'processing' WHERE id = $1`, [id]);
    expect((await api(a).post(`/api/recordings/${id}/versions`)).json.code).toBe('RECORDING_PROCESSING');
  });

  it('permissions: owner and editors render and choose; viewers list; strangers learn nothing (404)', async () => {
    const [owner, ed, viewer, stranger] = (await Promise.all(['o', 'e', 'v', 's'].map((n) => signUp(t.url, n)))) as [
      User,
      User,
      User,
      User,
    ];
    const project = await insertProject(c, owner.userId);
    await addMember(c, project, ed.userId, 'editor');
    await addMember(c, project, viewer.userId, 'viewer');
    const { id } = await recording(owner, { projectId: project });
    await edit(owner, id, trim);
    const base = `/api/recordings/${id}/versions`;

    const v = await api(ed).post(base);
    expect(v.status).toBe(202);
    expect(v.json.createdBy).toBe(ed.userId);
    expect((await api(viewer).get(base)).status).toBe(200);
    expect((await api(viewer).get(`${base}/${v.json.id}`)).status).toBe(200);
    expect((await api(viewer).post(base)).status).toBe(403);
    expect((await api(viewer).delete(`${base}/${v.json.id}`)).status).toBe(403);
    expect((await api(viewer).put(`/api/recordings/${id}/current`, { versionId: null })).status).toBe(403);
    for (const res of [
      await api(stranger).get(base),
      await api(stranger).post(base),
      await api(stranger).get(`${base}/${v.json.id}`),
      await api(stranger).put(`/api/recordings/${id}/current`, { versionId: null }),
    ])
      expect(res.json.code).toBe('RECORDING_NOT_FOUND');

    // another recording's version id is no version of this one
    const other = await recording(owner);
    expect((await api(owner).get(`/api/recordings/${other.id}/versions/${v.json.id}`)).json.code).toBe(
      'VERSION_NOT_FOUND',
    );
    expect((await api(owner).put(`/api/recordings/${other.id}/current`, { versionId: v.json.id })).status).toBe(404);
    expect((await api(owner).put(`/api/recordings/${id}/current`, { versionId: 'x' })).status).toBe(400);
    // an id no bigint can hold is an unknown version, as an id no row has
    expect((await api(owner).get(`${base}/99999999999999999999`)).json.code).toBe('VERSION_NOT_FOUND');
  });

  it('versions go with their recording (rows, and objects under its prefix)', async () => {
    const a = await signUp(t.url, 'a');
    const { id } = await recording(a);
    await edit(a, id, trim);
    const v = (await api(a).post(`/api/recordings/${id}/versions`)).json;
    expect(await service().render(v.id)).toBe('done');
    const key = versionKey(a.userId, id, v.id, 'webm');
    expect(await t.server.storage.exists(key)).toBe(true);
    expect((await api(a).delete(`/api/recordings/${id}`)).status).toBe(204);
    const left = await c.query(`SELECT count(*)::int AS n FROM recording_versions WHERE recording_id = $1`, [id]);
    expect(left.rows[0].n).toBe(0);
    await drainDeletions({ db: t.server.database.db, storage: t.server.storages, logger });
    expect(await t.server.storage.exists(key)).toBe(false);
  });
});

describe.each(pgTargets().slice(0, 1))('the version-render job through the queue, on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  beforeAll(async () => {
    t = await startTestServer(target); // jobs on: the worker picks the render up
    c = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await c?.end();
    await t?.close();
  });

  it('POST renders in the background through the queue: the version becomes ready and current', async () => {
    const a = await signUp(t.url, 'a');
    const id = await insertRecording(c, {
      userId: a.userId,
      metadata: { duration_ms: 4000, width: 160, height: 120, has_video: true, has_audio: true },
    });
    await attachMedia(c, t.server.storage, { userId: a.userId, id }, media.webm);
    const revision = (await call(t.url, 'GET', `/api/recordings/${id}/edits`, a.headers)).json.revision as string;
    const trim = { type: 'trim', parameters: { start: 0.5, end: 3.5 } };
    const edited = await call(
      t.url,
      'POST',
      `/api/recordings/${id}/edits`,
      { ...a.headers, 'if-match': `"${revision}"` },
      trim,
    );
    expect(edited.status).toBe(201);
    const v = (await call(t.url, 'POST', `/api/recordings/${id}/versions`, a.headers)).json;
    // a worker killed mid-render is taken for dead after 15 min + 10 × the take's length, not the queue's 4 h
    const job = await c.query(
      `SELECT extract(epoch FROM expire_in)::int AS seconds FROM pgboss.job
        WHERE name = 'version-render' AND singleton_key = $1`,
      [v.id],
    );
    expect(job.rows[0].seconds).toBe(900 + 10 * 4);
    const ready = await waitFor(
      async () => {
        const now = (await call(t.url, 'GET', `/api/recordings/${id}/versions/${v.id}`, a.headers)).json;
        return now.status === 'rendering' ? undefined : now;
      },
      60_000,
      'the render',
    );
    expect(ready).toMatchObject({ status: 'ready', current: true, progress: 1 });
    expect(Math.abs((ready.durationMs as number) - 3000)).toBeLessThanOrEqual(100);
  });
});
