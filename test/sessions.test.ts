/**
 * Recording sessions end to end on a real server and database: the lifecycle of a take as the web app
 * drives it (create, heartbeat, interrupt, details, discard), the unfinished listing recovery relies on,
 * and the stale-session sweep. Keeping a take (its upload becoming its recording): sessions.keep.test.ts.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { makeMediaFixtures, type MediaFixtures } from './support/media-fixtures.js';
import { call, waitFor } from './support/recordings-fixtures.js';
import { SessionsRepository } from '../src/server/sessions/sessions.repository.js';
import { createDeferredUpload, patch, sessionsApi, type ApiSession } from './support/sessions.js';

let fx: MediaFixtures;
beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

async function sql<T = Record<string, unknown>>(dbUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = await connect(dbUrl);
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

describe.each(pgTargets())('recording sessions on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target);
  });
  afterAll(async () => t?.close());

  it('a take’s lifecycle: create, heartbeat, interrupt, back again, details, discard', async () => {
    const u = await signUp(t.url, 'lifecycle');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({
      recordingType: 'screen-camera',
      deviceInfo: { camera: 'Fake cam' },
      settings: { quality: 'high', mimeType: 'video/webm' },
    });
    expect(s).toMatchObject({
      recordingType: 'screen-camera',
      status: 'active',
      endedAt: null,
      duration: null,
      deviceInfo: { camera: 'Fake cam' },
      settings: { quality: 'high', mimeType: 'video/webm' },
      errorMessage: null,
      projectId: null,
      recordingId: null,
      discarded: false,
      take: null,
      upload: null,
    });
    expect(s.id).toMatch(/^\d+$/);
    expect(Date.parse(s.lastHeartbeatAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    expect(await api.get(s.id)).toEqual(s);

    await sleep(20);
    const beat = await api.heartbeat(s.id, { durationMs: 12_400, bytes: 1_000_000 });
    expect(beat).toMatchObject({ status: 'active', duration: 12 });
    expect(Date.parse(beat.lastHeartbeatAt!)).toBeGreaterThan(Date.parse(s.lastHeartbeatAt!));

    const cut = await api.interrupt(s.id, { reason: 'The screen share was stopped from the browser bar.' });
    expect(cut).toMatchObject({
      status: 'interrupted',
      errorMessage: 'The screen share was stopped from the browser bar.',
      duration: 12,
    });
    expect(Date.parse(cut.endedAt!)).toBeGreaterThanOrEqual(Date.parse(cut.startedAt));

    // The tab was not gone after all: a heartbeat makes the take active again.
    const back = await api.heartbeat(s.id, {});
    expect(back).toMatchObject({ status: 'active', errorMessage: null, endedAt: null });

    const detailed = await api.setTake(s.id, {
      title: '  Quarterly review  ',
      description: 'Slides 1-12',
      durationMs: 15_000,
    });
    expect(detailed.take).toEqual({ title: 'Quarterly review', description: 'Slides 1-12', durationMs: 15_000 });
    const more = await api.setTake(s.id, { metadata: { slideChanges: [{ index: 1, atMs: 2500 }] } });
    expect(more.take).toEqual({
      title: 'Quarterly review',
      description: 'Slides 1-12',
      durationMs: 15_000,
      metadata: { slideChanges: [{ index: 1, atMs: 2500 }] },
    });

    const gone = await api.discard(s.id);
    expect(gone).toMatchObject({ status: 'completed', discarded: true, recordingId: null });
    expect(gone.endedAt).not.toBeNull();
    // Discarding twice is harmless; a heartbeat or details afterwards are refused with a code.
    expect((await api.discard(s.id)).discarded).toBe(true);
    expect((await api.raw('POST', `/api/sessions/${s.id}/heartbeat`, {})).json).toMatchObject({
      code: 'SESSION_DISCARDED',
    });
    expect((await api.raw('PATCH', `/api/sessions/${s.id}`, { title: 'x' })).json).toMatchObject({
      code: 'SESSION_DISCARDED',
    });
    expect((await api.raw('POST', `/api/sessions/${s.id}/interrupt`, {})).status).toBe(409);
  });

  it('the OpenAPI document describes every sessions route', async () => {
    const doc = (await call(t.url, 'GET', '/api/openapi.json')).json as unknown as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/api/sessions']!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/sessions/{id}']!).sort()).toEqual(['get', 'patch']);
    for (const p of ['heartbeat', 'interrupt', 'discard'])
      expect(Object.keys(doc.paths[`/api/sessions/{id}/${p}`]!)).toEqual(['post']);
  });

  it('interrupt without a reason says so in words; a second interrupt updates the reason', async () => {
    const u = await signUp(t.url, 'reasons');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'audio' });
    // pagehide sends it with fetch keepalive, possibly with no body at all
    const res = await fetch(`${t.url}/api/sessions/${s.id}/interrupt`, { method: 'POST', headers: u.headers });
    expect(res.status).toBe(200);
    const first = (await res.json()) as ApiSession;
    expect(first.status).toBe('interrupted');
    expect(first.errorMessage).toMatch(/tab was closed/);
    const second = await api.interrupt(s.id, { reason: 'Microphone permission was denied.' });
    expect(second.errorMessage).toBe('Microphone permission was denied.');
    expect(second.endedAt).toBe(first.endedAt);
  });

  it('lists newest first, filtered by state; `unfinished` is exactly the takes to offer for recovery', async () => {
    const u = await signUp(t.url, 'lister');
    const api = sessionsApi(t.url, u.headers);
    const fresh = await api.create({ recordingType: 'camera' });
    const late = await api.create({ recordingType: 'camera' });
    const silent = await api.create({ recordingType: 'camera' });
    const closed = await api.create({ recordingType: 'audio' });
    const thrown = await api.create({ recordingType: 'audio' });
    await api.interrupt(closed.id, { reason: 'tab closed' });
    await api.discard(thrown.id);
    // An active take whose tab went quiet 40 s ago (the sweep has not run yet at 45 s); one whose last
    // beat is 20 s old is merely late (one missed 10 s beat) and still live.
    await sql(
      t.dbUrl,
      `UPDATE recording_sessions SET last_heartbeat_at = now() - interval '40 seconds' WHERE id = $1`,
      [silent.id],
    );
    await sql(
      t.dbUrl,
      `UPDATE recording_sessions SET last_heartbeat_at = now() - interval '20 seconds' WHERE id = $1`,
      [late.id],
    );
    // An interrupted take that was kept after all (recovered) is not unfinished.
    const kept = await api.create({ recordingType: 'screen' });
    await api.interrupt(kept.id, {});
    const [rec] = await sql<{ id: string }>(
      t.dbUrl,
      `INSERT INTO recordings (user_id, title, recording_type, duration) VALUES ($1, 'k', 'screen', 3) RETURNING id`,
      [u.userId],
    );
    await sql(t.dbUrl, `UPDATE recording_sessions SET recording_id = $1 WHERE id = $2`, [rec!.id, kept.id]);

    const ids = (items: ApiSession[]) => items.map((s) => s.id);
    expect(ids(await api.list())).toEqual([kept.id, thrown.id, closed.id, silent.id, late.id, fresh.id]);
    expect(ids(await api.list('?state=unfinished'))).toEqual([closed.id, silent.id]);
    expect(ids(await api.list('?state=active'))).toEqual([silent.id, late.id, fresh.id]);
    expect(ids(await api.list('?state=interrupted'))).toEqual([kept.id, closed.id]);
    expect(ids(await api.list('?state=completed'))).toEqual([thrown.id]);
    expect(ids(await api.list('?limit=2'))).toEqual([kept.id, thrown.id]);
    // nobody else's
    const other = sessionsApi(t.url, (await signUp(t.url, 'stranger')).headers);
    expect(await other.list()).toEqual([]);
  });

  it('bytes arriving on a take’s upload are a sign of life: a take still uploading is not recoverable', async () => {
    const u = await signUp(t.url, 'alive');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'camera' });
    const up = await createDeferredUpload(t.url, u.headers, { sessionId: s.id, recordingType: 'camera' });
    // Its heartbeats stopped reaching us 40 s ago (a busy tab, a throttled timer)…
    await sql(
      t.dbUrl,
      `UPDATE recording_sessions SET last_heartbeat_at = now() - interval '40 seconds' WHERE id = $1`,
      [s.id],
    );
    expect((await api.list('?state=unfinished')).map((x) => x.id)).toEqual([s.id]);
    // …but its bytes still arrive.
    const bytes = fs.readFileSync(fx.recorderWebm);
    expect((await patch(up.uploadUrl, u.headers, 0, bytes.subarray(0, 20_000))).status).toBe(204);
    const now = await api.get(s.id);
    expect(Date.now() - Date.parse(now.lastHeartbeatAt!)).toBeLessThan(10_000);
    expect(now.status).toBe('active');
    expect(await api.list('?state=unfinished')).toEqual([]);
  });
});

describe.each(pgTargets())('the stale-session sweep on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target, { SESSION_STALE_SECONDS: '2' });
  });
  afterAll(async () => t?.close());

  it('marks a silent take interrupted at its last heartbeat, says why plainly; a heartbeat revives it', async () => {
    const u = await signUp(t.url, 'crasher');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'screen' });
    const alive = await api.create({ recordingType: 'screen' });
    const beat = await api.heartbeat(s.id, { durationMs: 900 });
    // keep `alive` beating while `s` goes silent
    const keepAlive = setInterval(() => void api.heartbeat(alive.id, {}).catch(() => undefined), 500);
    let swept: ApiSession;
    try {
      swept = await waitFor(
        async () => {
          const g = await api.get(s.id);
          return g.status === 'interrupted' ? g : undefined;
        },
        10_000,
        'the sweep',
      );
      expect((await api.get(alive.id)).status).toBe('active');
    } finally {
      clearInterval(keepAlive);
    }
    expect(swept.errorMessage).toMatch(/closed or crashed/);
    expect(swept.errorMessage).toMatch(/2 s/);
    expect(swept.endedAt).toBe(beat.lastHeartbeatAt);
    expect(swept.duration).toBe(1);
    expect((await api.list('?state=unfinished')).map((x) => x.id)).toContain(s.id);

    const back = await api.heartbeat(s.id, {});
    expect(back).toMatchObject({ status: 'active', errorMessage: null, endedAt: null });
  });

  it('is one idempotent UPDATE: running it again, or from a second process, changes nothing more', async () => {
    const sweep = t.server.sessionSweep!;
    expect(sweep).toBeDefined();
    await sleep(50);
    const u = await signUp(t.url, 'idem');
    const api = sessionsApi(t.url, u.headers);
    const s = await api.create({ recordingType: 'audio' });
    await sql(t.dbUrl, `UPDATE recording_sessions SET last_heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [
      s.id,
    ]);
    const results = await Promise.all([sweep.runOnce(), sweep.runOnce()]);
    expect(results[0]).toBe(results[1]); // concurrent calls in one process share one pass
    const first = await api.get(s.id);
    expect(first.status).toBe('interrupted');
    // the forged heartbeat is older than the start: an end never precedes the start
    expect(first.endedAt).toBe(first.startedAt);
    expect(await sweep.runOnce()).toBe(0);
    // Two processes' sweeps at once (two connections): the row lock makes the second re-check and skip.
    const other = await api.create({ recordingType: 'audio' });
    await sql(t.dbUrl, `UPDATE recording_sessions SET last_heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [
      other.id,
    ]);
    const repo = new SessionsRepository(t.server.database.db);
    const [x, y] = await Promise.all([repo.interruptSilent(2, 'one'), repo.interruptSilent(2, 'two')]);
    expect(x.length + y.length).toBeLessThanOrEqual(1); // 0 when the server's own timer got there first
    expect((await api.get(other.id)).status).toBe('interrupted');
    expect(await api.get(s.id)).toEqual(first);
  });
});
