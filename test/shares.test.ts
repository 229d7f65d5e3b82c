/**
 * Share links (issue 13) over a real server, database and local storage: every route's success (make,
 * list, change, revoke; the public recording, media with Range, thumbnail, download, unlock; the /s/:token
 * page with its preview tags), the view count, the recording's `shared`/`canShare`/`canResolveComments`,
 * and the permission matrix: creator, project owner, editor, viewer, stranger; link visitors with each
 * permission. Failures: shares.failures.test.ts.
 */
import { Readable } from 'node:stream';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/server/clock.js';
import { SharesRepository } from '../src/server/shares/shares.repository.js';
import { SharesService } from '../src/server/shares/shares.service.js';
import { thumbnailKey } from '../src/server/storage/keys.js';
import { signUp, type TestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import {
  addMember,
  asUser,
  attachMedia,
  call,
  insertProject,
  insertRecording,
  withTestServer,
} from './support/recordings-fixtures.js';

type User = Awaited<ReturnType<typeof signUp>>;
const MEDIA = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

describe.each(pgTargets().slice(0, 1))('share links on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  const as = (u: User) => asUser(t.url, u);
  const visitor = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: unknown) =>
    call(t.url, method, path, headers, body);

  /** A completed recording with media and a thumbnail, in a project (or none). */
  async function recordingOf(owner: User, title = 'Quarterly demo', projectId: string | null = null) {
    const id = await insertRecording(c, { userId: owner.userId, title, description: 'What we built', projectId });
    await attachMedia(c, t.server.storage, { userId: owner.userId, id }, MEDIA);
    const key = thumbnailKey(owner.userId, id);
    await t.server.storage.put(key, Readable.from([JPEG]), { contentType: 'image/jpeg' });
    await c.query(
      `UPDATE recordings SET thumbnail_url = '/api/recordings/' || id || '/thumbnail',
         metadata = jsonb_build_object('thumbnail_key', $2::text, 'width', 1280, 'height', 720) WHERE id = $1`,
      [id, key],
    );
    return id;
  }

  it('makes, lists, changes and revokes a link; the recording says shared while one is live', async () => {
    const owner = await signUp(t.url, 'owner');
    const id = await recordingOf(owner);
    expect((await as(owner).get(`/api/recordings/${id}`)).json).toMatchObject({
      shared: false,
      canShare: true,
      canResolveComments: true,
    });
    const made = await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view'], label: ' Team ' });
    expect(made.status).toBe(201);
    const { share, token, url } = made.json as unknown as {
      share: Record<string, unknown>;
      token: string;
      url: string;
    };
    expect(token).toMatch(/^sh_[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(`${t.url}/s/${token}`);
    expect(share).toEqual({
      id: expect.stringMatching(/^\d+$/),
      recordingId: id,
      label: 'Team',
      permissions: ['view'],
      passwordProtected: false,
      expiresAt: null,
      revokedAt: null,
      viewCount: 0,
      lastViewedAt: null,
      createdAt: expect.any(String),
      status: 'active',
    });
    // stored hashed: the token itself is nowhere in the table
    const { rows } = await c.query('SELECT token_hash FROM recording_shares WHERE id = $1', [share.id]);
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(token.slice(3));
    expect((await as(owner).get(`/api/recordings/${id}`)).json.shared).toBe(true);
    const library = await as(owner).get('/api/recordings');
    expect(library.json.items.find((r) => r.id === id)).toMatchObject({ shared: true, canShare: true });

    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const second = await as(owner).post(`/api/recordings/${id}/shares`, {
      permissions: ['view', 'comment', 'download'],
      password: 'correct horse',
      expiresAt,
    });
    expect(second.json.share).toMatchObject({
      permissions: ['view', 'comment', 'download'],
      passwordProtected: true,
      expiresAt,
      label: null,
    });
    const list = await as(owner).get(`/api/recordings/${id}/shares`);
    expect((list.json.shares as { id: string }[]).map((s) => s.id)).toEqual([
      (second.json.share as { id: string }).id,
      share.id,
    ]);

    const changed = await as(owner).patch(`/api/recordings/${id}/shares/${share.id}`, {
      permissions: ['view', 'download'],
      label: 'Board',
      expiresAt,
      password: 'a new secret',
    });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ permissions: ['view', 'download'], label: 'Board', passwordProtected: true });
    const cleared = await as(owner).patch(`/api/recordings/${id}/shares/${share.id}`, {
      expiresAt: null,
      password: null,
      label: null,
    });
    expect(cleared.json).toMatchObject({ expiresAt: null, passwordProtected: false, label: null });

    for (const s of [share, second.json.share as { id: string }])
      expect((await as(owner).delete(`/api/recordings/${id}/shares/${s.id}`)).status).toBe(204);
    const after = await as(owner).get(`/api/recordings/${id}/shares`);
    expect((after.json.shares as { status: string; revokedAt: string }[]).map((s) => s.status)).toEqual([
      'revoked',
      'revoked',
    ]);
    expect((await as(owner).get(`/api/recordings/${id}`)).json.shared).toBe(false);
  });

  it('shows a visitor the recording, its media with Range, its thumbnail, and counts views', async () => {
    const owner = await signUp(t.url, 'owner');
    const id = await recordingOf(owner, 'Launch video');
    const made = await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view'] });
    const token = made.json.token;
    const shareId = (made.json.share as { id: string }).id;

    const view = await visitor(`/api/s/${token}`);
    expect(view.status).toBe(200);
    expect(view.json).toEqual({
      share: { permissions: ['view'], expiresAt: null, passwordRequired: false },
      recording: {
        title: 'Launch video',
        description: 'What we built',
        recordingType: 'camera',
        duration: 3,
        mimeType: 'video/webm',
        width: 1280,
        height: 720,
        createdAt: expect.any(String),
        mediaUrl: `/api/s/${token}/media`,
        thumbnailUrl: `/api/s/${token}/thumbnail`,
        downloadUrl: null,
      },
    });
    const part = await visitor(`/api/s/${token}/media`, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${MEDIA.length}`);
    expect(part.body.equals(MEDIA.subarray(100, 200))).toBe(true);
    const whole = await visitor(`/api/s/${token}/media`);
    expect(whole.body.equals(MEDIA)).toBe(true);
    expect((await visitor(`/api/s/${token}/media`, {}, 'HEAD')).headers.get('content-length')).toBe(
      String(MEDIA.length),
    );
    const thumb = await visitor(`/api/s/${token}/thumbnail`);
    expect(thumb.status).toBe(200);
    expect(thumb.body.equals(JPEG)).toBe(true);

    await visitor(`/api/s/${token}`);
    expect((await visitor(`/api/s/${token}`, {}, 'HEAD')).status).toBe(200);
    const { rows } = await c.query('SELECT view_count::int AS n, last_viewed_at FROM recording_shares WHERE id = $1', [
      shareId,
    ]);
    expect(rows[0].n).toBe(2); // the two GETs of /api/s/:token; a HEAD, media and thumbnail are not views
    const listed = await as(owner).get(`/api/recordings/${id}/shares`);
    expect((listed.json.shares as { viewCount: number; lastViewedAt: string }[])[0]).toMatchObject({
      viewCount: 2,
      lastViewedAt: (rows[0].last_viewed_at as Date).toISOString(),
    });
  });

  it('downloads as an attachment with a safe name when the link allows it', async () => {
    const owner = await signUp(t.url, 'owner');
    const id = await recordingOf(owner, 'Q3 "plan" / ünïcode\r\n');
    const token = (await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view', 'download'] })).json
      .token;
    expect((await visitor(`/api/s/${token}`)).json.recording).toMatchObject({
      downloadUrl: `/api/s/${token}/download`,
    });
    const file = await visitor(`/api/s/${token}/download`);
    expect(file.status).toBe(200);
    expect(file.body.equals(MEDIA)).toBe(true);
    expect(file.headers.get('content-disposition')).toBe(
      'attachment; filename="Q3 _plan_ _ _n_code.webm"; ' +
        `filename*=UTF-8''${encodeURIComponent('Q3 "plan" / ünïcode.webm')}`,
    );
  });

  it('opens a password link with the grant its password earns, as a header or ?access=', async () => {
    const owner = await signUp(t.url, 'owner');
    const id = await recordingOf(owner, 'Secret plans');
    const token = (
      await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view'], password: 'open sesame' })
    ).json.token;
    const locked = await visitor(`/api/s/${token}`);
    expect(locked.status).toBe(401);
    expect(locked.json).toMatchObject({ code: 'SHARE_PASSWORD_REQUIRED', details: { passwordRequired: true } });
    expect(locked.body.toString()).not.toContain('Secret plans');

    const unlocked = await visitor(`/api/s/${token}/unlock`, { origin: t.url }, 'POST', { password: 'open sesame' });
    expect(unlocked.status).toBe(200);
    const { access, expiresAt } = unlocked.json as unknown as { access: string; expiresAt: string };
    expect(access).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    const hours = (Date.parse(expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);

    const view = await visitor(`/api/s/${token}`, { 'x-share-access': access });
    expect(view.status).toBe(200);
    const mediaUrl = (view.json.recording as { mediaUrl: string }).mediaUrl;
    expect(mediaUrl).toBe(`/api/s/${token}/media?access=${encodeURIComponent(access)}`);
    expect((await visitor(mediaUrl)).body.equals(MEDIA)).toBe(true);
    expect((await visitor(`/api/s/${token}/thumbnail?access=${encodeURIComponent(access)}`)).status).toBe(200);
  });

  it('serves /s/:token as the app with escaped preview tags; a password link shows no title or picture', async () => {
    const owner = await signUp(t.url, 'owner');
    const id = await recordingOf(owner, `<script>alert("x")</script> & co $' $&`);
    const token = (await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view'] })).json.token;
    const page = await visitor(`/s/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = page.body.toString();
    // `$'` and `$&` are String.replace patterns: the title must reach the page as typed
    const title = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co $&#39; $&amp;';
    expect(html).toContain(`<meta property="og:title" content="${title}">`);
    expect(html).toContain(`<title>${title}</title>`);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('<meta property="og:description" content="What we built">');
    expect(html).toContain('<meta property="og:type" content="video.other">');
    expect(html).toContain(`<meta property="og:url" content="${t.url}/s/${token}">`);
    expect(html).toContain(`<meta property="og:image" content="${t.url}/api/s/${token}/thumbnail">`);
    // the page is no view: the app's GET /api/s/:token is
    const { rows } = await c.query('SELECT view_count::int AS n FROM recording_shares WHERE recording_id = $1', [id]);
    expect(rows[0].n).toBe(0);

    const locked = (
      await as(owner).post(`/api/recordings/${id}/shares`, { permissions: ['view'], password: 'pass word' })
    ).json.token;
    const neutral = (await visitor(`/s/${locked}`)).body.toString();
    expect(neutral).toContain('<meta property="og:title" content="Password-protected recording">');
    expect(neutral).not.toContain('og:image');
    expect(neutral).not.toContain('script&gt;');
  });

  it('lets owners and editors manage links, not viewers (403) or strangers (404)', async () => {
    const [creator, projectOwner, editor, viewer, stranger] = (await Promise.all(
      ['creator', 'powner', 'editor', 'viewer', 'stranger'].map((n) => signUp(t.url, n)),
    )) as [User, User, User, User, User];
    const projectId = await insertProject(c, projectOwner.userId);
    await addMember(c, projectId, creator.userId, 'editor');
    await addMember(c, projectId, editor.userId, 'editor');
    await addMember(c, projectId, viewer.userId, 'viewer');
    const id = await recordingOf(creator, 'Team take', projectId);
    for (const member of [creator, projectOwner, editor]) {
      const made = await as(member).post(`/api/recordings/${id}/shares`, { permissions: ['view'] });
      expect(made.status).toBe(201);
      expect((await as(member).get(`/api/recordings/${id}/shares`)).status).toBe(200);
      const shareId = (made.json.share as { id: string }).id;
      expect((await as(member).patch(`/api/recordings/${id}/shares/${shareId}`, { label: 'x' })).status).toBe(200);
      expect((await as(member).delete(`/api/recordings/${id}/shares/${shareId}`)).status).toBe(204);
      expect((await as(member).get(`/api/recordings/${id}`)).json).toMatchObject({
        canShare: true,
        canResolveComments: true,
      });
    }
    const shareId = (await as(creator).post(`/api/recordings/${id}/shares`, { permissions: ['view'] })).json.share as {
      id: string;
    };
    expect((await as(viewer).get(`/api/recordings/${id}`)).json).toMatchObject({
      canShare: false,
      canResolveComments: false,
    });
    for (const [user, status, code] of [
      [viewer, 403, 'FORBIDDEN'],
      [stranger, 404, 'RECORDING_NOT_FOUND'],
    ] as const) {
      for (const res of [
        await as(user).post(`/api/recordings/${id}/shares`, { permissions: ['view'] }),
        await as(user).get(`/api/recordings/${id}/shares`),
        await as(user).patch(`/api/recordings/${id}/shares/${shareId.id}`, { label: 'y' }),
        await as(user).delete(`/api/recordings/${id}/shares/${shareId.id}`),
      ])
        expect([res.status, res.json.code]).toEqual([status, code]);
    }
  });

  it('gives each link visitor exactly what its permissions allow', async () => {
    const owner = await signUp(t.url, 'owner');
    const id = await recordingOf(owner, 'Matrix');
    const shares = new SharesService(new SharesRepository(t.server.database.db), systemClock);
    const tokens: Record<string, string> = {};
    for (const permissions of [['view'], ['view', 'comment'], ['view', 'download'], ['view', 'comment', 'download']])
      tokens[permissions.join('+')] = (
        await as(owner).post(`/api/recordings/${id}/shares`, { permissions })
      ).json.token;
    for (const [name, token] of Object.entries(tokens)) {
      const view = await visitor(`/api/s/${token}`);
      expect(view.status, name).toBe(200);
      expect((view.json.share as { permissions: string[] }).permissions.join('+')).toBe(name);
      expect((await visitor(`/api/s/${token}/media`)).status, name).toBe(200);
      // what the comments module is given: the link's relations, one per permission
      const visit = await shares.resolveVisitor(token, undefined);
      expect(visit).toMatchObject({ recordingId: id, permissions: name.split('+') });
      expect(visit.relations).toEqual(name.split('+').map((p) => `link-${p}`));
      const download = await visitor(`/api/s/${token}/download`);
      if (name.includes('download')) expect(download.status, name).toBe(200);
      else expect([download.status, download.json.code], name).toEqual([403, 'SHARE_NO_DOWNLOAD']);
      // a visitor is nobody to the members' API
      expect((await visitor(`/api/recordings/${id}`)).status).toBe(401);
      expect((await visitor(`/api/recordings/${id}/shares`)).status).toBe(401);
    }
  });
});
