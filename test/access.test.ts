/**
 * Who may do what, over real HTTP on a real server and database: every route that names a recording,
 * project, session or upload, tried by each kind of user, with the status each must get — a table, one
 * test per route × role. Then the move-then-delete exploit (an editor moving a colleague's recording
 * into a project of their own to delete it there) and the library agreeing with the read rule.
 * The matrix itself (src/server/access/access.ts), without a server: access.matrix.test.ts.
 */
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
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
import { createUpload, deleteUpload, fakeWebm, headUpload, patchUpload } from './support/tus-http.js';

type User = Awaited<ReturnType<typeof signUp>>;
/** How the acting user stands to the resource: see the rows below. */
const ROLES = ['creator', 'owner', 'editor', 'viewer', 'other', 'stranger', 'anonymous'] as const;
type Role = (typeof ROLES)[number];

/**
 * The people: the recording's (take's, upload's) creator, who is an editor of the project; the project's
 * owner; another editor; a viewer; a member of another project only; a signed-in user in no project; and
 * nobody signed in. A bystander is a further viewer, for the member routes to act on.
 */
interface World {
  users: Record<Exclude<Role, 'anonymous'>, User> & { bystander: User };
  /** The project each signed-in user owns on their own (the stranger has none). */
  home: Partial<Record<Role, string>>;
  /** The shared project the recordings live in. */
  project: string;
}

