/**
 * The recordings API refusing what it must: other users' recordings look exactly like missing ones,
 * project roles limit edits and deletes, bad input gets a 400 with a code, conflicts a 409, and
 * nobody gets in without signing in. Real server, database and storage.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { signUp, type TestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import {
  addMember,
  attachMedia,
  call,
  insertProject,
  insertRecording,
  withTestServer,
} from './support/recordings-fixtures.js';

type User = Awaited<ReturnType<typeof signUp>>;
const BYTES = Buffer.from('\x1aE\xdf\xa3 not really a webm, but bytes to stream', 'latin1');

describe.each(pgTargets())('recordings API refusals on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  const req = (u: User | undefined, method: string, path: string, body?: unknown) =>
    call(t.url, method, path, u?.headers ?? { origin: t.url }, body);
  /** Every route of one recording, as [method, path, body]. */
  const routes = (id: string): [string, string, unknown?][] => [
    ['GET', `/api/recordings/${id}`],
    ['PATCH', `/api/recordings/${id}`, { title: 'mine now' }],
    ['DELETE', `/api/recordings/${id}`],
    ['GET', `/api/recordings/${id}/media`],
    ['HEAD', `/api/recordings/${id}/media`],
    ['GET', `/api/recordings/${id}/thumbnail`],
    ['POST', `/api/recordings/${id}/retry`],
  ];

  it("answers another user's recording exactly like one that does not exist (404 RECORDING_NOT_FOUND)", async () => {
    const [owner, other] = [await signUp(t.url, 'owner'), await signUp(t.url, 'other')];
    const id = await insertRecording(c, {
      userId: owner.userId,
      status: 'failed',
      metadata: { error: 'x', thumbnail_key: 'k' },
    });
    await attachMedia(c, t.server.storage, { userId: owner.userId, id }, BYTES);
    const missing = String(BigInt(id) + 1_000_000n);
    for (const [i, [method, path, body]] of routes(id).entries()) {
      const theirs = await req(other, method, path, body);
      const none = await req(other, method, routes(missing)[i]![1], body);
      expect(theirs.status, `${method} ${path}`).toBe(404);
      expect(none.status, `${method} missing`).toBe(404);
      if (method !== 'HEAD') {
        expect(theirs.json).toEqual({ code: 'RECORDING_NOT_FOUND', message: 'No such recording' });
        expect(none.json).toEqual(theirs.json);
      }
    }
    // Nothing changed, and the owner still sees it all.
    const row = (await c.query('SELECT title, status FROM recordings WHERE id = $1', [id])).rows[0];
    expect(row).toMatchObject({ status: 'failed' });
    expect(row.title).not.toBe('mine now');
    expect((await req(owner, 'GET', `/api/recordings/${id}/media`)).status).toBe(200);
  });

  it('answers ids beyond bigint like missing ones, not with a 500', async () => {
    const u = await signUp(t.url, 'u');
    for (const [method, path, body] of routes('9223372036854775808')) {
      const res = await req(u, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      if (method !== 'HEAD') expect(res.json.code).toBe('RECORDING_NOT_FOUND');
    }
    const id = await insertRecording(c, { userId: u.userId });
    const move = await req(u, 'PATCH', `/api/recordings/${id}`, { projectId: '9999999999999999999' });
    expect([move.status, move.json.code]).toEqual([404, 'PROJECT_NOT_FOUND']);
    const list = await req(u, 'GET', '/api/recordings?projectId=9999999999999999999');
    expect([list.status, list.json.code]).toEqual([404, 'PROJECT_NOT_FOUND']);
  });

  it('limits members by role: viewers cannot edit or delete, editors cannot delete others, owners can', async () => {
    const [owner, editor, viewer, author] = [
      await signUp(t.url, 'o'),
      await signUp(t.url, 'e'),
      await signUp(t.url, 'v'),
      await signUp(t.url, 'a'),
    ];
    const p = await insertProject(c, owner.userId);
    await addMember(c, p, editor.userId, 'editor');
    await addMember(c, p, viewer.userId, 'viewer');
    await addMember(c, p, author.userId, 'editor');
    const id = await insertRecording(c, { userId: author.userId, projectId: p, title: 'by author', status: 'failed' });
    const exists = async () => (await c.query('SELECT 1 FROM recordings WHERE id = $1', [id])).rowCount === 1;

    const viewerPatch = await req(viewer, 'PATCH', `/api/recordings/${id}`, { title: 'viewer was here' });
    expect([viewerPatch.status, viewerPatch.json.code]).toEqual([403, 'FORBIDDEN']);
    const viewerRetry = await req(viewer, 'POST', `/api/recordings/${id}/retry`);
    expect([viewerRetry.status, viewerRetry.json.code]).toEqual([403, 'FORBIDDEN']);
    const viewerDelete = await req(viewer, 'DELETE', `/api/recordings/${id}`);
    expect([viewerDelete.status, viewerDelete.json.code]).toEqual([403, 'FORBIDDEN']);
    const editorDelete = await req(editor, 'DELETE', `/api/recordings/${id}`);
    expect([editorDelete.status, editorDelete.json.code]).toEqual([403, 'FORBIDDEN']);
    expect(await exists()).toBe(true);
    expect((await c.query('SELECT title, status FROM recordings WHERE id = $1', [id])).rows[0]).toEqual({
      title: 'by author',
      status: 'failed',
    });

    expect((await req(editor, 'PATCH', `/api/recordings/${id}`, { title: 'edited' })).status).toBe(200);
    expect((await req(owner, 'DELETE', `/api/recordings/${id}`)).status).toBe(204);
    expect(await exists()).toBe(false);
  });

  it('refuses moving a recording into a project you are not in (404) or only view (403)', async () => {
    const [me, other] = [await signUp(t.url, 'me'), await signUp(t.url, 'other')];
    const foreign = await insertProject(c, other.userId);
    const viewing = await insertProject(c, other.userId);
    await addMember(c, viewing, me.userId, 'viewer');
    const id = await insertRecording(c, { userId: me.userId });
    const a = await req(me, 'PATCH', `/api/recordings/${id}`, { projectId: foreign });
    expect([a.status, a.json.code]).toEqual([404, 'PROJECT_NOT_FOUND']);
    const none = await req(me, 'PATCH', `/api/recordings/${id}`, { projectId: String(BigInt(viewing) + 1000n) });
    expect(none.json).toEqual(a.json);
    const b = await req(me, 'PATCH', `/api/recordings/${id}`, { projectId: viewing, title: 'moved' });
    expect([b.status, b.json.code]).toEqual([403, 'FORBIDDEN']);
    expect((await c.query('SELECT title, project_id FROM recordings WHERE id = $1', [id])).rows[0]).toMatchObject({
      project_id: null,
    });
    expect((await c.query('SELECT title FROM recordings WHERE id = $1', [id])).rows[0].title).not.toBe('moved');
    const list = await req(me, 'GET', `/api/recordings?projectId=${foreign}`);
    expect([list.status, list.json.code]).toEqual([404, 'PROJECT_NOT_FOUND']);
  });

  it('rejects bad list parameters with 400 and a code', async () => {
    const u = await signUp(t.url, 'u');
    await insertRecording(c, { userId: u.userId });
    const cases: [string, string][] = [
      ['limit=0', 'VALIDATION_FAILED'],
      ['limit=101', 'VALIDATION_FAILED'],
      ['limit=ten', 'VALIDATION_FAILED'],
      ['type=video', 'VALIDATION_FAILED'],
      ['status=done', 'VALIDATION_FAILED'],
      ['quality=ultra', 'VALIDATION_FAILED'],
      ['projectId=abc', 'VALIDATION_FAILED'],
      ['q=', 'VALIDATION_FAILED'],
      ['unknown=1', 'VALIDATION_FAILED'],
      ['cursor=garbage', 'INVALID_CURSOR'],
      [`cursor=${Buffer.from('["yesterday","1"]').toString('base64url')}`, 'INVALID_CURSOR'],
      [`cursor=${Buffer.from('["1","1"]').toString('base64url')}`, 'INVALID_CURSOR'],
      [
        `cursor=${Buffer.from('["2026-01-01 00:00:00+00","9999999999999999999"]').toString('base64url')}`,
        'INVALID_CURSOR',
      ],
      [`cursor=${Buffer.from('["2026-02-31 00:00:00+00","1"]').toString('base64url')}`, 'INVALID_CURSOR'],
      [`cursor=${Buffer.from('["2026-01-01 00:00:00+99","1"]').toString('base64url')}`, 'INVALID_CURSOR'],
      [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'INVALID_CURSOR'],
      ['q=a%00b', 'INVALID_TEXT'],
    ];
    for (const [query, code] of cases) {
      const res = await req(u, 'GET', `/api/recordings?${query}`);
      expect([res.status, res.json?.code], query).toEqual([400, code]);
    }
    expect((await req(u, 'GET', '/api/recordings?limit=100')).status).toBe(200);
    expect((await req(u, 'GET', '/api/recordings?limit=1')).status).toBe(200);
  });

  it('rejects PATCH bodies that change nothing or hold unknown or invalid fields, changing nothing', async () => {
    const u = await signUp(t.url, 'u');
    const id = await insertRecording(c, { userId: u.userId, title: 'kept' });
    for (const body of [
      {},
      { foo: 1 },
      { title: '' },
      { title: '   ' },
      { title: { text: 'x' } },
      { projectId: 'abc' },
      { title: 'x'.repeat(301) },
    ]) {
      const res = await req(u, 'PATCH', `/api/recordings/${id}`, body);
      expect([res.status, res.json?.code], JSON.stringify(body).slice(0, 40)).toEqual([400, 'VALIDATION_FAILED']);
    }
    for (const body of [{ title: 'a\u0000b' }, { description: '\u0000' }]) {
      const res = await req(u, 'PATCH', `/api/recordings/${id}`, body);
      expect([res.status, res.json?.code], JSON.stringify(body)).toEqual([400, 'INVALID_TEXT']);
    }
    expect((await c.query('SELECT title FROM recordings WHERE id = $1', [id])).rows[0].title).toBe('kept');
  });

  it('refuses retrying a recording that did not fail (409 NOT_RETRYABLE)', async () => {
    const u = await signUp(t.url, 'u');
    for (const status of ['completed', 'processing'] as const) {
      const id = await insertRecording(c, { userId: u.userId, status });
      const res = await req(u, 'POST', `/api/recordings/${id}/retry`);
      expect([res.status, res.json.code], status).toEqual([409, 'NOT_RETRYABLE']);
      expect((await c.query('SELECT status FROM recordings WHERE id = $1', [id])).rows[0].status).toBe(status);
    }
  });

  it('answers 409 MEDIA_UNAVAILABLE for media without a key, a missing object, or no thumbnail yet', async () => {
    const u = await signUp(t.url, 'u');
    const noKey = await insertRecording(c, { userId: u.userId });
    const gone = await insertRecording(c, { userId: u.userId });
    const { key } = await attachMedia(c, t.server.storage, { userId: u.userId, id: gone }, BYTES);
    await t.server.storage.delete(key);
    for (const path of [
      `/api/recordings/${noKey}/media`,
      `/api/recordings/${gone}/media`,
      `/api/recordings/${gone}/thumbnail`,
    ]) {
      const res = await req(u, 'GET', path);
      expect([res.status, res.json?.code], path).toEqual([409, 'MEDIA_UNAVAILABLE']);
    }
    expect((await req(u, 'GET', `/api/recordings/${noKey}`)).json.mediaUrl).toBeNull();
  });

  it('answers 401 to requests without a session, and changes nothing', async () => {
    const u = await signUp(t.url, 'u');
    const id = await insertRecording(c, { userId: u.userId, status: 'failed' });
    for (const [method, path, body] of [['GET', '/api/recordings'] as [string, string], ...routes(id)]) {
      const res = await req(undefined, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(401);
      if (method !== 'HEAD') expect(res.json.code).toBe('UNAUTHENTICATED');
    }
    const bogus = await call(t.url, 'GET', '/api/recordings', { cookie: 'recorder_session=nope' });
    expect(bogus.status).toBe(401);
    expect((await c.query('SELECT status FROM recordings WHERE id = $1', [id])).rows[0].status).toBe('failed');
  });
});
