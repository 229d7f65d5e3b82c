/**
 * Rollback: every `down` is tested, a rollback that would destroy rows refuses, and --force backs the
 * rows up first in a form that restores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/server/db/migrator/backup.js';
import { catalogSnapshot } from './support/catalog.js';
import { ALL_VERSIONS, connect, freshDatabase, migrator, PHASE1_VERSIONS, pgTargets } from './support/db.js';

async function seed(c: pg.Client): Promise<void> {
  await c.query(
    `INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.com', 'Ada'), ('u2', 'b@example.com', 'Bob')`,
  );
  await c.query(`INSERT INTO projects (owner_id, name) VALUES ('u1', 'Launch')`);
  await c.query(
    `INSERT INTO recordings (user_id, project_id, title, description, recording_type, duration, file_size, metadata)
     VALUES ('u1', 1, 'Demo, "quoted", with commas', E'line one\\nline two', 'screen', 42, 1048576, '{"codec":"vp9"}'),
            ('u2', NULL, 'Voice memo', NULL, 'audio', 7, NULL, NULL)`,
  );
  await c.query(
    `INSERT INTO recording_sessions (user_id, recording_type, started_at, status)
     VALUES ('u1', 'camera', now(), 'completed')`,
  );
  await c.query(
    `INSERT INTO recording_edits (recording_id, edit_type, parameters, position)
     VALUES (1, 'trim', '{"start":1,"end":5}', 1)`,
  );
}

async function dumpRows(c: pg.Client): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of ['users', 'projects', 'recordings', 'recording_sessions', 'recording_edits']) {
    out[t] = (await c.query(`SELECT * FROM ${t} ORDER BY 1`)).rows;
  }
  return out;
}

describe.each(pgTargets())('rollback on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let backupDir: string;
  beforeEach(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
  });
  afterEach(async () => {
    await c.end();
    await db.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('up → down --to 0 → up leaves a catalog identical to the first up', async () => {
    await migrator(db.url).up();
    const first = await catalogSnapshot(c);
    expect(first.tables!.length).toBeGreaterThan(5);
    const down = await migrator(db.url).down({ to: 0 });
    expect(down.map((s) => s.version)).toEqual([...ALL_VERSIONS].reverse());
    const empty = await catalogSnapshot(c);
    expect(empty.tables).toEqual(['schema_migrations:r']);
    expect(empty.functions).toEqual([]);
    await migrator(db.url).up();
    expect(await catalogSnapshot(c)).toEqual(first);
  });

  it('each down undoes exactly its own up', async () => {
    const m = migrator(db.url);
    const snapshots = [await catalogSnapshot(c)];
    const versions = [0, ...ALL_VERSIONS];
    for (const v of ALL_VERSIONS) {
      await m.up({ to: v });
      snapshots.push(await catalogSnapshot(c));
    }
    for (let i = versions.length - 2; i >= 0; i--) {
      await m.down({ to: versions[i]! });
      const now = await catalogSnapshot(c);
      // schema_migrations exists from the first up on: compare everything else
      const strip = (s: Record<string, string[]>) =>
        JSON.stringify(Object.values(s).map((l) => l.filter((x) => !x.includes('schema_migrations'))));
      expect(strip(now), `after down --to ${versions[i]}`).toEqual(strip(snapshots[i]!));
    }
  });

  it('down --phase N rolls back phase N and later; phase 1 rolls back everything', async () => {
    await migrator(db.url).up();
    const phase2 = await migrator(db.url).down({ phase: 2 });
    expect(phase2.map((s) => s.version)).toEqual(ALL_VERSIONS.filter((v) => v > 5).reverse());
    expect((await c.query(`SELECT to_regclass('recordings') IS NOT NULL AS t`)).rows[0].t).toBe(true);
    expect((await migrator(db.url).down({ phase: 1 })).length).toBe(PHASE1_VERSIONS.length);
    expect((await c.query(`SELECT to_regclass('users') AS t`)).rows[0].t).toBeNull();
  });

  it('refuses to drop tables holding rows, names them with counts, and changes nothing', async () => {
    await migrator(db.url).up();
    await seed(c);
    const before = await dumpRows(c);
    const err = await migrator(db.url, { backupDir })
      .down({ to: 0 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    expect(err.message).toContain('public.users: 2 row(s)');
    expect(err.message).toContain('public.recordings: 2 row(s)');
    expect(err.message).toContain('public.recording_edits: 1 row(s)');
    expect(err.message).toContain('--force');
    expect(await dumpRows(c)).toEqual(before);
    expect((await c.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBe(ALL_VERSIONS.length);
    expect(fs.readdirSync(backupDir)).toEqual([]);
  });

  it('a partial rollback only checks the tables it drops', async () => {
    await migrator(db.url).up();
    await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.com', 'Ada')`);
    await migrator(db.url, { backupDir }).down({ to: 2 }); // recordings, sessions, edits, uploads are empty
    expect((await c.query(`SELECT to_regclass('recordings') AS t`)).rows[0].t).toBeNull();
    expect((await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(1);
  });

  for (const mode of ['copy', 'pg_dump-if-available'] as const) {
    it(`--force writes a backup (${mode}) that restores every row after migrating up again`, async () => {
      await migrator(db.url).up();
      await seed(c);
      const before = await dumpRows(c);
      const result = await migrator(db.url, { backupDir }).down({ to: 0 }, true, { forceCopy: mode === 'copy' });
      expect(result.backupPath).toBeDefined();
      const manifest = JSON.parse(fs.readFileSync(path.join(result.backupPath!, 'manifest.json'), 'utf8'));
      // Phase 3's down drops recordings.edit_revision (set on every row) and recording_edits.position, Phase
      // 2's recordings.storage_provider (set on every row), before Phase 1 drops the tables.
      expect(
        manifest.entries.filter((e: { column?: string }) => e.column).map((e: { column: string }) => e.column),
      ).toEqual(['edit_revision', 'position', 'storage_provider']);
      expect(
        manifest.entries.filter((e: { column?: string }) => !e.column).map((e: { table: string }) => e.table),
      ).toEqual([
        'public.recording_edits',
        'public.recording_sessions',
        'public.recordings',
        'public.projects',
        'public.users',
      ]);
      const formats = new Set(
        manifest.entries.filter((e: { column?: string }) => !e.column).map((e: { format: string }) => e.format),
      );
      // Debian's pg_dump 15 can dump the PG 15 server; the embedded PG 18 needs the COPY export.
      expect([...formats]).toEqual([mode === 'copy' || target.name.includes('pg18') ? 'csv' : 'pg_dump']);
      expect((await c.query(`SELECT to_regclass('users') AS t`)).rows[0].t).toBeNull();

      await migrator(db.url).up();
      await restoreBackup(c, db.url, result.backupPath!);
      expect(await dumpRows(c)).toEqual(before);
      // identity sequences moved past the restored ids
      const { rows } = await c.query(
        `INSERT INTO recordings (user_id, title, recording_type, duration)
         VALUES ('u1', 'new', 'camera', 1) RETURNING id`,
      );
      expect(Number(rows[0].id)).toBe(3);
    });
  }

  it('guards dropped columns too: refuses, then backs up and restores the column values', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-migs-'));
    fs.writeFileSync(
      path.join(dir, '0001_phase1_t.up.sql'),
      'CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, a text);',
    );
    fs.writeFileSync(path.join(dir, '0001_phase1_t.down.sql'), 'DROP TABLE t;');
    fs.writeFileSync(path.join(dir, '0002_phase2_b.up.sql'), 'ALTER TABLE t ADD COLUMN b text;');
    fs.writeFileSync(path.join(dir, '0002_phase2_b.down.sql'), 'ALTER TABLE t DROP COLUMN b;');
    await migrator(db.url, { dir }).up();
    await c.query(`INSERT INTO t (a, b) VALUES ('x', 'kept'), ('y', NULL), ('z', 'also, "kept"')`);
    await expect(migrator(db.url, { dir, backupDir }).down({ phase: 2 })).rejects.toMatchObject({
      code: 'MIGRATION_DATA_LOSS',
      message: expect.stringContaining('public.t.b: 2 row(s)'),
    });
    const result = await migrator(db.url, { dir, backupDir }).down({ phase: 2 }, true);
    expect((await c.query(`SELECT count(*)::int AS n FROM t`)).rows[0].n).toBe(3); // the table stays
    await migrator(db.url, { dir }).up();
    await restoreBackup(c, db.url, result.backupPath!);
    expect((await c.query('SELECT a, b FROM t ORDER BY id')).rows).toEqual([
      { a: 'x', b: 'kept' },
      { a: 'y', b: null },
      { a: 'z', b: 'also, "kept"' },
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  it('rolling back the take columns (0011) refuses while they hold data, then backs up and restores them', async () => {
    await migrator(db.url).up();
    await seed(c);
    await c.query(
      `UPDATE recording_sessions
       SET last_heartbeat_at = started_at,
           take = '{"title":"Kept take","metadata":{"slides":[0,1200]}}',
           recording_id = 1`,
    );
    const before = (
      await c.query('SELECT id, last_heartbeat_at, recording_id, take FROM recording_sessions ORDER BY id')
    ).rows;
    await expect(migrator(db.url, { backupDir }).down({ to: 10 })).rejects.toMatchObject({
      code: 'MIGRATION_DATA_LOSS',
      message: expect.stringContaining('public.recording_sessions.take: 1 row(s)'),
    });
    const result = await migrator(db.url, { backupDir }).down({ to: 10 }, true);
    const cols = (
      await c.query(
        `SELECT attname FROM pg_attribute
         WHERE attrelid = 'recording_sessions'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      )
    ).rows;
    expect(cols.map((r) => r.attname)).not.toContain('take');
    await migrator(db.url).up();
    await restoreBackup(c, db.url, result.backupPath!);
    expect(
      (await c.query('SELECT id, last_heartbeat_at, recording_id, take FROM recording_sessions ORDER BY id')).rows,
    ).toEqual(before);
  });
});
