/** Projects over HTTP: create, list, get, rename, members and roles, leaving, deleting with its recordings. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connect, pgTargets } from './support/db.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type User = Awaited<ReturnType<typeof signUp>>;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each(pgTargets())('projects on $name', (target) => {
  let t: TestServer;
  let sql: pg.Client;
  // No job workers: the outbox drain must not empty storage_deletions before we look at it.
  beforeAll(async () => {
    t = await startTestServer(target, { JOBS_ENABLED: 'false' });
    sql = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /** inject as `as`, with the listening server's Host so that its Origin passes the same-origin check. */
  async function call(as: User, method: Method, url: string, payload?: object) {
    const res = await t.server.app.inject({
      method,
      url,
      headers: { host: new URL(t.url).host, ...as.headers },
      ...(payload ? { payload } : {}),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  }
  async function createProject(as: User, name: string): Promise<string> {
    const res = await call(as, 'POST', '/api/projects', { name });
    expect(res.status).toBe(201);
    return res.body.id;
  }
  /** A recording row with media, as an upload would leave it; returns its id. */
  async function insertRecording(userId: string, projectId: string | null, title: string): Promise<string> {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO recordings (user_id, project_id, title, recording_type, duration, storage_provider)
       VALUES ($1, $2, $3, 'screen', 12, 'local') RETURNING id`,
      [userId, projectId, title],
    );
    const id = rows[0]!.id;
    await sql.query(`UPDATE recordings SET storage_key = $2 WHERE id = $1`, [
      id,
      `users/${userId}/recordings/${id}/original.webm`,
    ]);
    return id;
  }
  const members = async (as: User, id: string) =>
    (await call(as, 'GET', `/api/projects/${id}/members`)).body.items as { userId: string; role: string }[];

  it('create: the creator is its owner; get returns it; the name is trimmed', async () => {
    const u = await signUp(t.url, 'creator');
    const res = await call(u, 'POST', '/api/projects', { name: '  Lectures 2026  ' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[1-9]\d*$/),
      name: 'Lectures 2026',
      ownerId: u.userId,
      role: 'owner',
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const got = await call(u, 'GET', `/api/projects/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    expect(
      (await sql.query('SELECT user_id, role FROM project_members WHERE project_id = $1', [res.body.id])).rows,
    ).toEqual([{ user_id: u.userId, role: 'owner' }]);
  });

  it('list: only my projects, newest first, with my role and their recording count', async () => {
    const u = await signUp(t.url, 'lister');
    const other = await signUp(t.url, 'stranger');
    const first = await createProject(u, 'first');
    const second = await createProject(u, 'second');
    await createProject(other, 'not mine');
    const shared = await createProject(other, 'shared with me');
    expect(
      (await call(other, 'POST', `/api/projects/${shared}/members`, { email: u.email, role: 'viewer' })).status,
    ).toBe(201);
    await insertRecording(u.userId, first, 'a');
    await insertRecording(u.userId, first, 'b');
    await insertRecording(other.userId, shared, 'c');
    await insertRecording(u.userId, null, 'loose');

    const res = await call(u, 'GET', '/api/projects');
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: Record<string, unknown>) => [p.id, p.name, p.role, p.recordingCount])).toEqual([
      [shared, 'shared with me', 'viewer', 1],
      [second, 'second', 'owner', 0],
      [first, 'first', 'owner', 2],
    ]);
    expect(res.body.items[0]).toEqual({
      id: shared,
      name: 'shared with me',
      ownerId: other.userId,
      role: 'viewer',
      recordingCount: 1,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
  });

  it('members: owner adds an editor and a viewer by email (any case); all see the list and their role', async () => {
    const owner = await signUp(t.url, 'owner');
    const ed = await signUp(t.url, 'editor');
    const vi = await signUp(t.url, 'viewer');
    const id = await createProject(owner, 'team');
    const added = await call(owner, 'POST', `/api/projects/${id}/members`, {
      email: ed.email.toUpperCase(),
      role: 'editor',
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      userId: ed.userId,
      email: ed.email,
      displayName: 'editor',
      role: 'editor',
      addedAt: expect.stringMatching(ISO),
    });
    expect((await call(owner, 'POST', `/api/projects/${id}/members`, { email: vi.email, role: 'viewer' })).status).toBe(
      201,
    );

    const expected = [
      {
        userId: owner.userId,
        email: owner.email,
        displayName: 'owner',
        role: 'owner',
        addedAt: expect.stringMatching(ISO),
      },
      {
        userId: ed.userId,
        email: ed.email,
        displayName: 'editor',
        role: 'editor',
        addedAt: expect.stringMatching(ISO),
      },
      {
        userId: vi.userId,
        email: vi.email,
        displayName: 'viewer',
        role: 'viewer',
        addedAt: expect.stringMatching(ISO),
      },
    ];
    for (const who of [owner, ed, vi]) {
      const res = await call(who, 'GET', `/api/projects/${id}/members`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: expected });
    }
    expect((await call(ed, 'GET', `/api/projects/${id}`)).body).toMatchObject({
      id,
      name: 'team',
      ownerId: owner.userId,
      role: 'editor',
    });
    expect((await call(vi, 'GET', `/api/projects/${id}`)).body).toMatchObject({ id, role: 'viewer' });
    expect((await call(vi, 'GET', '/api/projects')).body.items).toEqual([
      expect.objectContaining({ id, role: 'viewer', recordingCount: 0 }),
    ]);
  });

  it('rename: by the owner and by an editor; everyone sees the new name', async () => {
    const owner = await signUp(t.url, 'owner');
    const ed = await signUp(t.url, 'editor');
    const id = await createProject(owner, 'draft');
    await call(owner, 'POST', `/api/projects/${id}/members`, { email: ed.email, role: 'editor' });
    const before = (await call(owner, 'GET', `/api/projects/${id}`)).body;

    const byOwner = await call(owner, 'PATCH', `/api/projects/${id}`, { name: 'Final' });
    expect(byOwner.status).toBe(200);
    expect(byOwner.body).toEqual({ ...before, name: 'Final', updatedAt: expect.stringMatching(ISO) });
    expect((await sql.query('SELECT updated_at > created_at AS later FROM projects WHERE id = $1', [id])).rows).toEqual(
      [{ later: true }],
    );

    const byEditor = await call(ed, 'PATCH', `/api/projects/${id}`, { name: ' Final, really ' });
    expect(byEditor.status).toBe(200);
    expect(byEditor.body).toMatchObject({ id, name: 'Final, really', role: 'editor', ownerId: owner.userId });
    expect((await call(owner, 'GET', `/api/projects/${id}`)).body.name).toBe('Final, really');
    expect((await sql.query('SELECT name FROM projects WHERE id = $1', [id])).rows).toEqual([
      { name: 'Final, really' },
    ]);
  });

  it("roles: the owner changes a member's role, and may hand over ownership and then leave", async () => {
    const owner = await signUp(t.url, 'owner');
    const m = await signUp(t.url, 'member');
    const id = await createProject(owner, 'handover');
    await call(owner, 'POST', `/api/projects/${id}/members`, { email: m.email, role: 'viewer' });

    expect((await call(owner, 'PATCH', `/api/projects/${id}/members/${m.userId}`, { role: 'editor' })).status).toBe(
      204,
    );
    expect((await call(m, 'GET', `/api/projects/${id}`)).body.role).toBe('editor');
    expect((await call(m, 'PATCH', `/api/projects/${id}`, { name: 'editable now' })).status).toBe(200);

    expect((await call(owner, 'PATCH', `/api/projects/${id}/members/${m.userId}`, { role: 'owner' })).status).toBe(204);
    expect((await members(m, id)).map((x) => [x.userId, x.role])).toEqual([
      [owner.userId, 'owner'],
      [m.userId, 'owner'],
    ]);
    // Two owners: the first may now step down, then leave.
    expect((await call(owner, 'PATCH', `/api/projects/${id}/members/${owner.userId}`, { role: 'viewer' })).status).toBe(
      204,
    );
    expect((await call(owner, 'GET', `/api/projects/${id}`)).body.role).toBe('viewer');
    expect((await call(owner, 'DELETE', `/api/projects/${id}/members/${owner.userId}`)).status).toBe(204);
    expect((await members(m, id)).map((x) => [x.userId, x.role])).toEqual([[m.userId, 'owner']]);
  });

  it('leaving: a viewer or editor leaves; the project is gone for them only; the owner removes a member', async () => {
    const owner = await signUp(t.url, 'owner');
    const vi = await signUp(t.url, 'viewer');
    const ed = await signUp(t.url, 'editor');
    const id = await createProject(owner, 'club');
    await call(owner, 'POST', `/api/projects/${id}/members`, { email: vi.email, role: 'viewer' });
    await call(owner, 'POST', `/api/projects/${id}/members`, { email: ed.email, role: 'editor' });

    expect((await call(vi, 'DELETE', `/api/projects/${id}/members/${vi.userId}`)).status).toBe(204);
    expect((await call(vi, 'GET', '/api/projects')).body).toEqual({ items: [] });
    expect((await call(vi, 'GET', `/api/projects/${id}`)).body).toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    expect((await members(owner, id)).map((x) => x.userId)).toEqual([owner.userId, ed.userId]);

    expect((await call(owner, 'DELETE', `/api/projects/${id}/members/${ed.userId}`)).status).toBe(204);
    expect((await call(ed, 'GET', `/api/projects/${id}`)).status).toBe(404);
    expect((await members(owner, id)).map((x) => x.userId)).toEqual([owner.userId]);
    // Members who left can be added again.
    expect(
      (await call(owner, 'POST', `/api/projects/${id}/members`, { email: vi.email, role: 'editor' })).body,
    ).toMatchObject({ userId: vi.userId, role: 'editor' });
  });

  it(
    "delete: the owner deletes a project; its recordings (anyone's) go and their media is queued for deletion; " +
      'other recordings stay',
    async () => {
      const owner = await signUp(t.url, 'owner');
      const ed = await signUp(t.url, 'editor');
      const doomed = await createProject(owner, 'doomed');
      const kept = await createProject(owner, 'kept');
      await call(owner, 'POST', `/api/projects/${doomed}/members`, { email: ed.email, role: 'editor' });
      const gone = [
        await insertRecording(owner.userId, doomed, 'one'),
        await insertRecording(owner.userId, doomed, 'two'),
        await insertRecording(ed.userId, doomed, "editor's"),
      ];
      const stay = [
        await insertRecording(owner.userId, kept, 'in kept'),
        await insertRecording(owner.userId, null, 'no project'),
        await insertRecording(ed.userId, null, 'editor solo'),
      ];
      const before = (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM storage_deletions')).rows[0]!.n;

      const res = await t.server.app.inject({
        method: 'DELETE',
        url: `/api/projects/${doomed}`,
        headers: { host: new URL(t.url).host, ...owner.headers },
      });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');

      expect((await call(owner, 'GET', `/api/projects/${doomed}`)).body).toEqual({
        code: 'PROJECT_NOT_FOUND',
        message: 'No such project',
      });
      expect((await call(owner, 'GET', '/api/projects')).body.items.map((p: { id: string }) => p.id)).toEqual([kept]);
      expect((await call(ed, 'GET', '/api/projects')).body).toEqual({ items: [] });
      expect((await sql.query('SELECT 1 FROM projects WHERE id = $1', [doomed])).rowCount).toBe(0);
      expect((await sql.query('SELECT 1 FROM project_members WHERE project_id = $1', [doomed])).rowCount).toBe(0);

      const left = await sql.query<{ id: string }>(
        'SELECT id FROM recordings WHERE id = ANY($1::bigint[]) ORDER BY id',
        [[...gone, ...stay]],
      );
      expect(left.rows.map((r) => r.id)).toEqual(stay);
      const queued = await sql.query(
        'SELECT storage_provider, storage_bucket, storage_key FROM storage_deletions ORDER BY id',
      );
      expect(queued.rows).toHaveLength(before + 3);
      // In any order: the cascade deletes in the order of the index it walks (0018's, since issue 9).
      expect(queued.rows.slice(before)).toEqual(
        expect.arrayContaining(
          [
            [owner, gone[0]],
            [owner, gone[1]],
            [ed, gone[2]],
          ].map(([u, id]) => ({
            storage_provider: 'local',
            storage_bucket: null,
            storage_key: `users/${(u as User).userId}/recordings/${id as string}/`,
          })),
        ),
      );
      for (const id of gone) expect((await call(owner, 'GET', `/api/recordings/${id}`)).status).toBe(404);
      expect((await call(owner, 'GET', `/api/recordings/${stay[0]}`)).body).toMatchObject({
        id: stay[0],
        projectId: kept,
        title: 'in kept',
      });
      expect((await call(owner, 'GET', '/api/projects')).body.items[0].recordingCount).toBe(1);
    },
  );
});
