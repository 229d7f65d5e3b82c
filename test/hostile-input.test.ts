/**
 * Hostile input over every route: NUL and lone surrogates in text, JSON nested 100,000 deep or 10 MB
 * large, ids no bigint can hold, tus requests that break the protocol, a foreign Origin on /api/uploads,
 * and a session started in 1900. Each answer is a 4xx JSON body with a code, never database text, and
 * nothing stored changes. The stale-session sweep goes on for everyone whatever one row holds.
 */
import { Readable } from 'node:stream';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ERRORS as TUS_ERRORS } from '@tus/server';
import { ERRORS } from '../src/server/errors.js';
import { bodyOf, tusJsonError } from '../src/server/http/tus-errors.js';
import { startSessionSweep } from '../src/server/jobs/session-sweep.js';
import { createLogger } from '../src/server/logger.js';
import { signUp, type TestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import { withTestServer } from './support/recordings-fixtures.js';
import { uploadMetadata } from './support/tus-http.js';

/** What PostgreSQL's error texts say (never ours): a body holding any of it leaked the database's error. */
const DATABASE_TEXT = /syntax|bigint|out of range|invalid input|unicode escape|must follow a high|violates|relation "/i;
const TABLES = ['users', 'projects', 'project_members', 'recordings', 'recording_sessions', 'uploads', 'api_tokens'];
const TUS = { 'tus-resumable': '1.0.0' };
const BAD_IDS = ['99999999999999999999', '9999999999999999999', '-1', '1e3', '0', '01'];

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: { code?: string; message?: string } | undefined;
  text: string;
}

