/**
 * Accounts over HTTP, what must be refused: bad input, taken emails, wrong passwords, cross-site requests, floods,
 * foreign tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connect, pgTargets } from './support/db.js';
import { signUp, startTestServer, TEST_PASSWORD as PASSWORD, type TestServer } from './support/app.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

describe.each(pgTargets())('auth failures on $name', (target) => {
  let t: TestServer;
  let sql: pg.Client;
  beforeAll(async () => {
    t = await startTestServer(target);
    sql = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /** inject with the listening server's Host, so that `origin: url` is our own origin. */
  async function call(method: Method, url: string, headers: Record<string, string> = {}, payload?: object, server = t) {
    const res = await server.server.app.inject({
      method,
      url,
      headers: { host: new URL(server.url).host, ...headers },
      ...(payload ? { payload } : {}),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined, setCookie: res.headers['set-cookie'] };
  }
  const signup = (body: object) => call('POST', '/api/auth/signup', {}, body);
  const valid = () => ({
    email: `v-${Math.random().toString(36).slice(2)}@example.com`,
    password: PASSWORD,
    displayName: 'V',
  });
  const userCount = async () => (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]!.n;

  describe('validation', () => {
    it.each([
      ['a bad email', { email: 'not-an-email' }, 'email', { format: 'email' }],
      ['a short password', { password: 'short12' }, 'password', { limit: 8 }],
      ['a blank displayName', { displayName: '   ' }, 'displayName', { pattern: '\\S' }],
      ['a displayName of 201 characters', { displayName: 'x'.repeat(201) }, 'displayName', { limit: 200 }],
    ])('sign-up with %s → 400 VALIDATION_FAILED naming the field, no account', async (_what, patch, field, params) => {
      const before = await userCount();
      const res = await signup({ ...valid(), ...patch });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(field),
        errors: [{ field, message: expect.any(String), params }],
      });
      expect(res.setCookie).toBeUndefined();
      expect(await userCount()).toBe(before);
    });

    it('sign-up without displayName → 400 naming displayName', async () => {
      const { email, password } = valid();
      const res = await signup({ email, password });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        code: 'VALIDATION_FAILED',
        message: "Invalid request: displayName must have required property 'displayName'",
        errors: [
          {
            field: 'displayName',
            message: "must have required property 'displayName'",
            params: { missingProperty: 'displayName' },
          },
        ],
      });
    });

    // Fastify's Ajv default (removeAdditional) would silently drop unknown properties: we reject them.
    it('sign-up with an extra property → 400 naming it, no account', async () => {
      const before = await userCount();
      const res = await signup({ ...valid(), isAdmin: true });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'isAdmin', message: 'is not a known property', params: { additionalProperty: 'isAdmin' } }],
      });
      expect(await userCount()).toBe(before);
    });

    it('sign-in without a password → 400 naming password', async () => {
      const res = await call('POST', '/api/auth/signin', {}, { email: 'x@example.com' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ params: { missingProperty: 'password' } }],
      });
    });
  });

  it('a taken email, in any case → 409 EMAIL_TAKEN, one account', async () => {
    const email = `Dup-${Date.now()}@Example.com`;
    expect((await signup({ email, password: PASSWORD, displayName: 'first' })).status).toBe(201);
    for (const again of [email, email.toLowerCase(), email.toUpperCase()]) {
      const res = await signup({ email: again, password: 'another password', displayName: 'second' });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ code: 'EMAIL_TAKEN', message: 'An account with this email exists already' });
      expect(res.setCookie).toBeUndefined();
    }
    const { rows } = await sql.query('SELECT display_name FROM users WHERE lower(email) = lower($1)', [email]);
    expect(rows).toEqual([{ display_name: 'first' }]);
  });

  it('a wrong password and an unknown email get the same 401 INVALID_CREDENTIALS, and no session', async () => {
    const u = await signUp(t.url, 'cred');
    const sessions = async () =>
      (await sql.query('SELECT 1 FROM auth_sessions WHERE user_id = $1', [u.userId])).rowCount;
    const wrong = await call('POST', '/api/auth/signin', {}, { email: u.email, password: 'not the password' });
    const unknown = await call(
      'POST',
      '/api/auth/signin',
      {},
      { email: `nobody-${u.userId}@example.com`, password: PASSWORD },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ code: 'INVALID_CREDENTIALS', message: 'Email or password is wrong' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.setCookie).toBeUndefined();
    expect(unknown.setCookie).toBeUndefined();
    expect(await sessions()).toBe(1);
  });

  it.each([
    ['no cookie', {}],
    ['an unknown session cookie', { cookie: 'recorder_session=rs_forged' }],
  ])('with %s → 401 UNAUTHENTICATED on /api/auth/me and /api/recordings', async (_what, headers) => {
    for (const url of ['/api/auth/me', '/api/recordings', '/api/auth/tokens']) {
      const res = await call('GET', url, headers);
      expect(res.status, url).toBe(401);
      expect(res.body).toEqual({ code: 'UNAUTHENTICATED', message: 'Sign in first' });
    }
  });

  describe('cross-site requests carried by the cookie', () => {
    const foreign = 'https://evil.example';
    const projectRow = async (id: string) => (await sql.query('SELECT name FROM projects WHERE id = $1', [id])).rows;

    it.each([
      ['a foreign Origin', { origin: foreign }],
      ['a foreign Referer', { referer: `${foreign}/page` }],
      ['Origin: null', { origin: 'null' }],
      ['no Origin nor Referer', {}],
    ])('POST/PATCH/DELETE with %s → 403 ORIGIN_MISMATCH, nothing changed', async (_what, h: Record<string, string>) => {
      const u = await signUp(t.url, 'csrf');
      const p = await call('POST', '/api/projects', u.headers, { name: 'keep me' });
      expect(p.status).toBe(201);
      const attempts: [Method, string, object | undefined][] = [
        ['POST', '/api/projects', { name: 'planted' }],
        ['PATCH', `/api/projects/${p.body.id}`, { name: 'defaced' }],
        ['DELETE', `/api/projects/${p.body.id}`, undefined],
        ['POST', '/api/auth/tokens', { name: 'stolen' }],
        ['POST', '/api/auth/signout', {}],
      ];
      for (const [method, url, body] of attempts) {
        const res = await call(method, url, { cookie: u.cookie, ...h }, body);
        expect(res.status, `${method} ${url}`).toBe(403);
        expect(res.body).toEqual({
          code: 'ORIGIN_MISMATCH',
          message: 'Cross-site request refused: it must come from this site',
        });
      }
      expect((await sql.query('SELECT name FROM projects WHERE owner_id = $1', [u.userId])).rows).toEqual([
        { name: 'keep me' },
      ]);
      expect((await sql.query('SELECT 1 FROM api_tokens WHERE user_id = $1', [u.userId])).rowCount).toBe(0);
      expect((await call('GET', '/api/auth/me', { cookie: u.cookie })).status).toBe(200); // not signed out
      // Reading is not refused: a cross-site page cannot read the answer anyway.
      expect((await call('GET', `/api/projects/${p.body.id}`, { cookie: u.cookie, ...h })).status).toBe(200);
    });

    it('a Referer from our own origin (no Origin) is accepted', async () => {
      const u = await signUp(t.url, 'ref');
      const res = await call(
        'POST',
        '/api/projects',
        { cookie: u.cookie, referer: `${t.url}/library?x=1` },
        { name: 'by referer' },
      );
      expect(res.status).toBe(201);
      expect(await projectRow(res.body.id)).toEqual([{ name: 'by referer' }]);
      const renamed = await call(
        'PATCH',
        `/api/projects/${res.body.id}`,
        { cookie: u.cookie, referer: `${t.url}/` },
        { name: 'renamed' },
      );
      expect(renamed.status).toBe(200);
      expect(await projectRow(res.body.id)).toEqual([{ name: 'renamed' }]);
    });
  });

  it('sign-in limit: 3 failures lock the account → 429 RATE_LIMITED; other emails still answered', async () => {
    const limited = await startTestServer(target, { SIGNIN_RATE_PER_MINUTE: '3' });
    try {
      const u = await signUp(limited.url, 'rate');
      const signin = (email: string, password: string) =>
        call('POST', '/api/auth/signin', {}, { email, password }, limited);
      for (let i = 0; i < 3; i++) expect((await signin(u.email, 'wrong password')).status).toBe(401);
      const fourth = await signin(u.email, 'wrong password');
      expect(fourth.status).toBe(429);
      expect(fourth.body).toEqual({
        code: 'RATE_LIMITED',
        message: expect.stringMatching(/^Too many attempts; try again in \d+ s$/),
        details: { retryAfterSeconds: expect.any(Number) },
      });
      // Even the right password (in another case) waits: the limit is per account, not per spelling.
      const right = await signin(u.email.toUpperCase(), PASSWORD);
      expect(right.status).toBe(429);
      expect(right.setCookie).toBeUndefined();
      const other = await signin(`other-${u.userId}@example.com`, 'wrong password');
      expect(other.status).toBe(401);
      expect(other.body).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    } finally {
      await limited.close();
    }
  });

  describe('API tokens', () => {
    it("revoking another user's token → 404 TOKEN_NOT_FOUND, and it still works for its owner", async () => {
      const owner = await signUp(t.url, 'owner');
      const thief = await signUp(t.url, 'thief');
      const tok = (await call('POST', '/api/auth/tokens', owner.headers, { name: 'mine' })).body;
      const res = await call('DELETE', `/api/auth/tokens/${tok.id}`, thief.headers);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'TOKEN_NOT_FOUND', message: 'No such API token' });
      expect((await sql.query('SELECT revoked_at FROM api_tokens WHERE id = $1', [tok.id])).rows).toEqual([
        { revoked_at: null },
      ]);
      const me = await call('GET', '/api/auth/me', { authorization: `Bearer ${tok.token}` });
      expect(me.status).toBe(200);
      expect(me.body.user.id).toBe(owner.userId);
      expect((await call('GET', '/api/auth/tokens', { cookie: thief.cookie })).body).toEqual({ items: [] });
    });

    it.each([
      ['a revoked token, revoked again', 'revoked', 404, 'TOKEN_NOT_FOUND'],
      ['an id no token has', '987654321', 404, 'TOKEN_NOT_FOUND'],
      ['an id beyond bigint', '9999999999999999999', 404, 'TOKEN_NOT_FOUND'],
      ['a non-numeric id', 'abc', 404, 'TOKEN_NOT_FOUND'],
      ['id 0', '0', 404, 'TOKEN_NOT_FOUND'],
    ])('revoking %s (/%s) → %i %s', async (_what, id, status, code) => {
      const u = await signUp(t.url, 'rev');
      let path = id;
      if (id === 'revoked') {
        path = (await call('POST', '/api/auth/tokens', u.headers, { name: 'once' })).body.id;
        expect((await call('DELETE', `/api/auth/tokens/${path}`, u.headers)).status).toBe(204);
      }
      const res = await call('DELETE', `/api/auth/tokens/${path}`, u.headers);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code });
    });

    it.each([
      ['garbage', 'Bearer not-a-token'],
      ['an empty token', 'Bearer '],
      ['a session token used as an API token', 'session'],
    ])('Bearer with %s → 401, even alongside a valid cookie', async (_what, header) => {
      const u = await signUp(t.url, 'bearer');
      const authorization = header === 'session' ? `Bearer ${u.cookie.slice('recorder_session='.length)}` : header;
      for (const [method, url] of [
        ['GET', '/api/auth/me'],
        ['POST', '/api/projects'],
      ] as const) {
        const res = await call(
          method,
          url,
          { authorization, ...u.headers },
          method === 'POST' ? { name: 'nope' } : undefined,
        );
        expect(res.status, `${method} ${url}`).toBe(401);
        expect(res.body).toEqual({ code: 'UNAUTHENTICATED', message: 'The API token is unknown, revoked or expired' });
      }
      expect((await sql.query('SELECT 1 FROM projects WHERE owner_id = $1', [u.userId])).rowCount).toBe(0);
    });
  });
});
