/**
 * What the sessions API refuses, and how: another user's take is never found (404 SESSION_NOT_FOUND,
 * whatever the call), bad input is a 400 VALIDATION_FAILED naming the field, a closed take a 409 with
 * a code saying which way it closed, a project you may not add to a 404 or 403 — and nothing changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainDeletions } from '../src/server/jobs/storage-maintenance.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { finishCrashRig } from './support/finish-crash.js';
import { makeMediaFixtures, type MediaFixtures } from './support/media-fixtures.js';
import { call } from './support/recordings-fixtures.js';
import { createDeferredUpload, patch, sessionsApi } from './support/sessions.js';

let fx: MediaFixtures;
beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

describe.each(pgTargets())('sessions API refusals on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target);
  });
  afterAll(async () => t?.close());

  async function row(id: string) {
    const c = await connect(t.dbUrl);
    try {
      return (
        await c.query(
          'SELECT status, error_message, take, discarded_at, last_heartbeat_at FROM recording_sessions WHERE id = $1',
          [id],
        )
      ).rows[0];
    } finally {
      await c.end();
    }
  }

  it('another user’s session is not found, whatever the call, and stays as it was', async () => {
    const owner = sessionsApi(t.url, (await signUp(t.url, 'owner')).headers);
    const intruderUser = await signUp(t.url, 'intruder');
    const intruder = sessionsApi(t.url, intruderUser.headers);
    const s = await owner.create({ recordingType: 'camera' });
    const before = await row(s.id);
    const calls: [string, string, unknown?][] = [
      ['GET', `/api/sessions/${s.id}`],
      ['POST', `/api/sessions/${s.id}/heartbeat`, {}],
      ['POST', `/api/sessions/${s.id}/interrupt`, { reason: 'x' }],
      ['PATCH', `/api/sessions/${s.id}`, { title: 'mine now' }],
      ['POST', `/api/sessions/${s.id}/discard`, {}],
    ];
    for (const [method, path, body] of calls) {
      const r = await intruder.raw(method, path, body);
      expect({ call: `${method} ${path}`, status: r.status, code: r.json?.code }).toEqual({
        call: `${method} ${path}`,
        status: 404,
        code: 'SESSION_NOT_FOUND',
      });
    }
    // An id that names no row at all answers the same.
    for (const id of ['999999999', '9223372036854775807', '9999999999999999999']) {
      expect((await intruder.raw('GET', `/api/sessions/${id}`)).json).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    }
    expect(await intruder.list('?state=unfinished')).toEqual([]);
    expect(await row(s.id)).toEqual(before);

    // nor can the intruder attach an upload to it
    const up = await createDeferredUpload(t.url, intruderUser.headers, { sessionId: s.id, recordingType: 'camera' });
    expect(up.status).toBe(404);
    expect(JSON.parse(up.body)).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('needs a signed-in caller; a cookie call from another site is refused; an API token works', async () => {
    const u = await signUp(t.url, 'auth');
    expect((await call(t.url, 'GET', '/api/sessions')).json).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await call(t.url, 'POST', '/api/sessions', {}, { recordingType: 'camera' })).status).toBe(401);
    const cross = await call(
      t.url,
      'POST',
      '/api/sessions',
      { cookie: u.cookie, origin: 'https://evil.example' },
      { recordingType: 'camera' },
    );
    expect(cross.status).toBe(403);
    expect(cross.json.code).toBe('ORIGIN_MISMATCH');
    const token = (await call(t.url, 'POST', '/api/auth/tokens', u.headers, { name: 'cli' })).json.token as string;
    const viaToken = await call(
      t.url,
      'POST',
      '/api/sessions',
      { authorization: `Bearer ${token}` },
      { recordingType: 'audio' },
    );
    expect(viaToken.status).toBe(201);
    expect((await sessionsApi(t.url, u.headers).list()).map((s) => s.id)).toEqual([viaToken.json.id]);
  });

  it.each([
    ['no recordingType', {}, 'recordingType'],
    ['an unknown recordingType', { recordingType: 'video' }, 'recordingType'],
    ['an unknown property', { recordingType: 'camera', color: 'red' }, 'color'],
    ['a projectId that is not an id', { recordingType: 'camera', projectId: 'abc' }, 'projectId'],
    ['deviceInfo that is not an object', { recordingType: 'camera', deviceInfo: 'webcam' }, 'deviceInfo'],
    ['a startedAt that is not a date-time', { recordingType: 'camera', startedAt: 'yesterday' }, 'startedAt'],
  ])('create with %s: 400 VALIDATION_FAILED naming the field', async (_what, body, field) => {
    const u = await signUp(t.url, 'badcreate');
    const r = await call(t.url, 'POST', '/api/sessions', u.headers, body);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(r.json.errors ?? r.json.details)).toContain(field);
    expect(await sessionsApi(t.url, u.headers).list()).toEqual([]);
  });

  it('create refuses a start in the future, oversized or NUL-bearing JSON, with the field named', async () => {
    const u = await signUp(t.url, 'bounds');
    const api = sessionsApi(t.url, u.headers);
    const ahead = await api.raw('POST', '/api/sessions', {
      recordingType: 'camera',
      startedAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    });
    expect(ahead).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED', details: { field: 'startedAt' } } });
    const big = await api.raw('POST', '/api/sessions', {
      recordingType: 'camera',
      settings: { blob: 'x'.repeat(70_000) },
    });
    expect(big).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED', details: { field: 'settings' } } });
    const nul = await api.raw('POST', '/api/sessions', {
      recordingType: 'camera',
      deviceInfo: { label: 'cam\u0000era' },
    });
    expect(nul).toMatchObject({ status: 400, json: { code: 'INVALID_TEXT', details: { field: 'deviceInfo.label' } } });
    expect(await api.list()).toEqual([]);
    // A start a little in the past (the countdown, a slow network) is fine.
    const ok = await api.create({ recordingType: 'camera', startedAt: new Date(Date.now() - 5000).toISOString() });
    expect(Date.now() - Date.parse(ok.startedAt)).toBeGreaterThanOrEqual(5000);
    // So is one days ago (a take recorded offline, recovered later), and a clock a minute ahead of ours.
    const offline = '2026-01-02T03:04:05.000Z';
    expect((await api.create({ recordingType: 'camera', startedAt: offline })).startedAt).toBe(offline);
    expect(
      (
        await api.raw('POST', '/api/sessions', {
          recordingType: 'camera',
          startedAt: new Date(Date.now() + 60_000).toISOString(),
        })
      ).status,
    ).toBe(201);
  });

  it('a project the user is not in is not found; a viewer may not record into it (create and details)', async () => {
    const owner = await signUp(t.url, 'powner');
    const viewer = await signUp(t.url, 'pviewer');
    const p = (await call(t.url, 'POST', '/api/projects', owner.headers, { name: 'Shared' })).json.id as string;
    expect(
      (await call(t.url, 'POST', `/api/projects/${p}/members`, owner.headers, { email: viewer.email, role: 'viewer' }))
        .status,
    ).toBe(201);
    const stranger = sessionsApi(t.url, (await signUp(t.url, 'pstranger')).headers);
    expect((await stranger.raw('POST', '/api/sessions', { recordingType: 'camera', projectId: p })).json).toMatchObject(
      { code: 'PROJECT_NOT_FOUND' },
    );
    const v = sessionsApi(t.url, viewer.headers);
    const denied = await v.raw('POST', '/api/sessions', { recordingType: 'camera', projectId: p });
    expect(denied).toMatchObject({ status: 403, json: { code: 'FORBIDDEN' } });
    const s = await v.create({ recordingType: 'camera' });
    expect((await v.raw('PATCH', `/api/sessions/${s.id}`, { projectId: p })).json).toMatchObject({ code: 'FORBIDDEN' });
    expect((await stranger.raw('PATCH', `/api/sessions/${s.id}`, { projectId: p })).json).toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    expect((await row(s.id)).take).toBeNull();
    // The owner may, and clearing the project is always allowed.
    const o = sessionsApi(t.url, owner.headers);
    const os = await o.create({ recordingType: 'camera', projectId: p });
    expect(os.projectId).toBe(p);
    expect((await o.setTake(os.id, { projectId: null })).projectId).toBeNull();
  });

  it('details, heartbeat, interrupt and list refuse bad bodies with 400 VALIDATION_FAILED', async () => {
    const u = await signUp(t.url, 'badbodies');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'slides' });
    const bad: [string, string, unknown][] = [
      ['PATCH', `/api/sessions/${s.id}`, {}],
      ['PATCH', `/api/sessions/${s.id}`, { title: '   ' }],
      ['PATCH', `/api/sessions/${s.id}`, { title: 'x'.repeat(301) }],
      ['PATCH', `/api/sessions/${s.id}`, { durationMs: -5 }],
      ['PATCH', `/api/sessions/${s.id}`, { durationMs: 2 ** 31 * 1000 }],
      ['PATCH', `/api/sessions/${s.id}`, { metadata: [1, 2] }],
      ['PATCH', `/api/sessions/${s.id}`, { recordingId: '1' }],
      ['PATCH', `/api/sessions/${s.id}`, { metadata: { big: 'x'.repeat(70_000) } }],
      ['POST', `/api/sessions/${s.id}/heartbeat`, { durationMs: 'soon' }],
      ['POST', `/api/sessions/${s.id}/heartbeat`, { durationMs: 2 ** 31 * 1000 }],
      ['POST', `/api/sessions/${s.id}/heartbeat`, { status: 'completed' }],
      ['POST', `/api/sessions/${s.id}/interrupt`, { reason: 'x'.repeat(1001) }],
      ['GET', '/api/sessions?state=crashed', undefined],
      ['GET', '/api/sessions?limit=0', undefined],
      ['GET', '/api/sessions?stat=active', undefined],
    ];
    for (const [method, path, body] of bad) {
      const r = await api.raw(method, path, body);
      expect({
        call: `${method} ${path} ${JSON.stringify(body)?.slice(0, 40)}`,
        status: r.status,
        code: r.json?.code,
      }).toEqual({
        call: `${method} ${path} ${JSON.stringify(body)?.slice(0, 40)}`,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
    const nul = await api.raw('POST', `/api/sessions/${s.id}/interrupt`, { reason: 'nul\u0000' });
    expect([nul.status, nul.json?.code]).toEqual([400, 'INVALID_TEXT']);
    const notAnId = await api.raw('GET', '/api/sessions/abc', undefined);
    expect([notAnId.status, notAnId.json?.code]).toEqual([404, 'SESSION_NOT_FOUND']);
    // A JSON Content-Type with no body at all is the JSON parser's 400 (send {} or no Content-Type).
    const empty = await fetch(`${t.url}/api/sessions/${s.id}/heartbeat`, {
      method: 'POST',
      headers: { ...u.headers, 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await row(s.id)).toMatchObject({ status: 'active', take: null, error_message: null });
  });

  it('a completed (discarded) take refuses an upload and makes no recording even if its bytes finish', async () => {
    const u = await signUp(t.url, 'late');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'camera' });
    const bytes = fs.readFileSync(fx.webm);
    const up = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'camera' });
    expect((await patch(up.uploadUrl, u.headers, 0, bytes.subarray(0, 1000))).status).toBe(204);
    // Discarded from another tab while this one still had the upload URL: the upload is gone (410), and so
    // are the bytes it held in DATA_DIR/media/.uploads.
    await api.discard(s.id);
    const fin = await patch(up.uploadUrl, u.headers, 1000, bytes.subarray(1000), bytes.length);
    expect(fin.status).toBe(410);
    const pending = (uploadUrl: string) => path.join(t.dataDir, 'media', '.uploads', uploadUrl.split('/').pop()!);
    expect(fs.existsSync(pending(up.uploadUrl))).toBe(false);
    // A crash after the discard committed but before the upload's bytes were removed: the bytes can
    // still be sent to the end, and the finish refuses them for good (409, upload failed).
    const s2 = await api.create({ recordingType: 'camera' });
    const up2 = await createDeferredUpload(t.url, u.headers, { sessionId: s2.id, recordingType: 'camera' });
    expect((await patch(up2.uploadUrl, u.headers, 0, bytes)).status).toBe(204);
    const c = await connect(t.dbUrl);
    try {
      await c.query(`UPDATE recording_sessions SET discarded_at = now(), status = 'completed' WHERE id = $1`, [s2.id]);
      const fin2 = await patch(up2.uploadUrl, u.headers, bytes.length, Buffer.alloc(0), bytes.length);
      expect(fin2.status).toBe(409);
      expect(JSON.parse(fin2.body)).toMatchObject({ code: 'SESSION_DISCARDED' });
      expect(
        (await c.query('SELECT status FROM uploads WHERE id = $1', [up2.uploadUrl.split('/').pop()])).rows,
      ).toEqual([{ status: 'failed' }]);
      expect(
        (await c.query('SELECT count(*)::int AS n FROM recordings WHERE user_id = $1', [u.userId])).rows[0].n,
      ).toBe(0);
      // Its bytes went with it: nothing in DATA_DIR/media/.uploads, no object under the user's media.
      expect(fs.existsSync(pending(up2.uploadUrl))).toBe(false);
      const media = path.join(t.dataDir, 'media', 'users', u.userId);
      expect(fs.existsSync(media) ? fs.readdirSync(media, { recursive: true }) : []).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('a crashed finish, redone after another upload of the take was kept, leaves 1 recording, no orphan', async () => {
    const rig = await finishCrashRig(target, fx.webm, (url, user) =>
      sessionsApi(url, user.headers).create({ recordingType: 'camera' }),
    );
    const { kysely, storage, logger, user, size, prepared: take } = rig;
    try {
      const meta = { recordingType: 'camera', sessionId: take.id, duration: '3' };
      await rig.uploads().create('first', user.userId, meta, size);
      await rig.uploads().create('second', user.userId, meta, size);
      expect(await rig.fill('first')).toBe(size);
      expect(await rig.fill('second')).toBe(size);
      // The first upload's finish dies right after its object exists under its final key…
      await expect(rig.uploads(rig.crashing).finish('first')).rejects.toThrow('simulated crash after assemble');
      // …and before the server is back, the take is kept through its other upload.
      const kept = await rig.uploads().finish('second');
      const keys = async () => {
        const out: string[] = [];
        for await (const o of storage.list('users/')) out.push(o.key);
        return out.sort();
      };
      expect(await keys()).toHaveLength(2); // the kept recording's object and the crash's orphan

      // Recovery redoes the first finish: it points at the kept recording and queues the orphan.
      expect(await rig.uploads().finish('first')).toEqual(kept);
      const q = await connect(rig.dbUrl);
      try {
        expect((await q.query('SELECT id FROM recordings')).rows).toEqual([{ id: kept.recordingId }]);
        expect((await q.query(`SELECT id, status, recording_id FROM uploads ORDER BY id`)).rows).toEqual([
          { id: 'first', status: 'completed', recording_id: kept.recordingId },
          { id: 'second', status: 'completed', recording_id: kept.recordingId },
        ]);
        expect(
          (await q.query('SELECT status, recording_id FROM recording_sessions WHERE id = $1', [take.id])).rows,
        ).toEqual([{ status: 'completed', recording_id: kept.recordingId }]);
      } finally {
        await q.end();
      }
      expect(await drainDeletions({ db: kysely, storage, logger })).toEqual({ deleted: 1, failed: 0 });
      const left = await keys();
      expect(left).toHaveLength(1);
      expect(left[0]).toContain(`/recordings/${kept.recordingId}/`);
      expect(fs.readFileSync(path.join(storage.root, left[0]!))).toEqual(fs.readFileSync(fx.webm));
      // Neither upload left bytes behind in DATA_DIR/media/.uploads.
      expect([rig.uploadPath('first'), rig.uploadPath('second')].filter((f) => fs.existsSync(f))).toEqual([]);
    } finally {
      await rig.close();
    }
  });
});
