/** Accounts over HTTP: sign-up, sessions (cookie), sign-out, sign-in, API tokens; what the database keeps of them. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connect, pgTargets } from './support/db.js';
import { signUp, startTestServer, TEST_PASSWORD as PASSWORD, type TestServer } from './support/app.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The session cookie a response sets, with its attributes. */
function sessionCookie(res: Response) {
  const raw = res.headers.getSetCookie().find((c) => c.startsWith('recorder_session='));
  if (!raw) throw new Error(`no recorder_session cookie in ${JSON.stringify(res.headers.getSetCookie())}`);
  const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
  return { raw, pair: pair!, value: pair!.slice('recorder_session='.length), attrs };
}

describe.each(pgTargets())('auth on $name', (target) => {
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

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.url, ...headers },
      body: JSON.stringify(body),
    });
  const me = (headers: Record<string, string>) => fetch(`${t.url}/api/auth/me`, { headers });
  /** inject with the Host of the listening server, so Origin: url passes the same-origin check. */
  const inject = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    headers: Record<string, string>,
    payload?: object,
  ) =>
    t.server.app.inject({
      method,
      url,
      headers: { host: new URL(t.url).host, ...headers },
      ...(payload ? { payload } : {}),
    });

  it('sign-up → cookie session → me → sign-out (cookie cleared, old refused) → sign-in, over real HTTP', async () => {
    const email = `Ada.${Date.now()}@Example.com`;
    const signup = await post('/api/auth/signup', { email, password: PASSWORD, displayName: '  Ada Lovelace ' });
    expect(signup.status).toBe(201);
    const { user } = (await signup.json()) as { user: Record<string, string> };
    expect(user).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      email,
      displayName: 'Ada Lovelace',
      createdAt: expect.stringMatching(ISO),
    });
    const c1 = sessionCookie(signup);
    expect(c1.value).toMatch(/^rs_[A-Za-z0-9_-]{43}$/);
    expect(c1.attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']));
    // plain http: a Secure cookie would never come back
    expect(c1.attrs.some((a) => a.startsWith('Secure'))).toBe(false);
    const expires = Date.parse(c1.attrs.find((a) => a.startsWith('Expires='))!.slice(8));
    expect(expires - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(expires - Date.now()).toBeLessThan(31 * 86_400_000);

    const who = await me({ cookie: c1.pair });
    expect(who.status).toBe(200);
    expect(await who.json()).toEqual({ user, features: { storage: 'server' } });

    const out = await post('/api/auth/signout', {}, { cookie: c1.pair });
    expect(out.status).toBe(204);
    const cleared = sessionCookie(out);
    expect(cleared.value).toBe('');
    expect(cleared.attrs).toEqual(expect.arrayContaining(['Max-Age=0', 'Path=/']));
    const after = await me({ cookie: c1.pair });
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ code: 'UNAUTHENTICATED', message: 'Sign in first' });

    const signin = await post('/api/auth/signin', { email: email.toUpperCase(), password: PASSWORD });
    expect(signin.status).toBe(200);
    expect(await signin.json()).toEqual({ user });
    const c2 = sessionCookie(signin);
    expect(c2.value).not.toBe(c1.value);
    expect(c2.attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']));
    expect(await (await me({ cookie: c2.pair })).json()).toEqual({ user, features: { storage: 'server' } });
    expect((await me({ cookie: c1.pair })).status).toBe(401);
  });

  it('without TRUST_PROXY a client’s X-Forwarded-Proto: https is not believed: no Secure cookie, no HSTS', async () => {
    const email = `fwd-${Date.now()}@example.com`;
    const forged = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-forwarded-for': '192.0.2.1' };
    const res = await post('/api/auth/signup', { email, password: PASSWORD, displayName: 'F' }, forged);
    expect(res.status).toBe(201);
    expect(sessionCookie(res).attrs).not.toContain('Secure');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    // Nor the forwarded host: a write from "https://evil.example" is still cross-site.
    const cookie = sessionCookie(res).pair;
    const write = await post('/api/projects', { name: 'x' }, { ...forged, cookie, origin: 'https://evil.example' });
    expect(write.status).toBe(403);
  });

  it('stores an argon2id hash of the password, never the password', async () => {
    const u = await signUp(t.url, 'hash');
    const { rows } = await sql.query<{ password_hash: string; email: string }>(
      'SELECT password_hash, email FROM users WHERE id = $1',
      [u.userId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.email).toBe(u.email);
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(rows[0]!.password_hash).not.toContain(PASSWORD);
    const leaked = await sql.query(`SELECT 1 FROM users u WHERE row_to_json(u)::text LIKE '%' || $1 || '%'`, [
      PASSWORD,
    ]);
    expect(leaked.rowCount).toBe(0);
  });

  it('keeps only a session token’s sha256; each sign-in is its own session, sign-out ends only its own', async () => {
    const u = await signUp(t.url, 'sess');
    const token = u.cookie.slice('recorder_session='.length);
    const sessions = async () =>
      (await sql.query<{ id: string }>('SELECT id FROM auth_sessions WHERE user_id = $1', [u.userId])).rows.map(
        (r) => r.id,
      );
    expect(await sessions()).toEqual([sha256(token)]);
    expect(
      (await sql.query('SELECT 1 FROM auth_sessions WHERE id = $1 OR user_agent LIKE $2', [token, `%${token}%`]))
        .rowCount,
    ).toBe(0);

    const second = sessionCookie(await post('/api/auth/signin', { email: u.email, password: PASSWORD }));
    expect((await sessions()).sort()).toEqual([sha256(token), sha256(second.value)].sort());
    expect((await post('/api/auth/signout', {}, { cookie: second.pair })).status).toBe(204);
    expect(await sessions()).toEqual([sha256(token)]);
    expect((await me({ cookie: u.cookie })).status).toBe(200);
  });

  it('refuses a session whose expiry has passed', async () => {
    const u = await signUp(t.url, 'old');
    await sql.query(`UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [u.userId]);
    const res = await inject('GET', '/api/auth/me', { cookie: u.cookie });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('API tokens: shown once, prefixed, listed without secret, hashed, Bearer without Origin, revocable', async () => {
    const u = await signUp(t.url, 'tok');
    const created = await inject('POST', '/api/auth/tokens', u.headers, { name: '  CI  ' });
    expect(created.statusCode).toBe(201);
    const tok = created.json();
    expect(tok).toEqual({
      id: expect.stringMatching(/^[1-9]\d*$/),
      name: 'CI',
      prefix: expect.any(String),
      createdAt: expect.stringMatching(ISO),
      expiresAt: null,
      token: expect.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/),
    });
    expect(tok.prefix).toBe(tok.token.slice(0, 10));

    const row = (await sql.query('SELECT token_hash, token_prefix FROM api_tokens WHERE id = $1', [tok.id])).rows[0];
    expect(row).toEqual({ token_hash: sha256(tok.token), token_prefix: tok.prefix });
    expect(
      (await sql.query(`SELECT 1 FROM api_tokens t WHERE row_to_json(t)::text LIKE '%' || $1 || '%'`, [tok.token]))
        .rowCount,
    ).toBe(0);

    const list = await inject('GET', '/api/auth/tokens', { cookie: u.cookie });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({
      items: [
        { id: tok.id, name: 'CI', prefix: tok.prefix, createdAt: tok.createdAt, expiresAt: null, lastUsedAt: null },
      ],
    });
    expect(list.body).not.toContain(tok.token);

    const bearer = { authorization: `Bearer ${tok.token}` };
    const who = await t.server.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer });
    expect(who.statusCode).toBe(200);
    expect(who.json().user).toMatchObject({ id: u.userId, email: u.email });
    // A token is not sent by browsers on their own: no Origin needed for a mutating request.
    const made = await t.server.app.inject({
      method: 'POST',
      url: '/api/projects',
      headers: bearer,
      payload: { name: 'via token' },
    });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ name: 'via token', ownerId: u.userId, role: 'owner' });
    expect((await sql.query('SELECT name FROM projects WHERE owner_id = $1', [u.userId])).rows).toEqual([
      { name: 'via token' },
    ]);
    const used = (await inject('GET', '/api/auth/tokens', { cookie: u.cookie })).json().items[0];
    expect(used.lastUsedAt).toMatch(ISO);

    const revoked = await inject('DELETE', `/api/auth/tokens/${tok.id}`, u.headers);
    expect(revoked.statusCode).toBe(204);
    const refused = await t.server.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({
      code: 'UNAUTHENTICATED',
      message: 'The API token is unknown, revoked or expired',
    });
    expect(
      (await t.server.app.inject({ method: 'POST', url: '/api/projects', headers: bearer, payload: { name: 'x' } }))
        .statusCode,
    ).toBe(401);
    expect((await inject('GET', '/api/auth/tokens', { cookie: u.cookie })).json()).toEqual({ items: [] });
    expect((await sql.query('SELECT count(*)::int AS n FROM projects WHERE owner_id = $1', [u.userId])).rows[0].n).toBe(
      1,
    );
  });

  it('API tokens with an expiry: expiresAt is reported, and a token past it is refused', async () => {
    const u = await signUp(t.url, 'exp');
    const tok = (await inject('POST', '/api/auth/tokens', u.headers, { name: 'week', expiresInDays: 7 })).json();
    expect(Date.parse(tok.expiresAt) - Date.parse(tok.createdAt)).toBeGreaterThan(7 * 86_400_000 - 5_000);
    expect(Date.parse(tok.expiresAt) - Date.parse(tok.createdAt)).toBeLessThan(7 * 86_400_000 + 5_000);
    const bearer = { authorization: `Bearer ${tok.token}` };
    expect((await t.server.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer })).statusCode).toBe(200);

    await sql.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [tok.id]);
    const res = await t.server.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('a real client can use a token over HTTP (fetch, no cookie, no Origin)', async () => {
    const u = await signUp(t.url, 'fetchtok');
    const tok = (await inject('POST', '/api/auth/tokens', u.headers, { name: 'cli' })).json();
    const res = await fetch(`${t.url}/api/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from the CLI' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual([]);
    const list = await fetch(`${t.url}/api/projects`, { headers: { authorization: `Bearer ${tok.token}` } });
    expect(((await list.json()) as { items: { name: string }[] }).items.map((p) => p.name)).toEqual(['from the CLI']);
  });
});
