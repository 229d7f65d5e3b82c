/**
 * Projects over HTTP, what must be refused: strangers, too low a role, unknown users, double membership, the last
 * owner, bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connect, pgTargets } from './support/db.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type User = Awaited<ReturnType<typeof signUp>>;

describe.each(pgTargets())('projects failures on $name', (target) => {
  let t: TestServer;
  let sql: pg.Client;
  beforeAll(async () => {
    t = await startTestServer(target, { JOBS_ENABLED: 'false' });
    sql = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /**
   * inject as `as` (or anonymously), with the listening server's Host so that its Origin passes the same-origin
   * check.
   */
  async function call(as: User | null, method: Method, url: string, payload?: object) {
    const res = await t.server.app.inject({
      method,
      url,
      headers: { host: new URL(t.url).host, ...(as?.headers ?? {}) },
      ...(payload ? { payload } : {}),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  }
  /** An owner, an editor, a viewer and a stranger around one project. */
  async function team() {
    const [owner, editor, viewer, stranger] = await Promise.all(
      ['owner', 'editor', 'viewer', 'stranger'].map((n) => signUp(t.url, n)),
    );
    const res = await call(owner!, 'POST', '/api/projects', { name: 'Team' });
    expect(res.status).toBe(201);
    const id: string = res.body.id;
    expect(
      (await call(owner!, 'POST', `/api/projects/${id}/members`, { email: editor!.email, role: 'editor' })).status,
    ).toBe(201);
    expect(
      (await call(owner!, 'POST', `/api/projects/${id}/members`, { email: viewer!.email, role: 'viewer' })).status,
    ).toBe(201);
    return { owner: owner!, editor: editor!, viewer: viewer!, stranger: stranger!, id };
  }
  /** What the database holds of the project: its name and members with their roles. */
  async function state(id: string) {
    const p = await sql.query('SELECT name FROM projects WHERE id = $1', [id]);
    const m = await sql.query('SELECT user_id, role FROM project_members WHERE project_id = $1 ORDER BY created_at', [
      id,
    ]);
    return { project: p.rows, members: m.rows };
  }

  it('401 UNAUTHENTICATED without a session', async () => {
    for (const [method, url] of [
      ['GET', '/api/projects'],
      ['POST', '/api/projects'],
      ['GET', '/api/projects/1'],
    ] as const) {
      const res = await call(null, method, url, method === 'POST' ? { name: 'x' } : undefined);
      expect(res.status, `${method} ${url}`).toBe(401);
      expect(res.body).toEqual({ code: 'UNAUTHENTICATED', message: 'Sign in first' });
    }
  });

  it("another user's project is 404 PROJECT_NOT_FOUND for every action (never 403), and nothing changes", async () => {
    const { owner, stranger, editor, id } = await team();
    const before = await state(id);
    const attempts: [Method, string, object?][] = [
      ['GET', `/api/projects/${id}`],
      ['PATCH', `/api/projects/${id}`, { name: 'mine now' }],
      ['DELETE', `/api/projects/${id}`],
      ['GET', `/api/projects/${id}/members`],
      ['POST', `/api/projects/${id}/members`, { email: stranger.email, role: 'owner' }],
      ['PATCH', `/api/projects/${id}/members/${editor.userId}`, { role: 'viewer' }],
      ['DELETE', `/api/projects/${id}/members/${editor.userId}`],
      ['DELETE', `/api/projects/${id}/members/${stranger.userId}`],
    ];
    for (const [method, url, body] of attempts) {
      const res = await call(stranger, method, url, body);
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body).toEqual({ code: 'PROJECT_NOT_FOUND', message: 'No such project' });
    }
    // The same answer as for a project that does not exist at all.
    expect((await call(stranger, 'GET', '/api/projects/999999999')).body).toEqual({
      code: 'PROJECT_NOT_FOUND',
      message: 'No such project',
    });
    expect((await call(stranger, 'GET', '/api/projects')).body).toEqual({ items: [] });
    expect(await state(id)).toEqual(before);
    expect((await call(owner, 'GET', `/api/projects/${id}`)).body.name).toBe('Team');
  });

  it('a viewer may read but not rename, manage members or delete → 403 FORBIDDEN', async () => {
    const { viewer, editor, stranger, id } = await team();
    const before = await state(id);
    expect((await call(viewer, 'GET', `/api/projects/${id}`)).status).toBe(200);
    expect((await call(viewer, 'GET', `/api/projects/${id}/members`)).status).toBe(200);
    const attempts: [Method, string, object?][] = [
      ['PATCH', `/api/projects/${id}`, { name: 'renamed by viewer' }],
      ['DELETE', `/api/projects/${id}`],
      ['POST', `/api/projects/${id}/members`, { email: stranger.email, role: 'viewer' }],
      ['PATCH', `/api/projects/${id}/members/${viewer.userId}`, { role: 'owner' }],
      ['DELETE', `/api/projects/${id}/members/${editor.userId}`],
    ];
    for (const [method, url, body] of attempts) {
      const res = await call(viewer, method, url, body);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body).toEqual({
        code: 'FORBIDDEN',
        message: 'Your role in this project (viewer) does not allow this',
      });
    }
    expect(await state(id)).toEqual(before);
  });

  it('an editor may rename but not delete the project or manage members → 403 FORBIDDEN', async () => {
    const { editor, viewer, stranger, id } = await team();
    const before = await state(id);
    const attempts: [Method, string, object?][] = [
      ['DELETE', `/api/projects/${id}`],
      ['POST', `/api/projects/${id}/members`, { email: stranger.email, role: 'editor' }],
      ['PATCH', `/api/projects/${id}/members/${viewer.userId}`, { role: 'editor' }],
      ['PATCH', `/api/projects/${id}/members/${editor.userId}`, { role: 'owner' }],
      ['DELETE', `/api/projects/${id}/members/${viewer.userId}`],
    ];
    for (const [method, url, body] of attempts) {
      const res = await call(editor, method, url, body);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body).toEqual({
        code: 'FORBIDDEN',
        message: 'Your role in this project (editor) does not allow this',
      });
    }
    expect(await state(id)).toEqual(before);
  });

  it('unknown email → 404 USER_NOT_FOUND; a member again (or yourself) → 409 ALREADY_MEMBER, role kept', async () => {
    const { owner, viewer, id } = await team();
    const before = await state(id);
    const unknown = await call(owner, 'POST', `/api/projects/${id}/members`, {
      email: `nobody-${owner.userId}@example.com`,
      role: 'editor',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ code: 'USER_NOT_FOUND', message: 'No user with that email' });
    for (const email of [viewer.email, viewer.email.toUpperCase(), owner.email]) {
      const res = await call(owner, 'POST', `/api/projects/${id}/members`, { email, role: 'editor' });
      expect(res.status, email).toBe(409);
      expect(res.body).toEqual({ code: 'ALREADY_MEMBER', message: 'That user is a member of the project already' });
    }
    expect(await state(id)).toEqual(before);
  });

  it('the last owner can neither leave, be removed nor be demoted → 409 LAST_OWNER', async () => {
    const { owner, id } = await team();
    const before = await state(id);
    for (const [method, body] of [['DELETE'], ['PATCH', { role: 'editor' }], ['PATCH', { role: 'viewer' }]] as [
      Method,
      object?,
    ][]) {
      const res = await call(owner, method, `/api/projects/${id}/members/${owner.userId}`, body);
      expect(res.status, `${method} ${JSON.stringify(body)}`).toBe(409);
      expect(res.body).toEqual({ code: 'LAST_OWNER', message: 'A project keeps at least one owner' });
    }
    // Setting the sole owner to owner again changes nothing and is fine.
    expect((await call(owner, 'PATCH', `/api/projects/${id}/members/${owner.userId}`, { role: 'owner' })).status).toBe(
      204,
    );
    expect(await state(id)).toEqual(before);
  });

  it('a role change or removal for someone who is not a member → 404 NOT_FOUND', async () => {
    const { owner, stranger, id } = await team();
    const before = await state(id);
    for (const [method, body] of [['PATCH', { role: 'editor' }], ['DELETE']] as [Method, object?][]) {
      const res = await call(owner, method, `/api/projects/${id}/members/${stranger.userId}`, body);
      expect(res.status, method).toBe(404);
      expect(res.body).toEqual({ code: 'NOT_FOUND', message: 'That user is not a member of the project' });
    }
    expect(await state(id)).toEqual(before);
  });

  describe('bad input', () => {
    it.each(['abc', '0', '-1', '01', '1.5', '12345678901234567890'])(
      'project id %j in the path → 404 PROJECT_NOT_FOUND, like an id no project has',
      async (bad) => {
        const { owner } = await team();
        for (const [method, url, body] of [
          ['GET', `/api/projects/${bad}`],
          ['PATCH', `/api/projects/${bad}`, { name: 'x' }],
          ['DELETE', `/api/projects/${bad}`],
          ['GET', `/api/projects/${bad}/members`],
        ] as [Method, string, object?][]) {
          const res = await call(owner, method, url, body);
          expect(res.status, `${method} ${url}`).toBe(404);
          expect(res.body).toMatchObject({ code: 'PROJECT_NOT_FOUND' });
        }
      },
    );

    it('a project id beyond bigint → 404 PROJECT_NOT_FOUND, not a 500', async () => {
      const { owner } = await team();
      for (const [method, url] of [
        ['GET', '/api/projects/9999999999999999999'],
        ['DELETE', '/api/projects/9223372036854775808'],
      ] as const) {
        const res = await call(owner, method, url);
        expect(res.status, url).toBe(404);
        expect(res.body).toEqual({ code: 'PROJECT_NOT_FOUND', message: 'No such project' });
      }
    });

    it('a malformed member id → 400; a malformed email or role when adding → 400 naming the field', async () => {
      const { owner, viewer, id } = await team();
      const badUser = await call(owner, 'DELETE', `/api/projects/${id}/members/not%20valid`);
      expect(badUser.status).toBe(400);
      expect(badUser.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'userId' }] });
      const badEmail = await call(owner, 'POST', `/api/projects/${id}/members`, { email: 'nope', role: 'viewer' });
      expect(badEmail.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'email' }] });
      const badRole = await call(owner, 'PATCH', `/api/projects/${id}/members/${viewer.userId}`, { role: 'admin' });
      expect(badRole.status).toBe(400);
      expect(badRole.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'role', params: { allowedValues: ['owner', 'editor', 'viewer'] } }],
      });
      expect((await state(id)).members).toContainEqual({ user_id: viewer.userId, role: 'viewer' });
    });

    it.each([
      ['empty', '', 'name', { limit: 1 }],
      ['blank', ' \t\n ', 'name', { pattern: '\\S' }],
      ['201 characters', 'x'.repeat(201), 'name', { limit: 200 }],
      ['missing', undefined, 'name', { missingProperty: 'name' }],
    ])('a name that is %s → 400 on create and on rename, nothing stored', async (_what, name, field, params) => {
      const { owner, id } = await team();
      const body = name === undefined ? {} : { name };
      const count = async () =>
        (await sql.query('SELECT 1 FROM projects WHERE owner_id = $1', [owner.userId])).rowCount;
      for (const [method, url] of [
        ['POST', '/api/projects'],
        ['PATCH', `/api/projects/${id}`],
      ] as const) {
        const res = await call(owner, method, url, body);
        expect(res.status, method).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(res.body.errors).toContainEqual(expect.objectContaining({ field, params }));
      }
      expect(await count()).toBe(1);
      expect((await state(id)).project).toEqual([{ name: 'Team' }]);
    });

    it('a name of exactly 200 characters is accepted', async () => {
      const { owner, id } = await team();
      const name = 'y'.repeat(200);
      expect((await call(owner, 'PATCH', `/api/projects/${id}`, { name })).body).toMatchObject({ id, name });
      expect((await call(owner, 'POST', '/api/projects', { name })).status).toBe(201);
    });
  });
});
