/**
 * Migrations 0032..0035 (sessions analytics, issue 14) on a database that holds sessions:
 *  - up: 0032 (the events table) and 0033 (device and quality columns) in transactions, the two indexes on
 *    the populated recording_sessions CONCURRENTLY outside one; the events' constraints and cascade;
 *  - 0033's backfill names old sessions' browser, OS and device as bowser names them at creation (the same
 *    user agents through both), fills the quality, and reports what it cannot read;
 *  - down gives back the schema of 31 exactly, refuses while events are recorded unless forced.
 * Migrated to explicit versions: later migrations would make 'up' mean more.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BackfillRunner } from '../src/server/db/backfill/runner.js';
import { parseDevice } from '../src/server/sessions/device.js';
import { catalogSnapshot } from './support/catalog.js';
import {
  ALL_VERSIONS,
  appliedVersions,
  connect,
  freshDatabase,
  migrator,
  pgTargets,
  violationOf,
} from './support/db.js';
import { SEED_AGENTS } from './support/sessions-seed.js';

const WEBKIT = 'AppleWebKit/605.1.15 (KHTML, like Gecko)';
const CHROME = 'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0';
/** Real user agents beyond the seed's: bowser's names are the truth the backfill must give. */
const MORE_AGENTS = [
  `Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) ${CHROME} Safari/537.36`,
  `Mozilla/5.0 (Linux; Android 14; Pixel 8) ${CHROME} Mobile Safari/537.36`,
  `Mozilla/5.0 (Windows NT 10.0; Win64; x64) ${CHROME} Safari/537.36 OPR/105.0.0.0`,
  `Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) ${WEBKIT} Version/17.1 Mobile/15E148 Safari/604.1`,
  'Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0',
  `Mozilla/5.0 (X11; Linux x86_64) ${CHROME} Safari/537.36`,
];
const BACKFILL = '0033_phase3_session_device';

async function seed(c: pg.Client): Promise<void> {
  await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada')`);
  const agents = [...SEED_AGENTS.map((a) => a.ua), ...MORE_AGENTS, 'curl/8.0'];
  for (const [i, ua] of agents.entries())
    await c.query(
      `INSERT INTO recording_sessions (user_id, recording_type, started_at, device_info, settings)
       VALUES ('u1', 'camera', now(), $1, $2)`,
      [
        { userAgent: ua, mode: 'camera' },
        // curl's row has nothing the backfill can fill: it is refused and reported.
        { quality: ua === 'curl/8.0' ? 'ultra' : ['high', 'medium', 'low', 'ultra'][i % 4] },
      ],
    );
  // Neither a user agent nor settings: nothing to fill.
  await c.query(`INSERT INTO recording_sessions (user_id, recording_type, started_at) VALUES ('u1', 'audio', now())`);
}

