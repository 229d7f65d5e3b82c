/**
 * The sessions analytics API on one real server and database (issue 14). Generated sessions
 * (support/sessions-seed.ts) give known answers: the model computes every count, rate and percentile from
 * the seed's formulas, never from the database. Also: a time zone that moves a day boundary, a user never
 * seeing another's numbers, the administrator's filters, bad ranges, the drill-down of a take driven
 * through the sessions API, and the instance panel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevice } from '../src/server/sessions/device.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { call } from './support/recordings-fixtures.js';
import {
  SEED_AGENTS,
  type SeededSession,
  type SeedOptions,
  expectedSessions,
  seedSessions,
} from './support/sessions-seed.js';

type User = Awaited<ReturnType<typeof signUp>>;
// biome-ignore lint/suspicious/noExplicitAny: answers are read as the API sends them, checked by value
type Json = Record<string, any>;

const SEED: SeedOptions = {
  sessions: 900,
  users: 3,
  userPrefix: 'an-seed-',
  end: new Date('2026-03-31T00:00:00Z'),
  days: 20,
};
const RANGE = 'from=2026-03-11&to=2026-03-30';

/** percentile_cont as PostgreSQL computes it. */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** What the summary must say about these sessions. */
function outcomes(rows: SeededSession[]) {
  const n = (o: string) => rows.filter((r) => r.outcome === o).length;
  const ended = rows.length - n('active');
  const durations = rows.filter((r) => r.outcome === 'completed').map((r) => r.duration!);
  return {
    started: rows.length,
    completed: n('completed'),
    interrupted: n('interrupted'),
    discarded: n('discarded'),
    completionRate: ended ? n('completed') / ended : null,
    durationP50: percentile(durations, 0.5),
    durationP95: percentile(durations, 0.95),
  };
}

/** Counts exactly; rates and percentiles to 1e-9 (floating point), null where the model has none. */
function expectOutcomes(got: Json, want: ReturnType<typeof outcomes>) {
  const { completionRate, durationP50, durationP95, ...counts } = want;
  expect(got).toMatchObject(counts);
  for (const [name, value] of Object.entries({ completionRate, durationP50, durationP95 })) {
    if (value === null) expect([name, got[name]]).toEqual([name, null]);
    else expect(got[name]).toBeCloseTo(value, 9);
  }
}

const inRange = (r: SeededSession) =>
  r.startedAt >= new Date('2026-03-11T00:00:00Z') && r.startedAt < new Date('2026-03-31T00:00:00Z');

