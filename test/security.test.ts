/**
 * Web hardening, each finding of issue 9 as the user or the attacker would see it, over real HTTP on a real
 * server: Secure cookies and HSTS behind a trusted TLS proxy (and not over plain http), the Origin check on
 * scheme + host + port, security headers (nosniff, no-store) on API, media and thumbnails, a token cannot
 * mint tokens, sign out everywhere, weak passwords refused, and sign-in limits per address (spraying) and
 * per account across addresses (rotation) that hold across two server processes and let the user back in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthRepository } from '../src/server/auth/auth.repository.js';
import { FIRST_LOCK_MS, afterFailure, clientNetwork, type LimitState } from '../src/server/auth/sign-in-limits.js';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { thumbnailKey } from '../src/server/storage/keys.js';
import { HSTS } from '../src/server/web/security-headers.js';
import { signUp, startTestServer, TEST_PASSWORD, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { attachMedia, insertRecording } from './support/recordings-fixtures.js';

const PUBLIC_URL = 'https://rec.example.test';
const json = { 'content-type': 'application/json' };

/** The session cookie a response sets, as its attributes; undefined when it sets none. */
function sessionCookie(res: Response): { pair: string; attrs: string[] } | undefined {
  const raw = res.headers.getSetCookie().find((c) => c.startsWith('recorder_session='));
  if (!raw) return undefined;
  const [pair, ...attrs] = raw.split(';').map((part) => part.trim());
  return { pair: pair!, attrs };
}
const isSecure = (res: Response) => sessionCookie(res)?.attrs.includes('Secure') ?? false;

