/**
 * Migration 0022 (legacy imports, issue 11) on a database that holds users and recordings:
 *  - up: two new tables in one transaction; the legacy key (user, source, legacy id, sha256) is unique among
 *    'imported' items and only there; 'already' at most once per import and key; a deleted recording
 *    leaves its key behind (recording_id NULL); imports and items go with their user;
 *  - down gives back the schema of 21 exactly, refuses while imports are recorded unless forced, and the
 *    forced backup restores them.
 * Migrated to version 22 explicitly: later migrations would make 'up' mean more.
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

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

async function seed(c: pg.Client): Promise<{ recordingId: string }> {
  await c.query(
    `INSERT INTO users (id, email, display_name)
     VALUES ('u1', 'a@example.test', 'Ada'), ('u2', 'b@example.test', 'Bob')`,
  );
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration) VALUES ('u1', 'Old take', 'camera', 3)
     RETURNING id::text`,
  );
  return { recordingId: rows[0]!.id };
}

const newImport = async (c: pg.Client, user = 'u1') =>
  (
    await c.query<{ id: string }>(
      `INSERT INTO legacy_imports (user_id, origin, item_count, byte_count) VALUES ($1, 'browser', 2, 10)
       RETURNING id::text`,
      [user],
    )
  ).rows[0]!.id;

/** An item row; returns the error code PostgreSQL answered, or 'ok'. */
async function item(
  c: pg.Client,
  v: { importId: string; user?: string; id?: string | null; sha?: string | null; outcome: string; rec?: string },
): Promise<string> {
  try {
    await c.query(
      `INSERT INTO legacy_import_items (import_id, user_id, legacy_source, legacy_id, sha256, outcome, recording_id)
       VALUES ($1, $2, 'saved-recordings', $3, $4, $5, $6)`,
      [
        v.importId,
        v.user ?? 'u1',
        v.id === undefined ? '1' : v.id,
        v.sha === undefined ? SHA_A : v.sha,
        v.outcome,
        v.rec,
      ],
    );
    return 'ok';
  } catch (err) {
    return violationOf(err);
  }
}

describe.each(pgTargets())('0022 legacy imports, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let recordingId: string;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 21 });
    c = await connect(db.url);
    ({ recordingId } = await seed(c));
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('runs in one transaction and creates both tables empty', async () => {
    const m = migrator(db.url);
    const [step] = await m.plan('up', { to: 22 });
    expect({ version: step!.version, transactional: step!.transactional }).toEqual({
      version: 22,
      transactional: true,
    });
    await m.up({ to: 22 });
    const { rows } = await c.query(
      `SELECT (SELECT count(*)::int FROM legacy_imports) AS imports,
              (SELECT count(*)::int FROM legacy_import_items) AS items`,
    );
    expect(rows).toEqual([{ imports: 0, items: 0 }]);
  });

  it('holds the legacy key unique among imported items only, and already once per import', async () => {
    const first = await newImport(c);
    const second = await newImport(c);
    expect(await item(c, { importId: first, outcome: 'imported', rec: recordingId })).toBe('ok');
    // the same key imported again, from any import of the user: refused by the key's index
    expect(await item(c, { importId: second, outcome: 'imported' })).toBe('23505 uq_legacy_import_items_key');
    // other bytes under the same legacy id, or another user: other keys
    expect(await item(c, { importId: second, outcome: 'imported', sha: SHA_B })).toBe('ok');
    const bobs = await newImport(c, 'u2');
    expect(await item(c, { importId: bobs, user: 'u2', outcome: 'imported' })).toBe('ok');
    // 'already' once per import and key; skips repeat freely
    expect(await item(c, { importId: second, outcome: 'already' })).toBe('ok');
    expect(await item(c, { importId: second, outcome: 'already' })).toBe('23505 uq_legacy_import_items_already');
    expect(await item(c, { importId: second, outcome: 'skipped', id: null, sha: null })).toBe('ok');
    expect(await item(c, { importId: second, outcome: 'skipped', id: null, sha: null })).toBe('ok');
  });

  it('refuses what the import never writes, by constraint', async () => {
    const run = await newImport(c);
    expect(await item(c, { importId: run, outcome: 'imported', sha: null, id: 'x' })).toBe('23514 chk_legacy_item_key');
    expect(await item(c, { importId: run, outcome: 'already', id: null })).toBe('23514 chk_legacy_item_key');
    expect(await item(c, { importId: run, outcome: 'skipped', sha: 'ABC' })).toBe('23514 chk_legacy_item_sha256');
    expect(await item(c, { importId: run, outcome: 'lost' })).toBe('23514 chk_legacy_item_outcome');
    expect(await item(c, { importId: run, outcome: 'skipped', id: '' })).toBe('23514 chk_legacy_item_id');
    expect(await item(c, { importId: run, outcome: 'skipped', id: 'x'.repeat(201) })).toBe('23514 chk_legacy_item_id');
    const bad = (sql: string) =>
      c.query(sql).then(
        () => 'ok',
        (e: { constraint?: string }) => e.constraint,
      );
    expect(await bad(`INSERT INTO legacy_imports (user_id, origin) VALUES ('u1', 'fax')`)).toBe(
      'chk_legacy_import_origin',
    );
    expect(await bad(`UPDATE legacy_imports SET status = 'completed' WHERE id = ${run}`)).toBe(
      'chk_legacy_import_finished',
    );
    expect(await bad(`UPDATE legacy_imports SET item_count = -1 WHERE id = ${run}`)).toBe('chk_legacy_import_counts');
  });

  it('a deleted recording keeps its key (recording_id NULL); items go with their import and their user', async () => {
    await c.query('DELETE FROM recordings WHERE id = $1', [recordingId]);
    const { rows } = await c.query(
      `SELECT recording_id FROM legacy_import_items WHERE outcome = 'imported' AND user_id = 'u1' AND sha256 = $1`,
      [SHA_A],
    );
    expect(rows).toEqual([{ recording_id: null }]);
    const run = await newImport(c);
    expect(await item(c, { importId: run, outcome: 'imported' })).toBe('23505 uq_legacy_import_items_key');

    await c.query('DELETE FROM legacy_imports WHERE id = $1', [run]);
    await c.query(`DELETE FROM users WHERE id = 'u2'`);
    const left = await c.query(`SELECT DISTINCT user_id FROM legacy_import_items ORDER BY 1`);
    expect(left.rows).toEqual([{ user_id: 'u1' }]);
    expect((await c.query(`SELECT count(*)::int AS n FROM legacy_imports WHERE user_id = 'u2'`)).rows[0].n).toBe(0);
  });
});