describe.each(pgTargets().slice(0, 1))('0032..0035 sessions analytics, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 31 });
    c = await connect(db.url);
    await seed(c);
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('0032 and 0033 in transactions, the indexes outside one, CONCURRENTLY', async () => {
    const m = migrator(db.url);
    const steps = await m.plan('up', { to: 35 });
    expect(steps.map((s) => [s.version, s.transactional])).toEqual([
      [32, true],
      [33, true],
      [34, false],
      [35, false],
    ]);
    const result = await m.up({ to: 35 });
    expect(result.backfills).toEqual([BACKFILL]);
  });

  it('the backfill names devices as bowser does, fills quality, refuses the unreadable', async () => {
    const runner = new BackfillRunner(db.url);
    try {
      const decl = (await migrator(db.url).migrations()).find((f) => f.backfill?.name === BACKFILL)!.backfill!;
      const last = await runner.run(decl, { pauseMs: 0, batchSize: 5 });
      expect(last).toMatchObject({ state: 'finished', rejected: 1 });
      expect(last.rejectedSample).toEqual([
        { key: expect.any(String), reason: 'no browser or system in its user agent' },
      ]);
    } finally {
      await runner.close();
    }
    const { rows } = await c.query(
      `SELECT device_info->>'userAgent' AS ua, settings->>'quality' AS wanted, browser, os, device_kind, quality
         FROM recording_sessions ORDER BY id`,
    );
    for (const r of rows.filter((row) => row.ua && row.ua !== 'curl/8.0')) {
      const parsed = parseDevice({ userAgent: r.ua });
      expect({ ua: r.ua, browser: r.browser, os: r.os, kind: r.device_kind }).toEqual({
        ua: r.ua,
        browser: parsed.browser,
        os: parsed.os,
        kind: parsed.deviceKind,
      });
      expect(r.quality).toBe(r.wanted === 'ultra' ? null : r.wanted);
    }
    const curl = rows.find((r) => r.ua === 'curl/8.0')!;
    expect([curl.browser, curl.os, curl.device_kind]).toEqual([null, null, null]);
    expect(rows.at(-1)).toMatchObject({ ua: null, browser: null, quality: null });
  });

  it('events: known kinds, an object detail, gone with their session', async () => {
    const { rows } = await c.query<{ id: string }>(`SELECT id::text AS id FROM recording_sessions ORDER BY id LIMIT 1`);
    const id = rows[0]!.id;
    const event = (kind: string, detail: unknown) =>
      c
        .query('INSERT INTO recording_session_events (session_id, kind, detail) VALUES ($1, $2, $3)', [
          id,
          kind,
          detail,
        ])
        .then(() => 'ok', violationOf);
    expect(await event('heartbeat', { durationMs: 1000 })).toBe('ok');
    expect(await event('started', null)).toBe('ok');
    expect(await event('exploded', null)).toBe('23514 chk_session_event_kind');
    expect(await event('error', '[1, 2]')).toBe('23514 chk_session_event_detail');
    const missing = await c
      .query(`INSERT INTO recording_session_events (session_id, kind) VALUES (999999, 'started')`)
      .then(() => 'ok', violationOf);
    expect(missing).toBe('23503 fk_session_events_session');
    await c.query('DELETE FROM recording_sessions WHERE id = $1', [id]);
    expect((await c.query('SELECT count(*)::int AS n FROM recording_session_events')).rows[0].n).toBe(0);
  });
});

describe.each(pgTargets().slice(0, 1))('rolling back 0032..0035, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let backupDir: string;
  let at31: Record<string, string[]>;

  beforeEach(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
    await migrator(db.url).up({ to: 31 });
    at31 = await catalogSnapshot(c);
    await seed(c);
    await migrator(db.url).up({ to: 35 });
  });
  afterEach(async () => {
    await c.end();
    await db.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('down gives back the schema of 31 exactly while nothing was filled; up again the same catalog', async () => {
    const at35 = await catalogSnapshot(c);
    expect(at35).not.toEqual(at31);
    const down = await migrator(db.url, { backupDir }).down({ to: 31 });
    expect(down.map((s) => [s.version, s.transactional])).toEqual([
      [35, false],
      [34, false],
      [33, true],
      [32, true],
    ]);
    expect(await catalogSnapshot(c)).toEqual(at31);
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 31));
    expect((await c.query('SELECT count(*)::int AS n FROM recording_sessions')).rows[0].n).toBe(14);
    await migrator(db.url).up({ to: 35 });
    expect(await catalogSnapshot(c)).toEqual(at35);
  });

  it('refuses while events are recorded, then backs them up when forced', async () => {
    await c.query(
      `INSERT INTO recording_session_events (session_id, kind) SELECT id, 'started' FROM recording_sessions LIMIT 2`,
    );
    const err = await migrator(db.url, { backupDir })
      .down({ to: 31 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    expect(err.message).toContain('public.recording_session_events: 2 row(s)');
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 35));
    const result = await migrator(db.url, { backupDir }).down({ to: 31 }, true);
    expect(result.map((s) => s.version)).toEqual([35, 34, 33, 32]);
    expect(result.backupPath).toEqual(expect.any(String));
    expect(await catalogSnapshot(c)).toEqual(at31);
  });
});