describe.each(pgTargets().slice(0, 1))('access rules on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  let w: World;
  withTestServer(target, (s) => ({ t, c } = s));

  /** A project owned by `owner`, with the creator and editor as editors and the viewer and bystander as viewers. */
  async function team(): Promise<string> {
    const { users } = w;
    const p = await insertProject(c, users.owner.userId, 'team');
    await addMember(c, p, users.creator.userId, 'editor');
    await addMember(c, p, users.editor.userId, 'editor');
    await addMember(c, p, users.viewer.userId, 'viewer');
    await addMember(c, p, users.bystander.userId, 'viewer');
    return p;
  }

  beforeAll(async () => {
    const names = ['creator', 'owner', 'editor', 'viewer', 'other', 'stranger', 'bystander'] as const;
    const users = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, await signUp(t.url, n)] as const)),
    ) as World['users'];
    w = { users, home: {}, project: '' };
    for (const role of ['creator', 'owner', 'editor', 'viewer', 'other'] as const)
      w.home[role] = await insertProject(c, users[role].userId, `${role}'s own`);
    w.project = await team();
  });

  const user = (role: Role) => (role === 'anonymous' ? undefined : w.users[role]);
  const headersOf = (role: Role) => user(role)?.headers ?? { origin: t.url };
  const idOf = (role: Role) => user(role)?.userId ?? w.users.stranger.userId;
  const send = async (role: Role, method: string, path: string, body?: unknown) =>
    (await call(t.url, method, path, headersOf(role), body)).status;

  /** A failed recording by the creator in the shared project, with media and a thumbnail to stream. */
  async function recording(): Promise<string> {
    const id = await insertRecording(c, { userId: w.users.creator.userId, projectId: w.project, status: 'failed' });
    const { key } = await attachMedia(c, t.server.storage, { userId: w.users.creator.userId, id }, fakeWebm(64));
    await c.query(`UPDATE recordings SET metadata = jsonb_build_object('thumbnail_key', $2::text) WHERE id = $1`, [
      id,
      key,
    ]);
    return id;
  }
  const rowOf = async (id: string) =>
    (await c.query('SELECT title, project_id, status FROM recordings WHERE id = $1', [id])).rows[0];
  /** A route on a fresh recording: the row must not change when the answer is a refusal. */
  const onRecording =
    (method: string, path: (id: string, role: Role) => string, body?: (role: Role) => unknown) =>
    async (role: Role) => {
      const id = await recording();
      const before = await rowOf(id);
      const status = await send(role, method, path(id, role), body?.(role));
      if (status >= 400) expect(await rowOf(id)).toEqual(before);
      return status;
    };
  const creatorSession = async () => {
    const res = await call(t.url, 'POST', '/api/sessions', w.users.creator.headers, { recordingType: 'camera' });
    return res.json.id;
  };
  const onSession = (method: string, path: string, body?: unknown) => async (role: Role) =>
    send(role, method, `/api/sessions/${await creatorSession()}${path}`, body);
  const creatorUpload = async () =>
    (await createUpload(t.url, w.users.creator.headers, { recordingType: 'camera' })).location;

  /** [route, statuses for creator owner editor viewer other stranger anonymous, the request]. */
  const table: [string, string, (role: Role) => Promise<number>][] = [
    ['GET recording', '200 200 200 200 404 404 401', onRecording('GET', (id) => `/api/recordings/${id}`)],
    [
      'GET library of the project',
      '200 200 200 200 404 404 401',
      async (role) => send(role, 'GET', `/api/recordings?projectId=${w.project}`),
    ],
    ['GET media', '200 200 200 200 404 404 401', onRecording('GET', (id) => `/api/recordings/${id}/media`)],
    ['HEAD media', '200 200 200 200 404 404 401', onRecording('HEAD', (id) => `/api/recordings/${id}/media`)],
    ['GET thumbnail', '200 200 200 200 404 404 401', onRecording('GET', (id) => `/api/recordings/${id}/thumbnail`)],
    [
      'POST share link',
      '201 201 201 403 404 404 401',
      onRecording(
        'POST',
        (id) => `/api/recordings/${id}/shares`,
        () => ({ permissions: ['view'] }),
      ),
    ],
    ['GET share links', '200 200 200 403 404 404 401', onRecording('GET', (id) => `/api/recordings/${id}/shares`)],
    [
      'PATCH title',
      '200 200 200 403 404 404 401',
      onRecording(
        'PATCH',
        (id) => `/api/recordings/${id}`,
        () => ({ title: 'renamed' }),
      ),
    ],
    ['POST retry', '200 200 200 403 404 404 401', onRecording('POST', (id) => `/api/recordings/${id}/retry`)],
    ['DELETE recording', '204 204 403 403 404 404 401', onRecording('DELETE', (id) => `/api/recordings/${id}`)],
    [
      'PATCH move out of its project',
      '200 200 403 403 404 404 401',
      onRecording(
        'PATCH',
        (id) => `/api/recordings/${id}`,
        () => ({ projectId: null }),
      ),
    ],
    [
      "PATCH move into the actor's own project",
      '200 200 403 403 404 404 401',
      onRecording(
        'PATCH',
        (id) => `/api/recordings/${id}`,
        (role) => ({ projectId: w.home[role] ?? w.home.creator }),
      ),
    ],
    [
      'PATCH move own recording into the project',
      '200 200 200 403 404 404 401',
      async (role) => {
        const id = await insertRecording(c, { userId: idOf(role) });
        return send(role, 'PATCH', `/api/recordings/${id}`, { projectId: w.project });
      },
    ],
    ['GET project', '200 200 200 200 404 404 401', async (role) => send(role, 'GET', `/api/projects/${await team()}`)],
    [
      'GET members',
      '200 200 200 200 404 404 401',
      async (role) => send(role, 'GET', `/api/projects/${await team()}/members`),
    ],
    [
      'PATCH project name',
      '200 200 200 403 404 404 401',
      async (role) => send(role, 'PATCH', `/api/projects/${await team()}`, { name: 'renamed' }),
    ],
    [
      'DELETE project',
      '403 204 403 403 404 404 401',
      async (role) => send(role, 'DELETE', `/api/projects/${await team()}`),
    ],
    [
      'POST member',
      '403 201 403 403 404 404 401',
      async (role) =>
        send(role, 'POST', `/api/projects/${await team()}/members`, { email: w.users.stranger.email, role: 'viewer' }),
    ],
    [
      "PATCH a member's role",
      '403 204 403 403 404 404 401',
      async (role) =>
        send(role, 'PATCH', `/api/projects/${await team()}/members/${w.users.bystander.userId}`, { role: 'editor' }),
    ],
    [
      'DELETE a member',
      '403 204 403 403 404 404 401',
      async (role) => send(role, 'DELETE', `/api/projects/${await team()}/members/${w.users.bystander.userId}`),
    ],
    [
      'DELETE own membership (leave; the last owner stays)',
      '204 409 204 204 404 404 401',
      async (role) => send(role, 'DELETE', `/api/projects/${await team()}/members/${idOf(role)}`),
    ],
    ['GET session', '200 404 404 404 404 404 401', onSession('GET', '')],
    ['POST session heartbeat', '200 404 404 404 404 404 401', onSession('POST', '/heartbeat', {})],
    ['POST session interrupt', '200 404 404 404 404 404 401', onSession('POST', '/interrupt', {})],
    ['PATCH session details', '200 404 404 404 404 404 401', onSession('PATCH', '', { title: 'mine' })],
    ['POST session discard', '200 404 404 404 404 404 401', onSession('POST', '/discard')],
    [
      'POST session in the project',
      '201 201 201 403 404 404 401',
      async (role) => send(role, 'POST', '/api/sessions', { recordingType: 'camera', projectId: w.project }),
    ],
    [
      'PATCH own session into the project',
      '200 200 200 403 404 404 401',
      async (role) => {
        const own = await call(t.url, 'POST', '/api/sessions', user(role)?.headers ?? w.users.stranger.headers, {
          recordingType: 'camera',
        });
        return send(role, 'PATCH', `/api/sessions/${own.json.id}`, { projectId: w.project });
      },
    ],
    [
      'POST upload into the project',
      '201 201 201 403 404 404 401',
      async (role) =>
        (await createUpload(t.url, headersOf(role), { recordingType: 'camera', projectId: w.project })).status,
    ],
    [
      "POST upload into the creator's session",
      '201 404 404 404 404 404 401',
      async (role) =>
        (await createUpload(t.url, headersOf(role), { recordingType: 'camera', sessionId: await creatorSession() }))
          .status,
    ],
    [
      'HEAD upload',
      '200 404 404 404 404 404 401',
      async (role) => (await headUpload(await creatorUpload(), headersOf(role))).status,
    ],
    [
      'PATCH upload',
      '204 404 404 404 404 404 401',
      async (role) => (await patchUpload(await creatorUpload(), headersOf(role), 0, fakeWebm(0))).status,
    ],
    [
      'DELETE upload',
      '204 404 404 404 404 404 401',
      async (role) => (await deleteUpload(await creatorUpload(), headersOf(role))).status,
    ],
  ];
  const cases = table.flatMap(([route, statuses, run]) =>
    statuses.split(' ').map((status, i) => ({ route, role: ROLES[i]!, status: Number(status), run })),
  );

  it.each(cases)('$route as $role → $status', async ({ role, status, run }) => {
    expect(await run(role)).toBe(status);
  });

  it("refuses an editor moving a colleague's recording into a project of their own (to delete it there)", async () => {
    const { editor } = w.users;
    const watcher = await signUp(t.url, 'watcher');
    const editorsOwn = w.home.editor!;
    await addMember(c, editorsOwn, watcher.userId, 'viewer');
    const id = await recording();

    const move = await call(t.url, 'PATCH', `/api/recordings/${id}`, editor.headers, { projectId: editorsOwn });
    expect([move.status, move.json.code]).toEqual([403, 'FORBIDDEN']);
    const del = await call(t.url, 'DELETE', `/api/recordings/${id}`, editor.headers);
    expect([del.status, del.json.code]).toEqual([403, 'FORBIDDEN']);
    expect(await rowOf(id)).toMatchObject({ project_id: w.project });
    // The move did not show it to the members of the editor's project either.
    expect((await call(t.url, 'GET', `/api/recordings/${id}`, watcher.headers)).status).toBe(404);
    expect((await call(t.url, 'GET', `/api/recordings?projectId=${editorsOwn}`, watcher.headers)).json.items).toEqual(
      [],
    );
  });

  it('refuses an editor of the source moving a recording even into a project they edit too', async () => {
    const other = await team(); // the editor is an editor there as well
    const id = await recording();
    const move = await call(t.url, 'PATCH', `/api/recordings/${id}`, w.users.editor.headers, { projectId: other });
    expect([move.status, move.json.code]).toEqual([403, 'FORBIDDEN']);
    expect(move.json.message).toMatch(/move/);
    expect(await rowOf(id)).toMatchObject({ project_id: w.project });
    // Its creator (an editor too) may move it: the creator holds the right to delete it.
    const byCreator = await call(t.url, 'PATCH', `/api/recordings/${id}`, w.users.creator.headers, {
      projectId: other,
    });
    expect([byCreator.status, byCreator.json.projectId]).toEqual([200, other]);
  });

  it('shows each user the recordings the read rule allows, with the rights the matrix gives', async () => {
    const id = await recording();
    const expected: Record<string, { canEdit: boolean; canDelete: boolean } | undefined> = {
      creator: { canEdit: true, canDelete: true },
      owner: { canEdit: true, canDelete: true },
      editor: { canEdit: true, canDelete: false },
      viewer: { canEdit: false, canDelete: false },
      other: undefined,
      stranger: undefined,
    };
    for (const [role, rights] of Object.entries(expected)) {
      const headers = w.users[role as keyof World['users']].headers;
      const page = (await call(t.url, 'GET', '/api/recordings?limit=5', headers)).json.items as unknown as {
        id: string;
        canEdit: boolean;
        canDelete: boolean;
      }[];
      const listed = page.find((r) => r.id === id);
      expect(listed && { canEdit: listed.canEdit, canDelete: listed.canDelete }, role).toEqual(rights);
      const one = await call(t.url, 'GET', `/api/recordings/${id}`, headers);
      expect(one.status === 200 ? { canEdit: one.json.canEdit, canDelete: one.json.canDelete } : undefined).toEqual(
        rights,
      );
    }
  });
});