describe.each(pgTargets())('rolling back 0022, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let backupDir: string;
  let at21: Record<string, string[]>;

  beforeEach(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
    await migrator(db.url).up({ to: 21 });
    at21 = await catalogSnapshot(c);
    await migrator(db.url).up({ to: 22 });
    await seed(c);
  });
  afterEach(async () => {
    await c.end();
    await db.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('down gives back the schema of 21 exactly while nothing was imported; up again the same catalog', async () => {
    const at22 = await catalogSnapshot(c);
    expect(at22).not.toEqual(at21);
    const down = await migrator(db.url, { backupDir }).down({ to: 21 });
    expect(down.map((s) => [s.version, s.transactional])).toEqual([[22, true]]);
    expect(down.backupPath).toBeUndefined();
    expect(await catalogSnapshot(c)).toEqual(at21);
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 21));
    expect((await c.query('SELECT title FROM recordings')).rows).toEqual([{ title: 'Old take' }]);
    await migrator(db.url).up({ to: 22 });
    expect(await catalogSnapshot(c)).toEqual(at22);
  });

  it('refuses while imports are recorded, then backs them up and restores them', async () => {
    const run = await newImport(c);
    expect(await item(c, { importId: run, outcome: 'skipped', id: 'gone' })).toBe('ok');
    const dump = async () => ({
      imports: (await c.query('SELECT * FROM legacy_imports ORDER BY id')).rows,
      items: (await c.query('SELECT * FROM legacy_import_items ORDER BY id')).rows,
    });
    const before = await dump();
    const err = await migrator(db.url, { backupDir })
      .down({ to: 21 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    expect(err.message).toContain('public.legacy_import_items: 1 row(s)');
    expect(err.message).toContain('public.legacy_imports: 1 row(s)');
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 22));

    const result = await migrator(db.url, { backupDir }).down({ to: 21 }, true);
    expect(result.map((s) => s.version)).toEqual([22]);
    expect(await catalogSnapshot(c)).toEqual(at21);
    await migrator(db.url).up({ to: 22 });
    await restoreBackup(c, db.url, result.backupPath!);
    expect(await dump()).toEqual(before);
  });
});
