/**
 * The comments API as its tests call it: one JSON call helper, share links written as rows (the way the
 * shares service writes them: the token's hash, and for a password link a grant made with its hash), and
 * a recording of 3 s (metadata.duration_ms 3000) in a project with an owner, an editor and a viewer.
 */
import type pg from 'pg';
import type { Comment } from '../../src/server/comments/comments.schemas.js';
import { makeGrant, newShareToken, shareTokenHash } from '../../src/server/shares/share-token.js';
import { signUp } from './app.js';
import { addMember, insertProject, insertRecording } from './recordings-fixtures.js';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T & { code?: string; message?: string };
  headers: Headers;
}

/** A JSON request; `raw` sends the text as the body unchanged (for bodies JSON.stringify cannot make). */
export async function call<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: unknown; raw?: string } = {},
): Promise<Answer<T>> {
  const hasBody = opts.body !== undefined || opts.raw !== undefined;
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...opts.headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    ...(hasBody ? { body: opts.raw ?? JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

export type Member = Awaited<ReturnType<typeof signUp>>;

/** creator (also the project's owner), editor, viewer, stranger, and a 3 s recording in the project. */
export async function cast(url: string, c: pg.Client) {
  const [creator, editor, viewer, stranger] = await Promise.all(
    ['Ada', 'Ben', 'Vic', 'Sam'].map((name) => signUp(url, name)),
  );
  const projectId = await insertProject(c, creator!.userId);
  await addMember(c, projectId, editor!.userId, 'editor');
  await addMember(c, projectId, viewer!.userId, 'viewer');
  const recordingId = await insertRecording(c, {
    userId: creator!.userId,
    projectId,
    metadata: { duration_ms: 3000 },
  });
  return { creator: creator!, editor: editor!, viewer: viewer!, stranger: stranger!, projectId, recordingId };
}

/** A link to the recording as a row; its token, and for a password link the grant a right password gives. */
export async function insertShare(
  c: pg.Client,
  recordingId: string,
  opts: { comment?: boolean; download?: boolean; password?: boolean; revoked?: boolean } = {},
): Promise<{ token: string; shareId: string; access?: string }> {
  const token = newShareToken();
  const passwordHash = opts.password ? '$argon2id$v=19$m=19456,t=2,p=1$test$fake' : null;
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recording_shares (recording_id, token_hash, password_hash, allow_comment, allow_download, revoked_at)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END) RETURNING id::text`,
    [
      recordingId,
      shareTokenHash(token),
      passwordHash,
      opts.comment ?? true,
      opts.download ?? false,
      opts.revoked ?? false,
    ],
  );
  const shareId = rows[0]!.id;
  const access = passwordHash ? makeGrant(passwordHash, shareId, new Date()).access : undefined;
  return { token, shareId, access };
}

/** A member's comments client for one recording. */
export function memberApi(url: string, who: { headers: Record<string, string> }, recordingId: string) {
  const base = `/api/recordings/${recordingId}/comments`;
  const headers = who.headers;
  return {
    list: (query = '') =>
      call<{ comments: Comment[]; nextAfter: string | null; revision: string }>(url, 'GET', base + query, { headers }),
    changes: (since: string) =>
      call<{ comments: Comment[]; revision: string }>(url, 'GET', `${base}/changes?since=${since}`, { headers }),
    create: (body: unknown) => call<{ comment: Comment }>(url, 'POST', base, { headers, body }),
    edit: (id: string, body: unknown) => call<{ comment: Comment }>(url, 'PATCH', `${base}/${id}`, { headers, body }),
    remove: (id: string) => call(url, 'DELETE', `${base}/${id}`, { headers }),
    resolve: (id: string, verb: 'resolve' | 'reopen' = 'resolve') =>
      call<{ comment: Comment }>(url, 'POST', `${base}/${id}/${verb}`, { headers }),
  };
}

/** A link visitor's comments client: X-Share-Access when given, X-Guest-Key per call. */
export function guestApi(url: string, token: string, access?: string) {
  const base = `/api/s/${token}/comments`;
  const headers = (key?: string) => ({
    ...(access ? { 'x-share-access': access } : {}),
    ...(key ? { 'x-guest-key': key } : {}),
  });
  return {
    list: (key?: string) =>
      call<{ comments: Comment[]; nextAfter: string | null; revision: string }>(url, 'GET', base, {
        headers: headers(key),
      }),
    changes: (since: string) =>
      call<{ comments: Comment[]; revision: string }>(url, 'GET', `${base}/changes?since=${since}`, {
        headers: headers(),
      }),
    create: (body: unknown, key?: string) =>
      call<{ comment: Comment; guestKey: string }>(url, 'POST', base, { headers: headers(key), body }),
    edit: (id: string, body: unknown, key?: string) =>
      call<{ comment: Comment }>(url, 'PATCH', `${base}/${id}`, { headers: headers(key), body }),
    remove: (id: string, key?: string) => call(url, 'DELETE', `${base}/${id}`, { headers: headers(key) }),
  };
}
