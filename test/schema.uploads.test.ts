/**
 * The upload store (issue 8: uploads stream straight into storage, their state in PostgreSQL), observed
 * on a database whose uploads table already holds rows:
 *  - 0016 adds nullable columns to uploads (catalog-only: no rewrite, the rows stay) and two new tables,
 *    upload_parts and upload_chunks, whose constraints refuse what S3 and the store never write and
 *    which go with their upload;
 *  - 0017 builds the partial index idx_uploads_unfinished_reservation CONCURRENTLY, outside a
 *    transaction, and the storage sweep's question uses it on a table of many finished uploads;
 *  - `down` of 0017 then 0016 gives back the schema exactly as it was, refusing while the store holds data
 *    unless forced, and the forced backup restores it.
 * The exact catalog after `up` (every column, constraint and index by name) is in test/schema.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/server/db/migrator/backup.js';
import { catalogSnapshot } from './support/catalog.js';
import { ALL_VERSIONS, appliedVersions, connect, freshDatabase, migrator, pgTargets } from './support/db.js';

/** The columns 0016 adds to uploads, in its order. */
const STORE_COLUMNS = [
  'storage_provider',
  'storage_bucket',
  'storage_region',
  'storage_key',
  'reserved_recording_id',
  'media_type',
  'hash_state',
  'sha256',
  'multipart_id',
  'lock_token',
  'lock_expires_at',
  'release_requested_at',
  'error',
];
/** The columns uploads had before 0016 (0010). */
const BEFORE_COLUMNS =
  'id, user_id, recording_id, session_id, upload_length, upload_offset, metadata, status, created_at, ' +
  'updated_at, completed_at';

const SWEEP_INDEX = 'idx_uploads_unfinished_reservation';

async function seedUsers(c: pg.Client): Promise<void> {
  await c.query(
    `INSERT INTO users (id, email, display_name)
     VALUES ('u1', 'a@example.test', 'Ada'), ('u2', 'b@example.test', 'Bob')`,
  );
}

/** Two uploads as 0010..0015 knew them: one still arriving (length deferred), one finished. */
async function seedOldUploads(c: pg.Client): Promise<void> {
  await c.query(
    `INSERT INTO uploads (id, user_id, upload_length, upload_offset, metadata, status, completed_at)
     VALUES ('old-uploading', 'u1', NULL, 4096, '{"filename":"take.webm"}', 'uploading', NULL),
            ('old-completed', 'u1', 100, 100, '{}', 'completed', '2026-01-02T03:04:05Z')`,
  );
}

const fileNode = async (c: pg.Client, table: string) =>
  (await c.query<{ n: string }>(`SELECT pg_relation_filenode($1::regclass)::text AS n`, [table])).rows[0]!.n;

