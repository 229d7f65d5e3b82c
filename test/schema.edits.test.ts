/**
 * The editor's history migrations (issue 12) on a database whose recording_edits already holds rows (none
 * does in any deployment; written as if it did):
 *  - 0023 adds the columns without rewriting either table, its constraints NOT VALID;
 *  - 0027 numbers the old rows per recording in the order they were applied, then validates;
 *  - 0028 and 0029 build their indexes CONCURRENTLY, outside a transaction, and end valid;
 *  - each down gives back the schema before it; rolling back a history that holds data is refused unless
 *    forced, and the forced backup restores it.
 * Migrated to explicit versions: the VERSIONS migrations (0024..0029) come between and are not looked at.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/server/db/migrator/backup.js';
import { catalogSnapshot } from './support/catalog.js';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

const MINE = [23, 27, 28, 29];

async function seed(c: pg.Client): Promise<{ r1: string; r2: string; edits: string[] }> {
  await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada')`);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration)
     VALUES ('u1', 'one', 'camera', 30), ('u1', 'two', 'audio', 9) RETURNING id::text`,
  );
  const [r1, r2] = [rows[0]!.id, rows[1]!.id];
  const edits: string[] = [];
  // Ids and applied_at disagree on purpose: the stack follows applied_at.
  for (const [recording, at] of [
    [r1, '2026-01-01 10:00:02+00'],
    [r1, '2026-01-01 10:00:01+00'],
    [r1, '2026-01-01 10:00:03+00'],
    [r2, '2026-01-01 09:00:00+00'],
  ]) {
    const e = await c.query<{ id: string }>(
      `INSERT INTO recording_edits (recording_id, edit_type, parameters, applied_at)
       VALUES ($1, 'audio', '{"mute":true}', $2) RETURNING id::text`,
      [recording, at],
    );
    edits.push(e.rows[0]!.id);
  }
  return { r1: r1!, r2: r2!, edits };
}

const validated = async (c: pg.Client) =>
  Object.fromEntries(
    (
      await c.query<{ name: string; v: boolean }>(
        `SELECT conname AS name, convalidated AS v FROM pg_constraint
          WHERE conname IN ('fk_edits_created_by', 'chk_edit_position', 'chk_edit_dropped_undone',
                            'chk_recording_edit_revision') ORDER BY 1`,
      )
    ).rows.map((r) => [r.name, r.v]),
  );

describe.each(pgTargets())('0023, 0027..0029 (edit history) on a database holding edits, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let seeded: Awaited<ReturnType<typeof seed>>;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 22 });
    c = await connect(db.url);
    seeded = await seed(c);
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  const fileNode = async (table: string) =>
    (await c.query<{ n: string }>(`SELECT pg_relation_filenode($1::regclass)::text AS n`, [table])).rows[0]!.n;

  it('0023: one transaction, no table rewritten, old rows unnumbered, the constraints NOT VALID', async () => {
    const m = migrator(db.url);
    const [step] = await m.plan('up', { to: 23 });
    expect([step!.version, step!.transactional]).toEqual([23, true]);
    const before = [await fileNode('recordings'), await fileNode('recording_edits')];
    await m.up({ to: 23 });
    expect([await fileNode('recordings'), await fileNode('recording_edits')]).toEqual(before);
    expect((await c.query('SELECT DISTINCT edit_revision::int AS r FROM recordings')).rows).toEqual([{ r: 0 }]);
    const { rows } = await c.query('SELECT DISTINCT position, created_by, undone_at, dropped_at FROM recording_edits');
    expect(rows).toEqual([{ position: null, created_by: null, undone_at: null, dropped_at: null }]);
    expect(await validated(c)).toEqual({
      chk_edit_dropped_undone: false,
      chk_edit_position: false,
      chk_recording_edit_revision: false,
      fk_edits_created_by: false,
    });
    // NOT VALID still holds new rows to the rule.
    const refused = await c
      .query(`INSERT INTO recording_edits (recording_id, edit_type, parameters) VALUES ($1, 'trim', '{}')`, [seeded.r1])
      .catch((e: { constraint?: string }) => e.constraint);
    expect(refused).toBe('chk_edit_position');
  });

  it('0027: old rows join their stack in the order they were applied; every constraint validated', async () => {
    await migrator(db.url).up({ to: 27 });
    const { rows } = await c.query<{ id: string; position: number }>(
      'SELECT id::text, position FROM recording_edits ORDER BY id',
    );
    const [e1, e2, e3, e4] = seeded.edits;
    expect(rows).toEqual([
      { id: e1, position: 2 },
      { id: e2, position: 1 },
      { id: e3, position: 3 },
      { id: e4, position: 1 },
    ]);
    expect(Object.values(await validated(c))).toEqual([true, true, true, true]);
  });

  it('0028, 0029: CONCURRENTLY, each alone outside a transaction, valid; one place per edit', async () => {
    const m = migrator(db.url);
    const steps = await m.plan('up', { to: 29 });
    expect(steps.map((s) => [s.version, s.transactional])).toEqual([
      [28, false],
      [29, false],
    ]);
    await m.up({ to: 29 });
    const { rows } = await c.query(
      `SELECT c.relname AS name, i.indisvalid AS valid, i.indisunique AS unique FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname IN ('idx_edits_recording_position', 'idx_edits_created_by') ORDER BY 1`,
    );
    expect(rows).toEqual([
      { name: 'idx_edits_created_by', valid: true, unique: false },
      { name: 'idx_edits_recording_position', valid: true, unique: true },
    ]);
    const dup = await c
      .query(
        `INSERT INTO recording_edits (recording_id, edit_type, parameters, position) VALUES ($1, 'trim', '{}', 3)`,
        [seeded.r1],
      )
      .catch((e: { constraint?: string }) => e.constraint);
    expect(dup).toBe('idx_edits_recording_position');
  });
});

describe.each(pgTargets())('rolling back the edit history migrations, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let backupDir: string;
  const at: Record<number, Record<string, string[]>> = {};

  beforeEach(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
    for (const v of [22, ...MINE]) {
      await migrator(db.url).up({ to: v });
      at[v] = await catalogSnapshot(c);
    }
  });
  afterEach(async () => {
    await c.end();
    await db.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('each down gives back the schema before it (an empty history); up again the same catalog', async () => {
    const m = migrator(db.url, { backupDir });
    for (const [v, before] of [
      [29, 28],
      [28, 27],
      [27, 26],
      [23, 22],
    ] as const) {
      const down = await m.down({ to: before });
      expect(down.map((s) => s.version)).toContain(v);
      expect(down.backupPath).toBeUndefined();
      if (at[before]) expect(await catalogSnapshot(c), `after down --to ${before}`).toEqual(at[before]);
    }
    expect(await catalogSnapshot(c)).toEqual(at[22]);
    await migrator(db.url).up({ to: 29 });
    expect(await catalogSnapshot(c)).toEqual(at[29]);
  });

  it('refuses to roll back a history that holds edits, then backs it up and restores it', async () => {
    await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada')`);
    await c.query(
      `INSERT INTO recordings (id, user_id, title, recording_type, duration) VALUES (1, 'u1', 't', 'camera', 30)`,
    );
    await c.query(
      `INSERT INTO recording_edits (recording_id, edit_type, parameters, position, created_by, undone_at)
       VALUES (1, 'audio', '{"mute":true}', 1, 'u1', now())`,
    );
    await c.query('UPDATE recordings SET edit_revision = 2');
    const dump = async () => ({
      edits: (await c.query('SELECT * FROM recording_edits ORDER BY id')).rows,
      revision: (await c.query('SELECT edit_revision FROM recordings')).rows,
    });
    const before = await dump();
    const err = await migrator(db.url, { backupDir })
      .down({ to: 22 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    expect(err.message).toContain('recording_edits.position');
    expect(await dump()).toEqual(before);

    const forced = await migrator(db.url, { backupDir }).down({ to: 22 }, true);
    expect(forced.backupPath).toBeDefined();
    expect(await catalogSnapshot(c)).toEqual(at[22]);
    await migrator(db.url).up({ to: 29 });
    await restoreBackup(c, db.url, forced.backupPath!);
    expect(await dump()).toEqual(before);
  });
});
