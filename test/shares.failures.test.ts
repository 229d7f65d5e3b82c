/**
 * Share links that must not open, and bad requests (issue 13): guessed, truncated and malformed tokens (404
 * that says nothing more), another recording's link id, revoked and expired links (410, on the API, the
 * media and the page), a deleted recording (410 SHARE_GONE), wrong passwords and the 11th try (429 with
 * Retry-After, per link and per address), a password link's media without, with a forged, an expired or a
 * voided grant; no Set-Cookie and no email, user id or other recording in any public answer; viewers 403,
 * strangers 404; bad bodies 400. Each a clear 4xx with a code, never a 500.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/server/clock.js';
import { SharesRepository } from '../src/server/shares/shares.repository.js';
import { SharesService } from '../src/server/shares/shares.service.js';
import { signUp, type TestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import {
  type ApiResponse,
  addMember,
  asUser,
  attachMedia,
  call,
  insertProject,
  insertRecording,
  withTestServer,
} from './support/recordings-fixtures.js';

type User = Awaited<ReturnType<typeof signUp>>;
const MEDIA = Buffer.alloc(2048, 7);

describe.each(pgTargets().slice(0, 1))('share links refused on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  /** Every public answer of this file: none may set a cookie or name anything but its own recording. */
  const publicAnswers: ApiResponse[] = [];
  const as = (u: User) => asUser(t.url, u);
  async function visitor(path: string, headers: Record<string, string> = {}, method = 'GET', body?: unknown) {
    const res = await call(t.url, method, path, headers, body);
    publicAnswers.push(res);
    return res;
  }
  const refusal = (res: ApiResponse) => [res.status, res.json?.code];
  const unlock = (token: string, password: string) =>
    visitor(`/api/s/${token}/unlock`, { origin: t.url }, 'POST', { password });

  async function sharedRecording(owner: User, body: Record<string, unknown> = { permissions: ['view'] }) {
    const id = await insertRecording(c, { userId: owner.userId, title: `Take ${randomBytes(3).toString('hex')}` });
    await attachMedia(c, t.server.storage, { userId: owner.userId, id }, MEDIA);
    const made = await as(owner).post(`/api/recordings/${id}/shares`, body);
    expect(made.status).toBe(201);
    return { id, token: made.json.token, shareId: (made.json.share as { id: string }).id };
  }

  it('answers guessed, truncated and malformed tokens with a 404 that says nothing more', async () => {
    const owner = await signUp(t.url, 'owner');
    const { token } = await sharedRecording(owner);
    const guessed = `sh_${randomBytes(32).toString('base64url')}`;
    for (const bad of [guessed, token.slice(0, -1), `${token}x`, token.slice(3), 'sh_', 'a'.repeat(90)]) {
      for (const path of [
        `/api/s/${bad}`,
        `/api/s/${bad}/media`,
        `/api/s/${bad}/thumbnail`,
        `/api/s/${bad}/download`,
      ]) {
        const res = await visitor(path);
        expect(refusal(res), `${path}`).toEqual([404, 'SHARE_NOT_FOUND']);
        expect(res.json.message).toBe('This link does not exist');
      }
      expect(refusal(await unlock(bad, 'whatever pass'))).toEqual([404, 'SHARE_NOT_FOUND']);
      const page = await visitor(`/s/${bad}`);
      expect(page.status).toBe(404);
      expect(page.body.toString()).toContain('This link does not exist');
      expect(page.body.toString()).not.toContain('<script');
    }
    // a NUL is refused before any route (http/input-guard.ts): a 400 with its code, still no lookup
    expect(refusal(await visitor('/api/s/sh_%00'))).toEqual([400, 'INVALID_TEXT']);
    // longer than Fastify routes a parameter (100): no route at all, a 404 all the same
    expect(refusal(await visitor(`/api/s/${'b'.repeat(201)}`))).toEqual([404, 'ROUTE_NOT_FOUND']);
  });

  it('refuses another recording’s link id, and a link only ever shows its own recording', async () => {
    const owner = await signUp(t.url, 'owner');
    const a = await sharedRecording(owner);
    const b = await sharedRecording(owner);
    for (const res of [
      await as(owner).patch(`/api/recordings/${a.id}/shares/${b.shareId}`, { label: 'x' }),
      await as(owner).delete(`/api/recordings/${a.id}/shares/${b.shareId}`),
      await as(owner).patch(`/api/recordings/${a.id}/shares/99999999`, { label: 'x' }),
      await as(owner).delete(`/api/recordings/${a.id}/shares/99999999999999999999`),
      await as(owner).delete(`/api/recordings/${a.id}/shares/abc`),
    ])
      expect(refusal(res)).toEqual([404, expect.stringMatching(/^(SHARE_NOT_FOUND|NOT_FOUND)$/)]);
    expect((await as(owner).get(`/api/recordings/${b.id}/shares`)).json.shares).toMatchObject([{ status: 'active' }]);
    const titleOf = async (id: string) =>
      (await c.query('SELECT title FROM recordings WHERE id = $1', [id])).rows[0].title;
    const viewA = await visitor(`/api/s/${a.token}`);
    expect(viewA.body.toString()).toContain(await titleOf(a.id));
    expect(viewA.body.toString()).not.toContain(await titleOf(b.id));
  });

  it('answers revoked and expired links 410 on every public route and the page', async () => {
    const owner = await signUp(t.url, 'owner');
    const revoked = await sharedRecording(owner, { permissions: ['view', 'download'] });
    await as(owner).delete(`/api/recordings/${revoked.id}/shares/${revoked.shareId}`);
    const expired = await sharedRecording(owner, { permissions: ['view', 'download'] });
    await c.query(`UPDATE recording_shares SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expired.shareId,
    ]);
    for (const [link, code, heading] of [
      [revoked, 'SHARE_REVOKED', 'This link was revoked'],
      [expired, 'SHARE_EXPIRED', 'This link has expired'],
    ] as const) {
      for (const path of ['', '/media', '/thumbnail', '/download'])
        expect(refusal(await visitor(`/api/s/${link.token}${path}`)), path).toEqual([410, code]);
      expect(refusal(await unlock(link.token, 'some password'))).toEqual([410, code]);
      const page = await visitor(`/s/${link.token}`);
      expect(page.status).toBe(410);
      expect(page.body.toString()).toContain(heading);
    }
    expect((await as(owner).get(`/api/recordings/${expired.id}/shares`)).json.shares).toMatchObject([
      { status: 'expired' },
    ]);
    // revoking is final: changing a revoked link does not bring it back
    await as(owner).patch(`/api/recordings/${revoked.id}/shares/${revoked.shareId}`, { permissions: ['view'] });
    expect(refusal(await visitor(`/api/s/${revoked.token}`))).toEqual([410, 'SHARE_REVOKED']);
  });

  it('answers a deleted recording’s links 410 SHARE_GONE, the page too', async () => {
    const owner = await signUp(t.url, 'owner');
    const { id, token } = await sharedRecording(owner);
    expect((await as(owner).delete(`/api/recordings/${id}`)).status).toBe(204);
    expect(refusal(await visitor(`/api/s/${token}`))).toEqual([410, 'SHARE_GONE']);
    expect(refusal(await visitor(`/api/s/${token}/media`))).toEqual([410, 'SHARE_GONE']);
    const page = await visitor(`/s/${token}`);
    expect(page.status).toBe(410);
    expect(page.body.toString()).toContain('This recording was deleted');
  });

  it('keeps a password link’s recording and media closed without a valid grant', async () => {
    const owner = await signUp(t.url, 'owner');
    const { id, token, shareId } = await sharedRecording(owner, { permissions: ['view'], password: 'first secret' });
    const forged = `${Math.floor(Date.now() / 1000) + 3600}.${randomBytes(32).toString('base64url')}`;
    for (const access of [undefined, forged, 'not-a-grant', `1.${randomBytes(32).toString('base64url')}`]) {
      const query = access ? `?access=${encodeURIComponent(access)}` : '';
      for (const path of ['', '/media', '/thumbnail', '/download'])
        expect(refusal(await visitor(`/api/s/${token}${path}${query}`)), `${path} ${access}`).toEqual([
          401,
          'SHARE_PASSWORD_REQUIRED',
        ]);
    }
    // a grant past its expiry, made with the right key, is refused too
    const { rows } = await c.query('SELECT password_hash FROM recording_shares WHERE id = $1', [shareId]);
    const past = Math.floor(Date.now() / 1000) - 1;
    const mac = createHmac('sha256', rows[0].password_hash).update(`${shareId}.${past}`).digest('base64url');
    expect(refusal(await visitor(`/api/s/${token}`, { 'x-share-access': `${past}.${mac}` }))).toEqual([
      401,
      'SHARE_PASSWORD_REQUIRED',
    ]);
    // another link's grant opens nothing here
    const other = await sharedRecording(owner, { permissions: ['view'], password: 'first secret' });
    const otherGrant = (await unlock(other.token, 'first secret')).json.access as string;
    expect(refusal(await visitor(`/api/s/${token}/media?access=${otherGrant}`))).toEqual([
      401,
      'SHARE_PASSWORD_REQUIRED',
    ]);
    // changing the password voids the grants made with the old one
    const grant = (await unlock(token, 'first secret')).json.access as string;
    expect((await visitor(`/api/s/${token}/media?access=${grant}`)).status).toBe(200);
    await as(owner).patch(`/api/recordings/${id}/shares/${shareId}`, { password: 'second secret' });
    expect(refusal(await visitor(`/api/s/${token}/media?access=${grant}`))).toEqual([401, 'SHARE_PASSWORD_REQUIRED']);
    // a link without a password has nothing to unlock
    const open = await sharedRecording(owner);
    expect(refusal(await unlock(open.token, 'anything at all'))).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('limits wrong passwords: the 11th try on a link is 429 with Retry-After, even with the right one', async () => {
    const owner = await signUp(t.url, 'owner');
    const first = await sharedRecording(owner, { permissions: ['view'], password: 'right password' });
    const token = first.token;
    for (let i = 0; i < 10; i++)
      expect(refusal(await unlock(token, `wrong ${i}`))).toEqual([401, 'SHARE_PASSWORD_WRONG']);
    const limited = await unlock(token, 'right password');
    expect(refusal(limited)).toEqual([429, 'SHARE_RATE_LIMITED']);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // the address is limited as well: another link from here is refused too, before its password is checked
    const other = await sharedRecording(owner, { permissions: ['view'], password: 'right password' });
    expect(refusal(await unlock(other.token, 'right password'))).toEqual([429, 'SHARE_RATE_LIMITED']);
    // the link's counter alone (the address forgotten) still refuses the link
    await c.query(`DELETE FROM share_password_failures WHERE key LIKE 'address:%'`);
    expect(refusal(await unlock(token, 'right password'))).toEqual([429, 'SHARE_RATE_LIMITED']);
    expect((await unlock(other.token, 'right password')).status).toBe(200);
    // once the window is over, the right password opens it again
    await c.query(`UPDATE share_password_failures SET window_started_at = now() - interval '16 minutes'`);
    expect((await unlock(token, 'right password')).status).toBe(200);
    // housekeeping forgets counters nobody has added to for a day, and only those
    expect(refusal(await unlock(other.token, 'wrong again'))).toEqual([401, 'SHARE_PASSWORD_WRONG']);
    const { rows: idle } = await c.query(
      `UPDATE share_password_failures SET updated_at = now() - interval '25 hours'
        WHERE key = 'share:' || (SELECT id FROM recording_shares WHERE recording_id = $1) RETURNING key`,
      [first.id],
    );
    expect(idle).toHaveLength(1);
    const shares = new SharesService(new SharesRepository(t.server.database.db), systemClock);
    expect(await shares.forgetPasswordFailures(new Date())).toBe(1);
    const left = await c.query('SELECT key FROM share_password_failures ORDER BY key');
    expect(left.rows.map((r) => r.key)).toEqual([
      expect.stringMatching(/^address:[0-9a-f]{64}$/),
      `share:${other.shareId}`,
    ]);
    await c.query('DELETE FROM share_password_failures');
  });

  it('refuses viewers (403) and strangers (404), and bad bodies (400)', async () => {
    const [owner, viewer, stranger] = (await Promise.all(
      ['owner', 'viewer', 'stranger'].map((n) => signUp(t.url, n)),
    )) as [User, User, User];
    const projectId = await insertProject(c, owner.userId);
    await addMember(c, projectId, viewer.userId, 'viewer');
    const id = await insertRecording(c, { userId: owner.userId, projectId });
    expect(refusal(await as(viewer).post(`/api/recordings/${id}/shares`, { permissions: ['view'] }))).toEqual([
      403,
      'FORBIDDEN',
    ]);
    expect(refusal(await as(stranger).post(`/api/recordings/${id}/shares`, { permissions: ['view'] }))).toEqual([
      404,
      'RECORDING_NOT_FOUND',
    ]);
    expect(refusal(await as(owner).post('/api/recordings/99999999/shares', { permissions: ['view'] }))).toEqual([
      404,
      'RECORDING_NOT_FOUND',
    ]);
    const inAYear = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    for (const body of [
      {},
      { permissions: [] },
      { permissions: ['comment'] },
      { permissions: ['view', 'view'] },
      { permissions: ['view', 'edit'] },
      { permissions: ['view'], password: 'short' },
      { permissions: ['view'], password: 'x'.repeat(201) },
      { permissions: ['view'], expiresAt: new Date(Date.now() - 1000).toISOString() },
      { permissions: ['view'], expiresAt: inAYear(367) },
      { permissions: ['view'], expiresAt: 'tomorrow' },
      { permissions: ['view'], label: '' },
      { permissions: ['view'], label: 'x'.repeat(201) },
      { permissions: ['view'], owner: 'me' },
    ])
      expect(refusal(await as(owner).post(`/api/recordings/${id}/shares`, body)), JSON.stringify(body)).toEqual([
        400,
        'VALIDATION_FAILED',
      ]);
    expect(
      refusal(await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view'], label: 'a\u0000b' })),
    ).toEqual([400, 'INVALID_TEXT']);
    const made = await as(owner).post(`/api/recordings/${id}/shares`, {
      permissions: ['view'],
      expiresAt: inAYear(360),
    });
    expect(made.status).toBe(201);
    const shareId = (made.json.share as { id: string }).id;
    for (const body of [{}, { permissions: ['download'] }, { expiresAt: inAYear(-1) }, { password: 'short' }])
      expect(refusal(await as(owner).patch(`/api/recordings/${id}/shares/${shareId}`, body))).toEqual([
        400,
        'VALIDATION_FAILED',
      ]);
    expect(refusal(await unlock(made.json.token, ''))).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('never set a cookie, nor named an email, a user id or the recording’s storage in a public answer', async () => {
    const owner = await signUp(t.url, 'owner');
    const { token } = await sharedRecording(owner, { permissions: ['view', 'download'] });
    await visitor(`/api/s/${token}`);
    await visitor(`/api/s/${token}/download`);
    await visitor(`/s/${token}`);
    expect(publicAnswers.length).toBeGreaterThan(50);
    for (const res of publicAnswers) {
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(res.status).toBeLessThan(500);
      const text = res.body.toString();
      expect(text).not.toMatch(/@example\.com/);
      expect(text).not.toContain(owner.userId);
      expect(text).not.toContain('users/');
    }
  });
});