describe.each(pgTargets())('0016 and 0017 applied to an uploads table holding rows, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let oldRows: unknown[];

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 15 });
    c = await connect(db.url);
    await seedUsers(c);
    await seedOldUploads(c);
    oldRows = (await c.query(`SELECT ${BEFORE_COLUMNS} FROM uploads ORDER BY id`)).rows;
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  const sweepIndex = async () =>
    (
      await c.query<{ valid: boolean; ready: boolean; predicate: string; def: string }>(
        `SELECT indisvalid AS valid, indisready AS ready, pg_get_expr(indpred, indrelid, true) AS predicate,
                pg_get_indexdef(indexrelid) AS def
           FROM pg_index WHERE indexrelid = to_regclass($1)`,
        [`public.${SWEEP_INDEX}`],
      )
    ).rows;

  it('0016 runs in a transaction, rewrites nothing and keeps the rows, every new column NULL', async () => {
    const m = migrator(db.url);
    const [step] = await m.plan('up', { to: 16 });
    expect({ version: step!.version, transactional: step!.transactional }).toEqual({
      version: 16,
      transactional: true,
    });
    const before = await fileNode(c, 'uploads');

    await m.up({ to: 16 });
    expect(await fileNode(c, 'uploads')).toBe(before);
    expect((await c.query(`SELECT ${BEFORE_COLUMNS} FROM uploads ORDER BY id`)).rows).toEqual(oldRows);
    const { rows } = await c.query(`SELECT id, ${STORE_COLUMNS.join(', ')} FROM uploads ORDER BY id`);
    expect(rows).toEqual(
      ['old-completed', 'old-uploading'].map((id) => ({
        id,
        ...Object.fromEntries(STORE_COLUMNS.map((k) => [k, null])),
      })),
    );
    const { rows: tables } = await c.query(
      `SELECT (SELECT count(*)::int FROM upload_parts) AS parts, (SELECT count(*)::int FROM upload_chunks) AS chunks`,
    );
    expect(tables).toEqual([{ parts: 0, chunks: 0 }]);
    expect(await sweepIndex()).toEqual([]);
  });

  it('0017 builds a valid partial index CONCURRENTLY outside a transaction, and rewrites nothing', async () => {
    const m = migrator(db.url);
    const plan = await m.plan('up', { to: 17 });
    expect(plan.map((p) => [p.version, p.transactional])).toEqual([[17, false]]);
    expect(plan[0]!.sql.replace(/\s+/g, ' ')).toContain(
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_uploads_unfinished_reservation ON uploads (reserved_recording_id) ' +
        "WHERE status = 'uploading';",
    );
    const before = await fileNode(c, 'uploads');

    // CREATE INDEX CONCURRENTLY cannot run inside a transaction block: the index existing proves it ran
    // outside one.
    await m.up({ to: 17 });
    expect(await m.pendingCount()).toBe(ALL_VERSIONS.filter((v) => v > 17).length);
    expect(await sweepIndex()).toEqual([
      {
        valid: true,
        ready: true,
        predicate: "status = 'uploading'::text",
        def:
          'CREATE INDEX idx_uploads_unfinished_reservation ON public.uploads USING btree (reserved_recording_id) ' +
          "WHERE (status = 'uploading'::text)",
      },
    ]);
    expect(await fileNode(c, 'uploads')).toBe(before);
    expect((await c.query(`SELECT ${BEFORE_COLUMNS} FROM uploads ORDER BY id`)).rows).toEqual(oldRows);
  });

  it('the sweep’s query uses the partial index on a table of 50,000 completed uploads and 5 unfinished', async () => {
    // As an upload's life leaves them: finished ones keep their reservation (it became their recording).
    await c.query(
      `INSERT INTO uploads (id, user_id, upload_length, upload_offset, status, completed_at,
                            storage_provider, storage_key, reserved_recording_id, media_type)
       SELECT 'done-' || g, 'u1', 1000, 1000, 'completed', now(), 'local', 'u1/' || g || '/media.webm', g, 'video/webm'
         FROM generate_series(1, 50000) g`,
    );
    await c.query(
      `INSERT INTO uploads (id, user_id, upload_length, upload_offset, status, storage_provider, reserved_recording_id)
       SELECT 'live-' || g, 'u2', NULL, 64 * g, 'uploading', 'local', 50000 + g FROM generate_series(1, 5) g`,
    );
    await c.query('ANALYZE uploads');

    // What UploadsRepository.unfinishedReservations sends for one sweep batch (SWEEP_BATCH = 500 listed
    // objects): the status and the ids as parameters, most ids those of finished uploads' recordings.
    const ids = [...Array.from({ length: 495 }, (_, i) => String(1 + i * 100)), '50001', '50002', '50003', '50004'];
    ids.push('99999'); // no upload reserved it
    const params = ['uploading', ...ids];
    const sql =
      'SELECT reserved_recording_id, user_id FROM uploads ' +
      `WHERE status = $1 AND reserved_recording_id IN (${ids.map((_, i) => `$${i + 2}`).join(', ')})`;

    const plan = (await c.query(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/idx_uploads_unfinished_reservation/);
    expect(plan).not.toMatch(/Seq Scan/);

    const { rows } = await c.query(`${sql} ORDER BY reserved_recording_id`, params);
    expect(rows).toEqual(
      ['50001', '50002', '50003', '50004'].map((id) => ({ reserved_recording_id: id, user_id: 'u2' })),
    );
  });

  it('upload_parts and upload_chunks refuse what they should, by constraint, and go with their upload', async () => {
    await c.query(
      `INSERT INTO uploads (id, user_id, upload_length, status, storage_provider, reserved_recording_id)
       VALUES ('s3-take', 'u2', NULL, 'uploading', 's3', 60001)`,
    );
    const refusal = (sql: string, params: unknown[]) =>
      c.query(sql, params).then(
        () => ({ code: 'accepted', constraint: undefined }),
        (e: { code: string; constraint?: string }) => ({ code: e.code, constraint: e.constraint }),
      );
    const part = (upload: string, n: number, size: number) =>
      refusal('INSERT INTO upload_parts (upload_id, part_number, etag, size) VALUES ($1, $2, $3, $4)', [
        upload,
        n,
        `"etag-${n}"`,
        size,
      ]);
    const chunk = (upload: string, start: number) =>
      refusal('INSERT INTO upload_chunks (upload_id, start_offset, bytes) VALUES ($1, $2, $3)', [
        upload,
        start,
        Buffer.from('slice'),
      ]);
    const check = (constraint: string) => ({ code: '23514', constraint });
    const accepted = { code: 'accepted', constraint: undefined };

    // S3 numbers parts 1..10000.
    expect(await part('s3-take', 0, 5)).toEqual(check('chk_upload_part_number'));
    expect(await part('s3-take', 10001, 5)).toEqual(check('chk_upload_part_number'));
    expect(await part('s3-take', -1, 5)).toEqual(check('chk_upload_part_number'));
    expect(await part('s3-take', 1, 5 * 1024 * 1024)).toEqual(accepted);
    expect(await part('s3-take', 10000, 1)).toEqual(accepted);
    // An empty part is never stored.
    expect(await part('s3-take', 2, 0)).toEqual(check('chk_upload_part_size'));
    expect(await part('s3-take', 2, -5)).toEqual(check('chk_upload_part_size'));
    // One row per part number, per upload.
    expect(await part('s3-take', 1, 7)).toEqual({ code: '23505', constraint: 'pk_upload_parts' });
    expect(await part('no-such-upload', 3, 7)).toEqual({ code: '23503', constraint: 'fk_upload_parts_upload' });
    expect(
      await refusal('INSERT INTO upload_parts (upload_id, part_number, etag, size) VALUES ($1, 3, NULL, 7)', [
        's3-take',
      ]),
    ).toEqual({ code: '23502', constraint: undefined });

    expect(await chunk('s3-take', -1)).toEqual(check('chk_upload_chunk_offset'));
    expect(await chunk('s3-take', 0)).toEqual(accepted);
    expect(await chunk('s3-take', 4096)).toEqual(accepted);
    expect(await chunk('s3-take', 4096)).toEqual({ code: '23505', constraint: 'pk_upload_chunks' });
    expect(await chunk('no-such-upload', 0)).toEqual({ code: '23503', constraint: 'fk_upload_chunks_upload' });

    const counts = async () =>
      (
        await c.query(
          `SELECT (SELECT count(*)::int FROM upload_parts WHERE upload_id = 's3-take') AS parts,
                  (SELECT count(*)::int FROM upload_chunks WHERE upload_id = 's3-take') AS chunks`,
        )
      ).rows[0];
    expect(await counts()).toEqual({ parts: 2, chunks: 2 });
    // Finishing or failing an upload keeps its row (and its parts until the store drops them) ...
    await c.query(`UPDATE uploads SET status = 'failed', error = 'not media' WHERE id = 's3-take'`);
    expect(await counts()).toEqual({ parts: 2, chunks: 2 });
    // ... deleting it (directly, or with its user) takes its parts and chunks with it.
    await c.query(`DELETE FROM uploads WHERE id = 's3-take'`);
    expect(await counts()).toEqual({ parts: 0, chunks: 0 });

    await c.query(`INSERT INTO uploads (id, user_id, status) VALUES ('bob-take', 'u2', 'uploading')`);
    await c.query(`INSERT INTO upload_parts (upload_id, part_number, etag, size) VALUES ('bob-take', 1, 'e', 9)`);
    await c.query(`INSERT INTO upload_chunks (upload_id, start_offset, bytes) VALUES ('bob-take', 9, '\\x00')`);
    await c.query(`DELETE FROM users WHERE id = 'u2'`);
    const { rows } = await c.query(
      `SELECT (SELECT count(*)::int FROM uploads WHERE user_id = 'u2') AS uploads,
              (SELECT count(*)::int FROM upload_parts) AS parts, (SELECT count(*)::int FROM upload_chunks) AS chunks`,
    );
    expect(rows).toEqual([{ uploads: 0, parts: 0, chunks: 0 }]);
  });
});

