/**
 * `recorder restore DIR`: a backup written by `recorder backup`, into an EMPTY database only (a restore
 * that met existing rows would either fail half-way on conflicts or silently merge two histories).
 * - pg_dump form: pg_restore of the whole archive in one transaction (--single-transaction, --exit-on-error).
 * - copy form: the same migrations are applied up to the backup's schema version (the local files must be
 *   the very files the backup's database ran: same versions, same checksums), then in one transaction every
 *   table is loaded parents first, schema_migrations gets the backup's own history, and every sequence is
 *   set to where it stood.
 * Both then compare every table's row count with the manifest's; the copy form does so before committing.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import pg from 'pg';
import type { Migrator } from '../migrator/engine.js';
import { BackupRepository } from './backup.repository.js';
import { BackupError, readManifest, silentProgress, type BackupManifest, type Progress } from './manifest.js';
import { type MediaStorages, restoreMedia } from './media.js';
import { libpqEnv, pgToolsFor } from './pg-tools.js';
import { runPgTool } from './run-tool.js';

export interface RestoreOptions {
  url: string;
  dir: string;
  /** Rebuilds the schema for a copy-form backup (configured with this Recorder's migrations). */
  migrator: Migrator;
  storage?: MediaStorages;
  /** Put media copied by `backup --with-media` back into storage. */
  withMedia?: boolean;
  concurrency?: number;
  progress?: Progress;
}

export interface RestoreResult {
  manifest: BackupManifest;
  tables: { name: string; rows: number }[];
  mediaRestored: number;
}

async function ensureEmpty(repo: BackupRepository): Promise<void> {
  const { names, total } = await repo.userRelations(5);
  if (!total) return;
  throw new BackupError(
    'RESTORE_NOT_EMPTY',
    `restore goes into an empty database only; this one holds ${total} table(s)/sequence(s)/view(s) ` +
      `(${names.join(', ')}${total > names.length ? ', ...' : ''}). Nothing was changed. ` +
      'Create a new database and point DATABASE_URL at it (embedded PostgreSQL: use a new DATA_DIR).',
  );
}

async function restoreDump(manifest: BackupManifest, o: RestoreOptions, progress: Progress): Promise<void> {
  const dump = manifest.database.dump!;
  const tools = await pgToolsFor(dump.major);
  if (!tools)
    throw new BackupError(
      'RESTORE_NO_PG_RESTORE',
      `this backup is a pg_dump ${dump.major} archive: restoring it needs pg_restore ${dump.major} or newer ` +
        '(install the PostgreSQL client package of that version)',
    );
  progress.begin('pg_restore', manifest.database.tables.length, 'items');
  await runPgTool({
    binary: tools.restore,
    args: [
      '--exit-on-error',
      '--single-transaction',
      '--no-owner',
      '--no-privileges',
      `--dbname=${libpqEnv(o.url).PGDATABASE}`,
      '-v',
      path.join(o.dir, dump.file),
    ],
    url: o.url,
    stepPattern: /processing data for table "public\./,
    onStep: () => progress.advance(1),
  });
  progress.end();
}

/** The local migration files must be the ones the backup's database ran, no more and no fewer. */
async function checkMigrations(manifest: BackupManifest, migrator: Migrator): Promise<void> {
  const { schemaVersion, migrations } = manifest.database;
  const local = (await migrator.migrations()).filter((m) => m.version <= schemaVersion);
  const problems: string[] = [];
  const byVersion = new Map(local.map((m) => [m.version, m]));
  for (const m of migrations) {
    const file = byVersion.get(m.version);
    if (!file) problems.push(`version ${m.version} is not among this Recorder's migrations`);
    else if (file.up.checksum !== m.checksum) problems.push(`${file.up.file} differs from the one the backup ran`);
  }
  for (const m of local)
    if (!migrations.some((b) => b.version === m.version)) problems.push(`${m.up.file} was not applied in the backup`);
  if (problems.length)
    throw new BackupError(
      'RESTORE_SCHEMA_MISMATCH',
      `this backup's schema (version ${schemaVersion}) cannot be rebuilt from these migrations:\n  ` +
        `${problems.join('\n  ')}\nRestore it with the Recorder release that wrote it. Nothing was changed.`,
    );
}

function byteCounter(progress: Progress): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      progress.advance(chunk.length);
      cb(null, chunk);
    },
  });
}

async function loadTables(repo: BackupRepository, manifest: BackupManifest, o: RestoreOptions, progress: Progress) {
  const tables = manifest.database.tables;
  let bytes = 0;
  for (const t of tables) bytes += (await fsp.stat(path.join(o.dir, t.file!))).size;
  progress.begin('tables', bytes, 'bytes');
  const inCycles = await repo.tablesInCycles();
  for (const t of tables) {
    if (t.name === 'schema_migrations') await repo.clearMigrationHistory();
    const all = inCycles.has(t.name) && (await repo.trySetAllTriggers(t.name, false));
    if (!all) await repo.setUserTriggers(t.name, false);
    const table = { name: t.name, columns: t.columns! };
    await repo.copyTableIn(table, fs.createReadStream(path.join(o.dir, t.file!)), byteCounter(progress));
    if (all) await repo.trySetAllTriggers(t.name, true);
    else await repo.setUserTriggers(t.name, true);
  }
  for (const s of manifest.database.sequences ?? []) await repo.setSequence(s);
  progress.end();
}

async function compareCounts(repo: BackupRepository, manifest: BackupManifest) {
  const counted = [];
  const wrong: string[] = [];
  for (const t of manifest.database.tables) {
    const rows = await repo.rowCount(t.name);
    counted.push({ name: t.name, rows });
    if (rows !== t.rows) wrong.push(`${t.name}: ${rows} row(s), the backup has ${t.rows}`);
  }
  if (wrong.length)
    throw new BackupError('RESTORE_MISMATCH', `restored row counts differ from the backup's:\n  ${wrong.join('\n  ')}`);
  return counted;
}

async function restoreCopy(client: pg.Client, repo: BackupRepository, manifest: BackupManifest, o: RestoreOptions) {
  await checkMigrations(manifest, o.migrator);
  if (manifest.database.schemaVersion)
    await o.migrator.up({ to: manifest.database.schemaVersion }, { skipBackup: true });
  await client.query('BEGIN');
  try {
    await loadTables(repo, manifest, o, o.progress ?? silentProgress);
    const counted = await compareCounts(repo, manifest);
    await client.query('COMMIT');
    return counted;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function restoreFullBackup(o: RestoreOptions): Promise<RestoreResult> {
  const manifest = await readManifest(o.dir);
  const progress = o.progress ?? silentProgress;
  const client = new pg.Client({ connectionString: o.url, application_name: 'recorder-restore' });
  await client.connect();
  try {
    const repo = new BackupRepository(client);
    await ensureEmpty(repo);
    let tables: RestoreResult['tables'];
    if (manifest.database.form === 'pg_dump') {
      await restoreDump(manifest, o, progress);
      tables = await compareCounts(repo, manifest);
    } else tables = await restoreCopy(client, repo, manifest, o);
    let mediaRestored = 0;
    if (o.withMedia && o.storage)
      mediaRestored = await restoreMedia(manifest, o.dir, o.storage, { concurrency: o.concurrency ?? 4, progress });
    return { manifest, tables, mediaRestored };
  } finally {
    await client.end().catch(() => undefined);
  }
}