describe.each(pgTargets().slice(0, 1))('web hardening on $name', (target) => {
  let t: TestServer; // behind a trusted proxy on loopback; small sign-in limits
  let pub: TestServer; // PUBLIC_URL https, no trusted proxy
  let sql: pg.Client;
  beforeAll(async () => {
    [t, pub] = await Promise.all([
      startTestServer(target, {
        TRUST_PROXY: 'loopback',
        SIGNIN_RATE_PER_MINUTE: '3',
        SIGNIN_ADDRESS_RATE_PER_MINUTE: '4',
      }),
      startTestServer(target, { PUBLIC_URL }),
    ]);
    sql = await connect(t.dbUrl);
  });
  afterAll(async () => {
    await sql?.end();
    await Promise.all([t?.close(), pub?.close()]);
  });

  const post = (server: TestServer, url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${url}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
  const get = (server: TestServer, url: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${url}`, { headers });
  const newEmail = (name: string) => `${name}-${Math.random().toString(36).slice(2)}@example.com`;

  it('behind a trusted https proxy: Secure session cookie and HSTS; over plain http neither', async () => {
    const viaTls = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.10' };
    const email = newEmail('tls');
    const signup = await post(t, '/api/auth/signup', { email, password: TEST_PASSWORD, displayName: 'T' }, viaTls);
    expect(signup.status).toBe(201);
    expect(isSecure(signup)).toBe(true);
    expect(signup.headers.get('strict-transport-security')).toBe(HSTS);
    const signin = await post(t, '/api/auth/signin', { email, password: TEST_PASSWORD }, viaTls);
    expect(signin.status).toBe(200);
    expect(isSecure(signin)).toBe(true);
    expect((await get(t, '/health', viaTls)).headers.get('strict-transport-security')).toBe(HSTS);

    const plain = await post(t, '/api/auth/signin', { email, password: TEST_PASSWORD });
    expect(plain.status).toBe(200);
    expect(isSecure(plain)).toBe(false);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    expect((await get(t, '/health')).headers.get('strict-transport-security')).toBeNull();

    // PUBLIC_URL https: the browser is on https whatever the hop to us says.
    const behindPublic = await post(pub, '/api/auth/signup', {
      email: newEmail('pub'),
      password: TEST_PASSWORD,
      displayName: 'P',
    });
    expect(behindPublic.status).toBe(201);
    expect(isSecure(behindPublic)).toBe(true);
    expect(behindPublic.headers.get('strict-transport-security')).toBe(HSTS);
  });

  it('a cookie write must come from our exact origin: scheme, host and port', async () => {
    const u = await signUp(t.url, 'origin');
    const port = Number(new URL(t.url).port);
    const create = (server: TestServer, cookie: string, origin: string, extra: Record<string, string> = {}) =>
      post(server, '/api/projects', { name: `from ${origin}` }, { cookie, origin, ...extra });
    for (const origin of [`https://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`, `http://localhost:${port}`]) {
      const res = await create(t, u.cookie, origin);
      expect(res.status, origin).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'ORIGIN_MISMATCH' });
    }
    expect((await create(t, u.cookie, t.url)).status).toBe(201);
    // Through the trusted proxy the page is on https: an http page of the same host is another origin.
    const tls = { 'x-forwarded-proto': 'https' };
    expect((await create(t, u.cookie, t.url, tls)).status).toBe(403);
    expect((await create(t, u.cookie, `https://127.0.0.1:${port}`, tls)).status).toBe(201);

    const p = await signUp(pub.url, 'public');
    for (const origin of ['http://rec.example.test', 'https://rec.example.test:8443', pub.url]) {
      expect((await create(pub, p.cookie, origin)).status, origin).toBe(403);
    }
    expect((await create(pub, p.cookie, PUBLIC_URL)).status).toBe(201);
    expect((await create(pub, p.cookie, `${PUBLIC_URL}:443`)).status).toBe(201);
    const names = async (userId: string, server: TestServer) => {
      const c = await connect(server.dbUrl);
      const { rows } = await c.query('SELECT name FROM projects WHERE owner_id = $1 ORDER BY id', [userId]);
      await c.end();
      return rows.map((r) => r.name);
    };
    expect(await names(u.userId, t)).toEqual([`from ${t.url}`, `from https://127.0.0.1:${port}`]);
    expect(await names(p.userId, pub)).toEqual([`from ${PUBLIC_URL}`, `from ${PUBLIC_URL}:443`]);
  });

  it('API answers say nosniff, deny framing, and JSON is never stored by a cache', async () => {
    const u = await signUp(t.url, 'headers');
    for (const [url, headers, status] of [
      ['/api/auth/me', { cookie: u.cookie }, 200],
      ['/api/recordings', { cookie: u.cookie }, 200],
      ['/api/auth/me', {}, 401],
      ['/api/nothing-here', {}, 404],
    ] as const) {
      const res = await get(t, url, headers);
      expect(res.status, url).toBe(status);
      expect(res.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(res.headers.get('cache-control'), url).toBe('no-store');
      expect(res.headers.get('x-frame-options'), url).toBe('DENY');
      expect(res.headers.get('referrer-policy'), url).toBe('same-origin');
      expect(res.headers.get('cross-origin-opener-policy'), url).toBe('same-origin');
      expect(res.headers.get('content-security-policy'), url).toBeNull(); // the app's CSP is for its pages
    }
    // tus answers itself (hijacked reply): the headers are there too.
    const tus = await fetch(`${t.url}/api/uploads/no-such-upload`, {
      method: 'HEAD',
      headers: { cookie: u.cookie, 'tus-resumable': '1.0.0' },
    });
    expect(tus.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('media and thumbnails (whole, Range and HEAD) say nosniff and keep their own caching', async () => {
    const u = await signUp(t.url, 'media');
    const id = await insertRecording(sql, { userId: u.userId });
    await attachMedia(sql, t.server.storage, { userId: u.userId, id }, Buffer.alloc(4096, 7));
    const thumb = thumbnailKey(u.userId, id);
    const jpeg = Readable.from([Buffer.from([0xff, 0xd8, 0xff, 0xe0])]);
    await t.server.storage.put(thumb, jpeg, { contentType: 'image/jpeg' });
    await sql.query(`UPDATE recordings SET metadata = jsonb_build_object('thumbnail_key', $2::text) WHERE id = $1`, [
      id,
      thumb,
    ]);
    for (const [what, method, range, status] of [
      ['media', 'GET', 'bytes=0-99', 206],
      ['media', 'GET', undefined, 200],
      ['media', 'HEAD', undefined, 200],
      ['thumbnail', 'GET', undefined, 200],
    ] as const) {
      const res = await fetch(`${t.url}/api/recordings/${id}/${what}`, {
        method,
        headers: { cookie: u.cookie, ...(range ? { range } : {}) },
      });
      expect(res.status, `${method} ${what} ${range}`).toBe(status);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('private, max-age=3600');
      await res.arrayBuffer();
    }
  });

  it('an API token cannot create API tokens (403 SESSION_REQUIRED); the signed-in session can', async () => {
    const u = await signUp(t.url, 'mint');
    const made = await post(t, '/api/auth/tokens', { name: 'ci' }, u.headers);
    expect(made.status).toBe(201);
    const { token } = (await made.json()) as { token: string };
    const minted = await post(t, '/api/auth/tokens', { name: 'child' }, { authorization: `Bearer ${token}` });
    expect(minted.status).toBe(403);
    expect(await minted.json()).toEqual({
      code: 'SESSION_REQUIRED',
      message: expect.stringContaining('API token cannot'),
    });
    const { rows } = await sql.query('SELECT name FROM api_tokens WHERE user_id = $1', [u.userId]);
    expect(rows).toEqual([{ name: 'ci' }]);
    // Reading with the token still works.
    expect((await get(t, '/api/auth/tokens', { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('sign out everywhere ends the sessions of every device and revokes every token, nobody else’s', async () => {
    const u = await signUp(t.url, 'everywhere');
    const other = await signUp(t.url, 'bystander');
    const laptop = await post(t, '/api/auth/signin', { email: u.email, password: TEST_PASSWORD });
    const laptopCookie = sessionCookie(laptop)!.pair;
    const tokens: string[] = [];
    for (const name of ['ci', 'cli']) {
      tokens.push(((await (await post(t, '/api/auth/tokens', { name }, u.headers)).json()) as { token: string }).token);
    }
    const foreign = await post(
      t,
      '/api/auth/signout-everywhere',
      {},
      { cookie: u.cookie, origin: 'https://evil.example' },
    );
    expect(foreign.status).toBe(403);
    expect((await get(t, '/api/auth/me', { cookie: laptopCookie })).status).toBe(200);

    const res = await post(t, '/api/auth/signout-everywhere', {}, u.headers);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sessions: 2, tokens: 2 });
    expect(sessionCookie(res)?.pair).toBe('recorder_session=');
    for (const headers of [
      { cookie: u.cookie },
      { cookie: laptopCookie },
      ...tokens.map((tk) => ({ authorization: `Bearer ${tk}` })),
    ]) {
      expect((await get(t, '/api/auth/me', headers)).status).toBe(401);
    }
    expect((await get(t, '/api/auth/me', { cookie: other.cookie })).status).toBe(200);
    // The account itself is fine: its owner signs in again.
    expect((await post(t, '/api/auth/signin', { email: u.email, password: TEST_PASSWORD })).status).toBe(200);
  });

  const grace = newEmail('grace.hopper');
  it.each([
    ['password', 'password'],
    ['eight spaces', '        '],
    ['the email itself', grace],
    ['the name and a year', 'gracehopper1906'],
    ['a crafted repeat (costly to estimate)', 'ab1!'.repeat(64)],
  ])(
    'sign-up with a weak password (%s) → 400 WEAK_PASSWORD with the estimator’s feedback, no account',
    async (what, password) => {
      const body = { email: grace, password, displayName: 'Grace Hopper' };
      // Each from its own address: refused sign-ups count against the address (the next test).
      const res = await post(t, '/api/auth/signup', body, { 'x-forwarded-for': `192.0.2.${what.length}` });
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { code: string; message: string; details: Record<string, unknown> };
      expect(answer).toMatchObject({
        code: 'WEAK_PASSWORD',
        message: expect.stringMatching(/^This password is too easy to guess: /),
        details: { score: expect.any(Number), minScore: 3, suggestions: expect.any(Array) },
      });
      expect(answer.details.score).toBeLessThan(3);
      const { warning, suggestions } = answer.details as { warning: unknown; suggestions: string[] };
      expect(typeof warning === 'string' || suggestions.length > 0).toBe(true);
      expect(sessionCookie(res)).toBeUndefined();
      expect((await sql.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [grace])).rowCount).toBe(0);
    },
  );

  it('refused sign-ups count against the address: after 4, even a good one waits (429)', async () => {
    const taken = await signUp(t.url, 'taken');
    const from = { 'x-forwarded-for': '192.0.2.200' };
    for (let i = 0; i < 4; i++) {
      const again = { email: taken.email, password: TEST_PASSWORD, displayName: 'Again' };
      expect((await post(t, '/api/auth/signup', again, from)).status).toBe(409);
    }
    const good = { email: newEmail('good'), password: TEST_PASSWORD, displayName: 'Good' };
    const res = await post(t, '/api/auth/signup', good, from);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(50);
    expect((await post(t, '/api/auth/signup', good, { 'x-forwarded-for': '192.0.2.201' })).status).toBe(201);
  });

  it('housekeeping forgets the sign-in limits nobody has hit for a day, keeps the others', async () => {
    const key = (n: string) => `address:${n.repeat(64)}`;
    await sql.query(
      `INSERT INTO sign_in_limits (key, failures, window_started_at, updated_at)
       VALUES ($1, 1, now() - interval '2 days', now() - interval '2 days'), ($2, 1, now(), now())`,
      [key('a'), key('b')],
    );
    await new AuthRepository(t.server.database.db).deleteExpiredSessions(new Date());
    const { rows } = await sql.query('SELECT key FROM sign_in_limits WHERE key = ANY ($1)', [[key('a'), key('b')]]);
    expect(rows).toEqual([{ key: key('b') }]);
  });

  /** One sign-in from a given client address (the trusted proxy's X-Forwarded-For). */
  const signInFrom = (server: { url: string }, address: string, email: string, password: string) =>
    fetch(`${server.url}/api/auth/signin`, {
      method: 'POST',
      headers: { ...json, 'x-forwarded-for': address },
      body: JSON.stringify({ email, password }),
    });
  async function expectLimited(res: Response, maxSeconds: number) {
    expect(res.status).toBe(429);
    expect(sessionCookie(res)).toBeUndefined();
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(maxSeconds - 10);
    expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
    expect(await res.json()).toEqual({
      code: 'RATE_LIMITED',
      message: `Too many attempts; try again in ${retryAfter} s`,
      details: { retryAfterSeconds: retryAfter },
    });
  }
  /** Moves the sign-in limits' clock: every counter and lock of the table as if `seconds` had passed. */
  const timePasses = (seconds: number) =>
    sql.query(
      `UPDATE sign_in_limits SET locked_until = locked_until - make_interval(secs => $1),
         window_started_at = window_started_at - make_interval(secs => $1),
         updated_at = updated_at - make_interval(secs => $1)`,
      [seconds],
    );

  it('one password sprayed over many accounts from one address → 429 at the address limit (4)', async () => {
    const victims = await Promise.all([1, 2, 3, 4, 5].map((i) => signUp(t.url, `spray${i}`)));
    const sprayer = '203.0.113.7';
    for (const v of victims.slice(0, 4))
      expect((await signInFrom(t, sprayer, v.email, 'Summer2026!')).status).toBe(401);
    await expectLimited(await signInFrom(t, sprayer, victims[4]!.email, 'Summer2026!'), 60);
    // Locked before the password is checked: even the right one gets nothing from that address...
    await expectLimited(await signInFrom(t, sprayer, victims[4]!.email, TEST_PASSWORD), 60);
    // ...while the accounts themselves are not locked for their owners elsewhere.
    expect((await signInFrom(t, '198.18.0.9', victims[0]!.email, TEST_PASSWORD)).status).toBe(200);
  });

  it('addresses rotated against one account → 429 at its limit (3), two servers; the user gets back in', async () => {
    // A second server process on the same database: the counters are in PostgreSQL, not in a process.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-second-'));
    const env = { DATABASE_URL: t.dbUrl, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', JOBS_ENABLED: 'false' };
    const second: RunningServer = await startServer(
      loadConfig({ ...env, TRUST_PROXY: 'loopback', SIGNIN_RATE_PER_MINUTE: '3', SIGNIN_ADDRESS_RATE_PER_MINUTE: '4' }),
      createLogger('silent'),
    );
    try {
      const u = await signUp(t.url, 'rotated');
      const servers = [t, second, t];
      for (const [i, server] of servers.entries()) {
        expect((await signInFrom(server, `100.64.0.${i + 1}`, u.email, `guess number ${i}`)).status).toBe(401);
      }
      // A fresh address and even the right password: the account waits (a minute, the first time).
      await expectLimited(await signInFrom(second, '100.64.0.50', u.email, TEST_PASSWORD), 60);
      await expectLimited(await signInFrom(t, '100.64.0.51', u.email.toUpperCase(), TEST_PASSWORD), 60);

      // The attacker keeps going after the minute: the next lock is twice as long.
      await timePasses(61);
      for (const i of [4, 5, 6]) expect((await signInFrom(t, `100.64.0.${i}`, u.email, `guess ${i}`)).status).toBe(401);
      await expectLimited(await signInFrom(second, '100.64.0.52', u.email, TEST_PASSWORD), 120);

      // When it runs out the real user signs in, and that clears the account's count.
      await timePasses(121);
      const back = await signInFrom(second, '100.64.0.53', u.email, TEST_PASSWORD);
      expect(back.status).toBe(200);
      expect(sessionCookie(back)).toBeDefined();
      for (const i of [7, 8]) expect((await signInFrom(t, `100.64.0.${i}`, u.email, `guess ${i}`)).status).toBe(401);
      expect((await signInFrom(t, '100.64.0.54', u.email, TEST_PASSWORD)).status).toBe(200);
    } finally {
      await second.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('sign-in limit rules', () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
  const fresh: LimitState = { failures: 0, windowStartedAt: at(0), lockedUntil: null, lockouts: 0, updatedAt: at(0) };
  const lockMaxMs = 900_000;

  it('locks at the limit for a minute, then twice as long each time, capped; forgets after a quiet cap', () => {
    let state = fresh;
    let now = 0;
    const locks: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 3; i++) state = afterFailure(state, at(now), 3, lockMaxMs);
      locks.push((state.lockedUntil!.getTime() - at(now).getTime()) / 1000);
      now = (state.lockedUntil!.getTime() - at(0).getTime()) / 1000 + 1; // the attacker waits it out
    }
    expect(locks).toEqual([60, 120, 240, 480, 900, 900]);
    expect(FIRST_LOCK_MS).toBe(60_000);
    // Quiet for longer than the cap: the next lock is a minute again.
    now += 901;
    for (let i = 0; i < 3; i++) state = afterFailure(state, at(now), 3, lockMaxMs);
    expect((state.lockedUntil!.getTime() - at(now).getTime()) / 1000).toBe(60);
  });

  it('counts failures within a minute only', () => {
    let state = afterFailure(fresh, at(0), 3, lockMaxMs);
    state = afterFailure(state, at(30), 3, lockMaxMs);
    state = afterFailure(state, at(61), 3, lockMaxMs); // a new minute: 1 failure in it
    expect(state).toMatchObject({ failures: 1, lockedUntil: null });
  });

  it('an IPv6 client is its /64; IPv4 (also IPv4-mapped) is itself', () => {
    expect(clientNetwork('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8::7')).toBe('2001:db8:0:0::/64');
    expect(clientNetwork('::1')).toBe('0:0:0:0::/64');
    expect(clientNetwork('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientNetwork('192.0.2.1')).toBe('192.0.2.1');
  });
});

describe('TRUST_PROXY', () => {
  const trust = (value: string) => loadConfig({ TRUST_PROXY: value }, '/srv').trustProxy;
  it('accepts true/false, addresses, CIDR ranges and proxy-addr names; refuses hop counts and junk', () => {
    expect(loadConfig({}, '/srv').trustProxy).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('127.0.0.1, 10.0.0.0/8,::1,fd00::/8,loopback')).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
    expect(() => trust('2')).toThrow(/TRUST_PROXY: a hop count \(2\) is not accepted/);
    expect(() => trust('10.0.0.0/33')).toThrow(/TRUST_PROXY: "10.0.0.0\/33" is not accepted/);
    expect(() => trust('proxy.example')).toThrow(/TRUST_PROXY/);
  });
});