describe.each(pgTargets())('rolling back 0017 and 0016, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let backupDir: string;
  /** The catalog after up --to 15 and after up --to 16. */
  let at15: Record<string, string[]>;
  let at16: Record<string, string[]>;

  beforeEach(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
    const m = migrator(db.url);
    await m.up({ to: 15 });
    at15 = await catalogSnapshot(c);
    await m.up({ to: 16 });
    at16 = await catalogSnapshot(c);
    await m.up({ to: 17 });
  });
  afterEach(async () => {
    await c.end();
    await db.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('down of 0017 then of 0016 give back the schema of 16, then of 15, exactly; the uploads rows stay', async () => {
    await seedUsers(c);
    await seedOldUploads(c);
    const rows = (await c.query(`SELECT ${BEFORE_COLUMNS} FROM uploads ORDER BY id`)).rows;
    expect(at16).not.toEqual(at15);

    const d17 = await migrator(db.url, { backupDir }).down({ to: 16 });
    expect(d17.map((s) => [s.version, s.transactional])).toEqual([[17, false]]);
    expect(await catalogSnapshot(c)).toEqual(at16);

    // 0016's columns hold nothing on these rows and its tables are empty: no refusal, no backup.
    const d16 = await migrator(db.url, { backupDir }).down({ to: 15 });
    expect(d16.map((s) => [s.version, s.transactional])).toEqual([[16, true]]);
    expect(d16.backupPath).toBeUndefined();
    expect(await catalogSnapshot(c)).toEqual(at15);
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 15));
    expect((await c.query(`SELECT ${BEFORE_COLUMNS} FROM uploads ORDER BY id`)).rows).toEqual(rows);
    expect(fs.readdirSync(backupDir)).toEqual([]);

    // and up again gives the same catalog as the first time.
    await migrator(db.url).up({ to: 17 });
    const again = await catalogSnapshot(c);
    await migrator(db.url).down({ to: 16 });
    expect(await catalogSnapshot(c)).toEqual(at16);
    await migrator(db.url).up({ to: 17 });
    expect(await catalogSnapshot(c)).toEqual(again);
  });

  it('rolling back 0016 refuses while the upload store holds data, then backs it up and restores it', async () => {
    await seedUsers(c);
    await seedOldUploads(c);
    await c.query(
      `UPDATE uploads
          SET storage_provider = 's3', storage_bucket = 'media', storage_region = 'eu-west-1',
              storage_key = 'u1/42/media.webm', reserved_recording_id = 42, media_type = 'video/webm',
              hash_state = '\\x00ff10'::bytea, multipart_id = 'mp-1', lock_token = gen_random_uuid(),
              lock_expires_at = now() + interval '6 seconds', release_requested_at = now(), error = NULL
        WHERE id = 'old-uploading'`,
    );
    await c.query(
      `UPDATE uploads SET sha256 = repeat('ab', 32), error = 'not media', storage_provider = 'local'
        WHERE id = 'old-completed'`,
    );
    await c.query(
      `INSERT INTO upload_parts (upload_id, part_number, etag, size)
       VALUES ('old-uploading', 1, '"e1"', 5242880), ('old-uploading', 2, '"e2"', 5242880)`,
    );
    await c.query(
      `INSERT INTO upload_chunks (upload_id, start_offset, bytes)
       VALUES ('old-uploading', 10485760, '\\x1a45dfa3'::bytea)`,
    );
    const dump = async () => ({
      uploads: (await c.query('SELECT * FROM uploads ORDER BY id')).rows,
      parts: (await c.query('SELECT * FROM upload_parts ORDER BY upload_id, part_number')).rows,
      chunks: (await c.query('SELECT * FROM upload_chunks ORDER BY upload_id, start_offset')).rows,
    });
    const before = await dump();
    const catalog = await catalogSnapshot(c);

    const err = await migrator(db.url, { backupDir })
      .down({ to: 15 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    for (const line of [
      'public.upload_chunks: 1 row(s)',
      'public.upload_parts: 2 row(s)',
      'public.uploads.storage_provider: 2 row(s)',
      'public.uploads.hash_state: 1 row(s)',
      'public.uploads.sha256: 1 row(s)',
      'public.uploads.lock_token: 1 row(s)',
      'public.uploads.error: 1 row(s)',
    ])
      expect(err.message).toContain(line);
    // Nothing changed, not even 0017's index (the refusal comes before any step runs).
    expect(await catalogSnapshot(c)).toEqual(catalog);
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 17));
    expect(await dump()).toEqual(before);
    expect(fs.readdirSync(backupDir)).toEqual([]);

    const result = await migrator(db.url, { backupDir }).down({ to: 15 }, true);
    expect(result.map((s) => s.version)).toEqual([17, 16]);
    expect(await catalogSnapshot(c)).toEqual(at15);
    const manifest = JSON.parse(fs.readFileSync(path.join(result.backupPath!, 'manifest.json'), 'utf8'));
    // In the order the down file drops them; only columns that hold a value somewhere.
    expect(manifest.entries.map((e: { table: string; column?: string }) => e.column ?? e.table)).toEqual([
      'public.upload_chunks',
      'public.upload_parts',
      'error',
      'release_requested_at',
      'lock_expires_at',
      'lock_token',
      'multipart_id',
      'sha256',
      'hash_state',
      'media_type',
      'reserved_recording_id',
      'storage_key',
      'storage_region',
      'storage_bucket',
      'storage_provider',
    ]);
    expect((await c.query(`SELECT ${BEFORE_COLUMNS} FROM uploads ORDER BY id`)).rows).toEqual(
      before.uploads.map((r) => Object.fromEntries(BEFORE_COLUMNS.split(', ').map((k) => [k, r[k]]))),
    );

    await migrator(db.url).up({ to: 17 });
    await restoreBackup(c, db.url, result.backupPath!);
    expect(await dump()).toEqual(before);
  });
});