describe.each(pgTargets().slice(0, 1))('hostile input on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  let auth: Record<string, string>;
  let ids: { project: string; recording: string; session: string; token: string; userId: string };
  withTestServer(target, (s) => {
    t = s.t;
    c = s.c;
  });

  async function send(method: string, url: string, over: { payload?: unknown; headers?: object } = {}) {
    const payload = over.payload;
    const res = await t.server.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...auth,
        ...(typeof payload === 'string' || payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...over.headers,
      },
      payload: payload === undefined || typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    let body: Answer['body'];
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body, text: res.body } satisfies Answer;
  }

  /** A digest of every row a request could change. */
  async function stored(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const table of TABLES) {
      const { rows } = await c.query(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d
        FROM ${table} x`);
      out[table] = rows[0].d;
    }
    return out;
  }

  function expectRefused(a: Answer, status: number, code: string | RegExp, label: string) {
    expect({ label, status: a.status, code: a.body?.code }).toEqual({
      label,
      status,
      code: expect.stringMatching(code),
    });
    expect(a.text, label).not.toMatch(DATABASE_TEXT);
  }

  it('setup: a user with a project, a recording, a session and a token', async () => {
    const user = await signUp(t.url, 'target');
    auth = { ...user.headers, host: new URL(t.url).host };
    const project = (await send('POST', '/api/projects', { payload: { name: 'p' } })).body as { id: string };
    const session = (await send('POST', '/api/sessions', { payload: { recordingType: 'camera' } })).body as {
      id: string;
    };
    const token = (await send('POST', '/api/auth/tokens', { payload: { name: 'cli' } })).body as { id: string };
    const { rows } = await c.query(
      `INSERT INTO recordings (user_id, title, recording_type, duration) VALUES ($1, 'r', 'camera', 3) RETURNING id`,
      [user.userId],
    );
    ids = { project: project.id, recording: rows[0].id, session: session.id, token: token.id, userId: user.userId };
    expect(Object.values(ids).every(Boolean)).toBe(true);
  });

  it('NUL and lone surrogates in any text field: 400 INVALID_TEXT naming the field, nothing stored', async () => {
    const before = await stored();
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/projects', { name: 'a\u0000b' }, 'name'],
      ['PATCH', `/api/projects/${ids.project}`, { name: 'x\u0000' }, 'name'],
      ['POST', `/api/projects/${ids.project}/members`, { email: 'a\u0000@b.c', role: 'viewer' }, 'email'],
      ['POST', '/api/auth/tokens', { name: 'cli\u0000' }, 'name'],
      ['POST', '/api/auth/signup', { email: 'n@x.io', password: 'pass\u0000word1', displayName: 'N' }, 'password'],
      [
        'POST',
        '/api/auth/signup',
        { email: 'n@x.io', password: 'long enough pw', displayName: 'N\ud800' },
        'displayName',
      ],
      ['PATCH', `/api/recordings/${ids.recording}`, { title: 'a\u0000' }, 'title'],
      ['PATCH', `/api/recordings/${ids.recording}`, { description: '\udc00 lone low' }, 'description'],
      ['POST', '/api/sessions', { recordingType: 'camera', deviceInfo: { gpu: 'x\ud800' } }, 'deviceInfo.gpu'],
      ['POST', '/api/sessions', { recordingType: 'camera', settings: { 'k\u0000': 1 } }, 'settings'],
      ['POST', `/api/sessions/${ids.session}/interrupt`, { reason: 'tab \ud83d closed' }, 'reason'],
      ['PATCH', `/api/sessions/${ids.session}`, { metadata: { notes: ['ok', 'bad\u0000'] } }, 'metadata.notes.1'],
      ['GET', '/api/recordings?q=a%00b', undefined, 'q'],
      ['GET', '/api/recordings?cursor=%00', undefined, 'cursor'],
      ['DELETE', `/api/projects/${ids.project}/members/x%00y`, undefined, 'userId'],
    ];
    for (const [method, url, payload, field] of cases) {
      const a = await send(method, url, { payload });
      expectRefused(a, 400, 'INVALID_TEXT', `${method} ${url} ${field}`);
      expect(JSON.stringify(a.body), `${method} ${url}`).toContain(field);
    }
    expect(await stored()).toEqual(before);
  });

  it('JSON nested 100,000 deep is 400 JSON_TOO_DEEP and 10 MB of JSON is 413, before anything recurses', async () => {
    const before = await stored();
    const deep = `{"recordingType":"camera","deviceInfo":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    const arrays = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const [url, payload] of [
      ['/api/sessions', deep],
      ['/api/projects', arrays],
      ['/api/auth/signin', arrays],
    ] as const) {
      const a = await send('POST', url, { payload, headers: { 'content-type': 'application/json' } });
      expectRefused(a, 400, 'JSON_TOO_DEEP', `deep ${url}`);
    }
    // Fastify's prototype-poisoning guard still holds behind our parser.
    const poisoned = '{"name":"p","__proto__":{"admin":true}}';
    expect(
      (await send('POST', '/api/projects', { payload: poisoned, headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(400);
    // Brackets inside strings are text, not nesting.
    const bracketed = await send('POST', '/api/projects', { payload: { name: `${'[{'.repeat(90)} ok` } });
    expect(bracketed.status).toBe(201);
    await c.query('DELETE FROM projects WHERE id = $1', [(bracketed.body as { id: string }).id]);
    const big = JSON.stringify({ recordingType: 'camera', deviceInfo: { blob: 'x'.repeat(10 * 1024 * 1024) } });
    const large = await send('POST', '/api/sessions', {
      payload: big,
      headers: { 'content-type': 'application/json' },
    });
    expectRefused(large, 413, 'JSON_TOO_LARGE', '10 MB');
    // Sent without a Content-Length (chunked): refused while reading, at the limit.
    const chunked = await t.server.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: Readable.from([Buffer.from(big)]),
    });
    expect([chunked.statusCode, chunked.json().code]).toEqual([413, 'JSON_TOO_LARGE']);
    expect(await stored()).toEqual(before);
  });

  it('ids no bigint holds (or not ids at all) are 404 with the route’s own code on every id route', async () => {
    const before = await stored();
    const routes: [string, string, string, unknown?][] = [
      ['GET', '/api/projects/:id', 'PROJECT_NOT_FOUND'],
      ['PATCH', '/api/projects/:id', 'PROJECT_NOT_FOUND', { name: 'n' }],
      ['DELETE', '/api/projects/:id', 'PROJECT_NOT_FOUND'],
      ['GET', '/api/projects/:id/members', 'PROJECT_NOT_FOUND'],
      ['POST', '/api/projects/:id/members', 'PROJECT_NOT_FOUND', { email: 'x@example.com', role: 'viewer' }],
      ['PATCH', `/api/projects/:id/members/${'u'}`, 'PROJECT_NOT_FOUND', { role: 'viewer' }],
      ['DELETE', `/api/projects/:id/members/${'u'}`, 'PROJECT_NOT_FOUND'],
      ['GET', '/api/recordings/:id', 'RECORDING_NOT_FOUND'],
      ['PATCH', '/api/recordings/:id', 'RECORDING_NOT_FOUND', { title: 't' }],
      ['DELETE', '/api/recordings/:id', 'RECORDING_NOT_FOUND'],
      ['POST', '/api/recordings/:id/retry', 'RECORDING_NOT_FOUND'],
      ['GET', '/api/recordings/:id/media', 'RECORDING_NOT_FOUND'],
      ['GET', '/api/recordings/:id/thumbnail', 'RECORDING_NOT_FOUND'],
      ['GET', '/api/sessions/:id', 'SESSION_NOT_FOUND'],
      ['POST', '/api/sessions/:id/heartbeat', 'SESSION_NOT_FOUND', {}],
      ['POST', '/api/sessions/:id/interrupt', 'SESSION_NOT_FOUND', { reason: 'r' }],
      ['PATCH', '/api/sessions/:id', 'SESSION_NOT_FOUND', { title: 't' }],
      ['POST', '/api/sessions/:id/discard', 'SESSION_NOT_FOUND'],
      ['DELETE', '/api/auth/tokens/:id', 'TOKEN_NOT_FOUND'],
    ];
    for (const [method, pattern, code, payload] of routes) {
      for (const id of BAD_IDS) {
        const url = pattern.replace(':id', id);
        expectRefused(await send(method, url, { payload }), 404, code, `${method} ${url}`);
      }
    }
    // Ids in bodies and query strings: a 4xx with a code, never the database's cast error.
    const elsewhere: [string, string, unknown?][] = [
      ['GET', '/api/recordings?projectId=9999999999999999999'],
      ['POST', '/api/sessions', { recordingType: 'camera', projectId: '9999999999999999999' }],
      ['PATCH', `/api/sessions/${ids.session}`, { projectId: '9999999999999999999' }],
      ['PATCH', `/api/recordings/${ids.recording}`, { projectId: '9999999999999999999' }],
    ];
    for (const [method, url, payload] of elsewhere) {
      const a = await send(method, url, { payload });
      expectRefused(a, a.status >= 400 && a.status < 500 ? a.status : -1, /^[A-Z_]+$/, `${method} ${url}`);
    }
    expect(await stored()).toEqual(before);
  });

  it('tus metadata: NUL text and ids no bigint holds are a 4xx JSON with a code; no upload is created', async () => {
    const before = await stored();
    const cases: [Record<string, string>, number, string][] = [
      [{ recordingType: 'camera', title: 'a\u0000b' }, 400, 'INVALID_TEXT'],
      [{ recordingType: 'camera', description: '\u0000' }, 400, 'INVALID_TEXT'],
      [{ recordingType: 'camera', 'x-note': 'n\u0000' }, 400, 'INVALID_TEXT'],
      [{ recordingType: 'camera', projectId: '9999999999999999999' }, 404, 'PROJECT_NOT_FOUND'],
      [{ recordingType: 'camera', sessionId: '9999999999999999999' }, 404, 'SESSION_NOT_FOUND'],
      [{ recordingType: 'camera', sessionId: '99999999999999999999' }, 400, 'VALIDATION_FAILED'],
      [{ recordingType: 'camera', projectId: '-1' }, 400, 'VALIDATION_FAILED'],
      [{ recordingType: 'camera', projectId: '1e3' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [meta, status, code] of cases) {
      const headers = { ...TUS, 'upload-length': '10', 'upload-metadata': uploadMetadata(meta) };
      const a = await send('POST', '/api/uploads', { headers });
      expectRefused(a, status, code, JSON.stringify(meta));
    }
    expect(await stored()).toEqual(before);
  });

  it('tus errors are JSON with the protocol’s statuses', async () => {
    const created = await send('POST', '/api/uploads', {
      headers: { ...TUS, 'upload-length': '100', 'upload-metadata': uploadMetadata({ recordingType: 'camera' }) },
    });
    expect(created.status).toBe(201);
    const location = new URL(String(created.headers.location), t.url).pathname;
    const octets = { 'content-type': 'application/offset+octet-stream' };
    const version = await send('POST', '/api/uploads', { headers: { 'tus-resumable': '0.2.2', 'upload-length': '1' } });
    expectRefused(version, 412, 'TUS_VERSION_UNSUPPORTED', 'Tus-Resumable 0.2.2');
    expect(version.headers['tus-version']).toBe('1.0.0');
    expect([version.headers['content-type'], version.headers['cache-control']]).toEqual([
      'application/json; charset=utf-8',
      'no-store',
    ]);
    const missing = await send('HEAD', location, { headers: { 'tus-resumable': '' } });
    expect([missing.status, missing.headers['tus-version']]).toEqual([412, '1.0.0']);
    const noOffset = await send('PATCH', location, { headers: { ...TUS, ...octets }, payload: 'abc' });
    expectRefused(noOffset, 400, 'UPLOAD_OFFSET_REQUIRED', 'PATCH without Upload-Offset');
    const badOffset = await send('PATCH', location, { headers: { ...TUS, ...octets, 'upload-offset': 'x' } });
    expectRefused(badOffset, 400, 'TUS_HEADER_INVALID', 'Upload-Offset x');
    const wrongOffset = await send('PATCH', location, {
      headers: { ...TUS, ...octets, 'upload-offset': '7' },
      payload: 'abc',
    });
    expectRefused(wrongOffset, 409, 'UPLOAD_OFFSET_CONFLICT', 'Upload-Offset 7 of 0');
    const text = await send('PATCH', location, {
      headers: { ...TUS, 'content-type': 'text/plain', 'upload-offset': '0' },
      payload: 'abc',
    });
    expectRefused(text, 415, 'UNSUPPORTED_MEDIA_TYPE', 'PATCH text/plain');
    const untyped = await send('PATCH', location, { headers: { ...TUS, 'upload-offset': '0' } });
    expectRefused(untyped, 415, 'UNSUPPORTED_MEDIA_TYPE', 'PATCH without Content-Type');
    const badMeta = await send('POST', '/api/uploads', {
      headers: { ...TUS, 'upload-length': '1', 'upload-metadata': 'a b c d,,' },
    });
    expectRefused(badMeta, 400, 'TUS_HEADER_INVALID', 'Upload-Metadata malformed');
    const unknown = await send('PATCH', '/api/uploads/nosuchupload', {
      headers: { ...TUS, ...octets, 'upload-offset': '0' },
    });
    expectRefused(unknown, 404, 'UPLOAD_NOT_FOUND', 'unknown upload');
    expect((await send('HEAD', location, { headers: TUS })).headers['upload-offset']).toBe('0');
  });

  it('every error @tus/server can throw has our code and a status for it; none keeps its 403', () => {
    for (const [name, error] of Object.entries(TUS_ERRORS)) {
      const mapped = tusJsonError(error.status_code, error.body);
      expect({ name, status: mapped.status }).toEqual({ name, status: ERRORS[mapped.code].status });
      expect(mapped.status, name).not.toBe(403);
      expect(mapped.code === 'VALIDATION_FAILED', name).toBe(false);
    }
    const unforeseen = tusJsonError(500, `${TUS_ERRORS.UNKNOWN_ERROR.body}invalid input syntax for type bigint\n`);
    expect(bodyOf(unforeseen)).not.toMatch(DATABASE_TEXT);
  });

  it('CORS on /api/uploads: our origin is allowed, a foreign one gets no Access-Control-Allow-Origin', async () => {
    const preflight = (origin: string) =>
      send('OPTIONS', '/api/uploads', {
        headers: { origin, 'access-control-request-method': 'POST', cookie: '', authorization: '' },
      });
    const foreign = await preflight('https://evil.example');
    expect(foreign.status).toBeLessThan(300);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const ours = await preflight(t.url);
    expect(ours.headers['access-control-allow-origin']).toBe(t.url);
    const post = await send('POST', '/api/uploads', {
      headers: { ...TUS, origin: 'https://evil.example', 'upload-length': '1', 'upload-metadata': 'x' },
    });
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a session started in 1900 stops no one’s sweep (nor does a row that fails), and is refused now', async () => {
    const other = await signUp(t.url, 'other');
    const insert = (userId: string, startedAt: string, heartbeat: string | null) =>
      c
        .query(
          `INSERT INTO recording_sessions (user_id, recording_type, started_at, last_heartbeat_at, status)
           VALUES ($1, 'camera', $2, $3, 'active') RETURNING id`,
          [userId, startedAt, heartbeat],
        )
        .then((r) => r.rows[0].id as string);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const logged: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => logged.push(line) });
    const sweep = startSessionSweep({ db: t.server.database.db, logger, staleSeconds: 600, intervalMs: 3_600_000 });
    const statuses = async (sessionIds: string[]) =>
      (
        await c.query('SELECT id, status, duration FROM recording_sessions WHERE id = ANY($1) ORDER BY id', [
          sessionIds,
        ])
      ).rows;
    try {
      // Started in 1900 (stored before startedAt was bounded), one heartbeat, then silence.
      const ancient = await insert(ids.userId, '1900-01-01T00:00:00Z', hourAgo);
      const stale = await insert(other.userId, hourAgo, null);
      expect(await sweep.runOnce()).toBe(2);
      expect(await statuses([ancient, stale])).toEqual([
        { id: ancient, status: 'interrupted', duration: 2 ** 31 - 1 },
        { id: stale, status: 'interrupted', duration: 0 },
      ]);
      // A row whose update fails for a reason no clamp removes: the others are still swept, it is logged.
      const cursed = await insert(other.userId, hourAgo, null);
      const next = await insert(other.userId, hourAgo, null);
      await c.query(`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = ${Number(cursed)} THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`);
      await c.query(`CREATE TRIGGER refuse_one BEFORE UPDATE ON recording_sessions
        FOR EACH ROW EXECUTE FUNCTION refuse_one()`);
      expect(await sweep.runOnce()).toBe(1);
      expect((await statuses([cursed, next])).map((r) => r.status)).toEqual(['active', 'interrupted']);
      expect(logged.join('\n')).toContain(cursed);
    } finally {
      await sweep.stop();
      await c.query('DROP TRIGGER IF EXISTS refuse_one ON recording_sessions; DROP FUNCTION IF EXISTS refuse_one()');
    }
    // And the API no longer stores such a start: the rule is in the answer.
    const refused = await send('POST', '/api/sessions', {
      payload: { recordingType: 'camera', startedAt: '1900-01-01T00:00:00Z' },
    });
    expectRefused(refused, 400, 'VALIDATION_FAILED', 'startedAt 1900');
    expect(refused.body?.message).toMatch(/2000-01-01/);
  });
});