describe.each(pgTargets().slice(0, 1))('sessions analytics on $name', (target) => {
  let t: TestServer;
  let admin: User;
  let alice: User;
  let bob: User;
  let carol: User;
  let model: SeededSession[];
  let projectId: string;
  const get = async (user: User, path: string) => {
    const r = await call(t.url, 'GET', path, user.headers);
    return { status: r.status, body: r.json as Json };
  };
  const sql = async (text: string, params: unknown[] = []) => {
    const c = await connect(t.dbUrl);
    try {
      return (await c.query(text, params)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    t = await startTestServer(target);
    admin = await signUp(t.url, 'admin');
    alice = await signUp(t.url, 'alice');
    bob = await signUp(t.url, 'bob');
    carol = await signUp(t.url, 'carol');
    const c = await connect(t.dbUrl);
    try {
      await seedSessions(c, SEED);
      // Seed user 1's sessions become alice's, user 2's bob's (all in bob's project); user 3 stays a stranger.
      await c.query(`UPDATE recording_sessions SET user_id = $1 WHERE user_id = 'an-seed-1'`, [alice.userId]);
      await c.query(`UPDATE recording_sessions SET user_id = $1 WHERE user_id = 'an-seed-2'`, [bob.userId]);
    } finally {
      await c.end();
    }
    const project = await call(t.url, 'POST', '/api/projects', bob.headers, { name: 'Bob’s' });
    projectId = (project.json as Json).id;
    await sql('UPDATE recording_sessions SET project_id = $1 WHERE user_id = $2', [projectId, bob.userId]);
    model = expectedSessions(SEED).map((s) => ({
      ...s,
      userId: { 'an-seed-1': alice.userId, 'an-seed-2': bob.userId }[s.userId] ?? s.userId,
    }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const mine = (userId: string) => model.filter((s) => s.userId === userId && inRange(s));

  it('one user’s summary: exact counts, rates and percentiles, in total, by day and by type', async () => {
    const { status, body } = await get(alice, `/api/analytics/sessions/summary?${RANGE}`);
    expect(status).toBe(200);
    const rows = mine(alice.userId);
    expect(rows.length).toBeGreaterThan(200);
    expect(body.range).toEqual({ from: '2026-03-11', to: '2026-03-30', tz: 'UTC' });
    expectOutcomes(body.totals, outcomes(rows));
    expect(body.totals.active).toBe(rows.filter((r) => r.outcome === 'active').length);
    expect(body.byDay.map((d: Json) => d.day)).toEqual(
      Array.from({ length: 20 }, (_, i) => `2026-03-${String(11 + i).padStart(2, '0')}`),
    );
    for (const day of body.byDay)
      expectOutcomes(day, outcomes(rows.filter((r) => r.startedAt.toISOString().slice(0, 10) === day.day)));
    const types = [...new Set(rows.map((r) => r.recordingType))].sort();
    expect(body.byType.map((r: Json) => r.recordingType).sort()).toEqual(types);
    for (const type of body.byType)
      expectOutcomes(type, outcomes(rows.filter((r) => r.recordingType === type.recordingType)));
  });

  it('top errors, interruption rates by browser, OS and device, settings in use', async () => {
    const { body } = await get(alice, `/api/analytics/sessions/summary?${RANGE}`);
    const rows = mine(alice.userId);
    const errors = new Map<string, number>();
    for (const r of rows) if (r.errorMessage) errors.set(r.errorMessage, (errors.get(r.errorMessage) ?? 0) + 1);
    expect(body.topErrors).toEqual(
      [...errors]
        .map(([message, count]) => ({ message, count }))
        .sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1)),
    );
    for (const [key, pick] of [
      ['byBrowser', (r: SeededSession) => r.agent.browser],
      ['byOs', (r: SeededSession) => r.agent.os],
      ['byDevice', (r: SeededSession) => r.agent.kind],
    ] as const) {
      const names = [...new Set(rows.map(pick))];
      expect(body.interruptions[key]).toHaveLength(names.length);
      for (const name of names) {
        const of = rows.filter((r) => pick(r) === name);
        const interrupted = of.filter((r) => r.outcome === 'interrupted').length;
        expect(body.interruptions[key]).toContainEqual({
          name,
          sessions: of.length,
          interrupted,
          rate: interrupted / of.length,
        });
      }
    }
    const quality = body.settings.quality as { value: string; count: number }[];
    expect(Object.fromEntries(quality.map((q) => [q.value, q.count]))).toEqual(
      Object.fromEntries(
        ['high', 'medium', 'low'].map((q) => [q, rows.filter((r) => r.quality === q).length]).filter(([, n]) => n),
      ),
    );
    expect(body.settings.mode.reduce((sum: number, m: Json) => sum + m.count, 0)).toBe(rows.length);
  });

  it('the seed’s user agents are named as bowser names them at session creation', () => {
    for (const a of SEED_AGENTS)
      expect(parseDevice({ userAgent: a.ua })).toMatchObject({ browser: a.browser, os: a.os, deviceKind: a.kind });
  });

  it('a user never sees another’s numbers; days outside the data are zero-filled with null rates', async () => {
    const { body } = await get(bob, `/api/analytics/sessions/summary?${RANGE}`);
    expect(body.totals.started).toBe(mine(bob.userId).length);
    const empty = await get(carol, '/api/analytics/sessions/summary?from=2026-03-29&to=2026-04-02');
    expect(empty.body.totals).toEqual({
      started: 0,
      completed: 0,
      interrupted: 0,
      discarded: 0,
      active: 0,
      completionRate: null,
      durationP50: null,
      durationP95: null,
    });
    expect(empty.body.byDay.map((d: Json) => d.day)).toEqual([
      '2026-03-29',
      '2026-03-30',
      '2026-03-31',
      '2026-04-01',
      '2026-04-02',
    ]);
    expect(empty.body.topErrors).toEqual([]);
    const list = await get(carol, `/api/analytics/sessions?${RANGE}`);
    expect(list.body).toEqual({ sessions: [], nextCursor: null });
  });

  it('everyone’s numbers, a user’s, a project’s: for the administrator only (404 to anyone else)', async () => {
    const all = await get(admin, `/api/analytics/sessions/summary?${RANGE}&scope=all`);
    expect(all.body.totals.started).toBe(model.filter(inRange).length);
    const ofAlice = await get(admin, `/api/analytics/sessions/summary?${RANGE}&userId=${alice.userId}`);
    expect(ofAlice.body.totals.started).toBe(mine(alice.userId).length);
    const ofProject = await get(admin, `/api/analytics/sessions/summary?${RANGE}&projectId=${projectId}`);
    expect(ofProject.body.totals.started).toBe(mine(bob.userId).length);
    const cameras = await get(admin, `/api/analytics/sessions/summary?${RANGE}&scope=all&recordingType=camera`);
    expect(cameras.body.totals.started).toBe(model.filter((s) => inRange(s) && s.recordingType === 'camera').length);
    const own = await get(admin, `/api/analytics/sessions/summary?${RANGE}`);
    expect(own.body.totals.started).toBe(0);
    for (const query of ['scope=all', `userId=${bob.userId}`, `projectId=${projectId}`]) {
      const r = await get(alice, `/api/analytics/sessions/summary?${RANGE}&${query}`);
      expect([r.status, r.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
      const list = await get(alice, `/api/analytics/sessions?${RANGE}&${query}`);
      expect([list.status, list.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
    }
    const panel = await get(alice, '/api/admin/instance');
    expect([panel.status, panel.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });

  it('a time zone moves sessions across a day boundary', async () => {
    // 23:30 and 00:30 UTC: two days in UTC; the 11th in Tokyo (+9); the 10th in New York (-5).
    await sql(
      `INSERT INTO recording_sessions (user_id, recording_type, started_at, status) VALUES
         ($1, 'camera', '2026-01-10T23:30:00Z', 'active'), ($1, 'camera', '2026-01-11T00:30:00Z', 'active')`,
      [carol.userId],
    );
    const days = async (tz: string) => {
      const { body } = await get(carol, `/api/analytics/sessions/summary?from=2026-01-10&to=2026-01-11&tz=${tz}`);
      return body.byDay.map((d: Json) => [d.day, d.started]);
    };
    expect(await days('UTC')).toEqual([
      ['2026-01-10', 1],
      ['2026-01-11', 1],
    ]);
    expect(await days('Asia/Tokyo')).toEqual([
      ['2026-01-10', 0],
      ['2026-01-11', 2],
    ]);
    expect(await days('America/New_York')).toEqual([
      ['2026-01-10', 2],
      ['2026-01-11', 0],
    ]);
    const tokyoOnly11 = await get(carol, '/api/analytics/sessions/summary?from=2026-01-11&to=2026-01-11&tz=asia/tokyo');
    expect([tokyoOnly11.body.range.tz, tokyoOnly11.body.totals.started]).toEqual(['Asia/Tokyo', 2]);
    // Kathmandu (+05:45) starts the 11th at 18:15 UTC, one second after the first of these; Kolkata (+05:30) at
    // 18:30. The counts group by quarter hour before they turn it into a local day: this splits them exactly.
    await sql(
      `INSERT INTO recording_sessions (user_id, recording_type, started_at, status) VALUES
         ($1, 'camera', '2026-01-10T18:14:59Z', 'active'), ($1, 'camera', '2026-01-10T18:15:00Z', 'active')`,
      [carol.userId],
    );
    expect(await days('Asia/Kathmandu')).toEqual([
      ['2026-01-10', 1],
      ['2026-01-11', 3],
    ]);
    expect(await days('Asia/Kolkata')).toEqual([
      ['2026-01-10', 2],
      ['2026-01-11', 2],
    ]);
  });

  it('bad ranges answer 400 ANALYTICS_RANGE_INVALID; bad cursors and names their own 400', async () => {
    for (const query of [
      'from=2026-1-1&to=2026-01-02',
      'from=2026-02-30&to=2026-03-01',
      'from=2026-03-02&to=2026-03-01',
      'from=2025-01-01&to=2026-01-02',
      'from=2026-01-01&to=2026-01-02&tz=Mars/Olympus',
      'from=yesterday',
    ]) {
      const r = await get(alice, `/api/analytics/sessions/summary?${query}`);
      expect([query, r.status, r.body.code]).toEqual([query, 400, 'ANALYTICS_RANGE_INVALID']);
      expect(r.body.message).toEqual(expect.any(String));
    }
    expect((await get(alice, '/api/analytics/sessions/summary?from=2025-01-01&to=2026-01-01')).status).toBe(200);
    expect((await get(alice, '/api/analytics/sessions/summary?form=2026-01-01')).body.code).toBe('VALIDATION_FAILED');
    expect((await get(alice, `/api/analytics/sessions?${RANGE}&after=nonsense`)).body.code).toBe('INVALID_CURSOR');
  });

  it('the list pages through exactly the sessions counted, newest first; the user only for the admin', async () => {
    const seen: Json[] = [];
    let after = '';
    for (let page = 0; page < 100; page++) {
      const { body } = await get(alice, `/api/analytics/sessions?${RANGE}&status=discarded&limit=7${after}`);
      seen.push(...body.sessions);
      if (!body.nextCursor) break;
      after = `&after=${body.nextCursor}`;
    }
    const want = mine(alice.userId).filter((r) => r.outcome === 'discarded');
    expect(seen).toHaveLength(want.length);
    expect(seen.map((s) => s.startedAt)).toEqual(
      want
        .map((r) => r.startedAt.toISOString())
        .sort()
        .reverse(),
    );
    expect(seen.every((s) => s.discarded && s.status === 'completed' && s.user === undefined)).toBe(true);
    const byAdmin = await get(admin, `/api/analytics/sessions?${RANGE}&userId=${alice.userId}&limit=1`);
    expect(byAdmin.body.sessions[0].user).toEqual({ id: alice.userId, displayName: 'alice', email: alice.email });
  });

  it('drill-down: a take driven through the sessions API shows its device, settings, error and timeline', async () => {
    const api = (method: string, path: string, body?: unknown) => call(t.url, method, path, carol.headers, body);
    const created = await api('POST', '/api/sessions', {
      recordingType: 'screen',
      deviceInfo: { userAgent: SEED_AGENTS[5].ua, mode: 'screen' },
      settings: { quality: 'medium', mic: true },
    });
    const id = (created.json as Json).id;
    await api('POST', `/api/sessions/${id}/heartbeat`, { durationMs: 10_000, bytes: 1234 });
    await api('POST', `/api/sessions/${id}/interrupt`, { reason: 'Camera disconnected' });
    await api('POST', `/api/sessions/${id}/heartbeat`, { durationMs: 20_000 });
    await api('POST', `/api/sessions/${id}/interrupt`, { reason: 'Screen sharing stopped' });
    await api('POST', `/api/sessions/${id}/discard`, {});
    const { status, body } = await get(carol, `/api/analytics/sessions/${id}`);
    expect(status).toBe(200);
    expect(body.session).toMatchObject({
      id,
      recordingType: 'screen',
      browser: 'Microsoft Edge',
      os: 'Windows',
      deviceKind: 'desktop',
      discarded: true,
      errorMessage: 'Screen sharing stopped',
      settings: { quality: 'medium', mic: true },
      deviceInfo: { userAgent: SEED_AGENTS[5].ua, mode: 'screen' },
    });
    expect(body.session.user).toBeUndefined();
    expect(body.events.map((e: Json) => [e.kind, e.detail])).toEqual([
      ['started', null],
      ['heartbeat', { durationMs: 10_000, bytes: 1234 }],
      ['interrupted', { reason: 'Camera disconnected', by: 'client' }],
      ['resumed', { durationMs: 20_000 }],
      ['interrupted', { reason: 'Screen sharing stopped', by: 'client' }],
      ['discarded', null],
    ]);
    const byAdmin = await get(admin, `/api/analytics/sessions/${id}`);
    expect(byAdmin.body.session.user).toEqual({ id: carol.userId, displayName: 'carol', email: carol.email });
    for (const path of [
      `/api/analytics/sessions/${id}`,
      '/api/analytics/sessions/999999999',
      '/api/analytics/sessions/x',
    ]) {
      const r = await get(alice, path);
      expect([path, r.status, r.body.code]).toEqual([path, 404, 'SESSION_NOT_FOUND']);
    }
    const [row] = await sql('SELECT quality FROM recording_sessions WHERE id = $1', [id]);
    expect(row.quality).toBe('medium');
  });

  it('the instance panel: storage per provider, processing failures, queues', async () => {
    await sql(
      `INSERT INTO recordings (user_id, title, recording_type, duration, status, file_size, storage_key, metadata)
       VALUES ($1, 'Broken take', 'camera', 3, 'failed', 1000, 'k/broken', '{"error": "ffmpeg said no"}'),
              ($1, 'Good take', 'camera', 3, 'completed', 2500, 'k/good', '{}')`,
      [carol.userId],
    );
    const { status, body } = await get(admin, '/api/admin/instance');
    expect(status).toBe(200);
    expect(body.storage).toEqual([{ provider: 'local', bucket: null, recordings: 2, bytes: 3500 }]);
    expect(body.processing).toMatchObject({ failed: 1, failedLast24h: 1 });
    expect(body.processing.recent).toEqual([
      { recordingId: expect.any(String), title: 'Broken take', error: 'ffmpeg said no', at: expect.any(String) },
    ]);
    expect(Array.isArray(body.queues)).toBe(true);
  });
});
