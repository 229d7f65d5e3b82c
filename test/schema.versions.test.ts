/**
 * Migrations 0024..0026 (rendered versions, issue 12) on a database that holds users and recordings:
 *  - up: 0024 in one transaction (the table, recordings.current_version_id and its foreign key NOT VALID),
 *    0025 the index CONCURRENTLY outside one, 0026 validates the key; the constraints hold what the
 *    versions code relies on (numbers unique per recording, a ready version has its facts, a deleted version
 *    leaves its recording playing the original, versions go with their recording);
 *  - down gives back the schema of 23 exactly, refuses while versions are recorded unless forced, and the
 *    forced backup restores them.
 * Migrated to explicit versions: later migrations would make 'up' mean more.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/server/db/migrator/backup.js';
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

const SHA = 'a'.repeat(64);

async function seed(c: pg.Client): Promise<{ recordingId: string }> {
  await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada')`);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration, storage_key)
     VALUES ('u1', 'Old take', 'camera', 3, 'users/u1/recordings/1/original.webm') RETURNING id::text`,
  );
  return { recordingId: rows[0]!.id };
}

/** A version row; returns its id, or PostgreSQL's error code and constraint. */
async function version(
  c: pg.Client,
  recordingId: string,
  v: { number: number; status?: string; facts?: boolean; key?: string; by?: string },
): Promise<string> {
  try {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO recording_versions (recording_id, number, status, edit_revision, edits, storage_provider,
         storage_key, file_size, sha256, duration_ms, mime_type, created_by, completed_at)
       VALUES ($1, $2, $3, 1, '{"revision":"1"}', 'local', $4, $5, $6, $7, $8, $9,
         CASE WHEN $3 = 'rendering' THEN NULL ELSE now() END)
       RETURNING id::text`,
      [
        recordingId,
        v.number,
        v.status ?? 'rendering',
        v.key ?? `users/u1/recordings/${recordingId}/versions/${v.number}.webm`,
        v.facts ? 10 : null,
        v.facts ? SHA : null,
        v.facts ? 2000 : null,
        v.facts ? 'video/webm' : null,
        v.by ?? 'u1',
      ],
    );
    return rows[0]!.id;
  } catch (err) {
    return violationOf(err);
  }
}

describe.each(pgTargets())('0024..0026 recording versions, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let recordingId: string;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 23 });
    c = await connect(db.url);
    ({ recordingId } = await seed(c));
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('0024 in a transaction, the index outside one, then the key validated', async () => {
    const m = migrator(db.url);
    const steps = await m.plan('up', { to: 26 });
    expect(steps.map((s) => [s.version, s.transactional])).toEqual([
      [24, true],
      [25, false],
      [26, true],
    ]);
    await m.up({ to: 26 });
    const { rows } = await c.query(
      `SELECT convalidated FROM pg_constraint WHERE conname = 'fk_recordings_current_version'`,
    );
    expect(rows).toEqual([{ convalidated: true }]);
    expect((await c.query('SELECT current_version_id FROM recordings')).rows).toEqual([{ current_version_id: null }]);
  });

  it('numbers are unique per recording; a ready version has its facts; statuses and keys are checked', async () => {
    expect(await version(c, recordingId, { number: 1 })).toMatch(/^\d+$/);
    expect(await version(c, recordingId, { number: 1, key: 'k2' })).toBe('23505 uq_recording_versions_number');
    expect(await version(c, recordingId, { number: 2, status: 'ready' })).toBe('23514 chk_version_ready');
    expect(await version(c, recordingId, { number: 2, status: 'ready', facts: true })).toMatch(/^\d+$/);
    expect(await version(c, recordingId, { number: 3, status: 'done', key: 'k3' })).toBe('23514 chk_version_status');
    expect(await version(c, recordingId, { number: 0, key: 'k4' })).toBe('23514 chk_version_number');
    const sameKey = `users/u1/recordings/${recordingId}/versions/1.webm`;
    expect(await version(c, recordingId, { number: 5, key: sameKey })).toBe('23505 uq_recording_versions_key');
    expect(await version(c, recordingId, { number: 6, key: 'k6', by: 'nobody' })).toBe('23503 fk_versions_created_by');
  });

  it('a deleted version leaves its recording playing the original; versions go with their recording', async () => {
    const ready = await version(c, recordingId, { number: 7, status: 'ready', facts: true, key: 'k7' });
    await c.query('UPDATE recordings SET current_version_id = $1 WHERE id = $2', [ready, recordingId]);
    await c.query('DELETE FROM recording_versions WHERE id = $1', [ready]);
    expect((await c.query('SELECT current_version_id FROM recordings')).rows).toEqual([{ current_version_id: null }]);
    const bad = await c.query('UPDATE recordings SET current_version_id = 999999').catch((e) => e.constraint);
    expect(bad).toBe('fk_recordings_current_version');
    await c.query('DELETE FROM recordings WHERE id = $1', [recordingId]);
    expect((await c.query('SELECT count(*)::int AS n FROM recording_versions')).rows[0].n).toBe(0);
  });
});

describe.each(pgTargets())('rolling back 0024..0026, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let backupDir: string;
  let at23: Record<string, string[]>;
  let recordingId: string;

  beforeEach(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
    await migrator(db.url).up({ to: 23 });
    at23 = await catalogSnapshot(c);
    await migrator(db.url).up({ to: 26 });
    ({ recordingId } = await seed(c));
  });
  afterEach(async () => {
    await c.end();
    await db.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('down gives back the schema of 23 exactly while no version exists; up again the same catalog', async () => {
    const at26 = await catalogSnapshot(c);
    expect(at26).not.toEqual(at23);
    const down = await migrator(db.url, { backupDir }).down({ to: 23 });
    expect(down.map((s) => [s.version, s.transactional])).toEqual([
      [26, true],
      [25, false],
      [24, true],
    ]);
    expect(await catalogSnapshot(c)).toEqual(at23);
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 23));
    expect((await c.query('SELECT title FROM recordings')).rows).toEqual([{ title: 'Old take' }]);
    await migrator(db.url).up({ to: 26 });
    expect(await catalogSnapshot(c)).toEqual(at26);
  });

  it('refuses while versions are recorded, then backs them up and restores them', async () => {
    const ready = await version(c, recordingId, { number: 1, status: 'ready', facts: true });
    await c.query('UPDATE recordings SET current_version_id = $1', [ready]);
    const dump = async () => ({
      versions: (await c.query('SELECT * FROM recording_versions ORDER BY id')).rows,
      current: (await c.query('SELECT current_version_id FROM recordings')).rows,
    });
    const before = await dump();
    const err = await migrator(db.url, { backupDir })
      .down({ to: 23 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    expect(err.message).toContain('public.recording_versions: 1 row(s)');
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 26));

    const result = await migrator(db.url, { backupDir }).down({ to: 23 }, true);
    expect(result.map((s) => s.version)).toEqual([26, 25, 24]);
    expect(await catalogSnapshot(c)).toEqual(at23);
    await migrator(db.url).up({ to: 26 });
    await restoreBackup(c, db.url, result.backupPath!);
    expect(await dump()).toEqual(before);
  });
});
