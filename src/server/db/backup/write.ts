/**
 * `recorder backup`: the whole database plus a media manifest, in one new directory.
 * - pg_dump form (a pg_dump at least as new as the server is installed): one custom-format archive of
 *   the whole database (every schema, the job queue's included), taken in the same snapshot as the row
 *   counts and media keys (pg_dump --snapshot).
 * - copy form (no such pg_dump, e.g. the embedded PostgreSQL 18 beside Debian's pg_dump 15): every table
 *   of `public` as CSV in dependency order, schema_migrations included, plus where every sequence stands;
 *   a restore rebuilds the schema by applying the same migrations. All read in one snapshot.
 * Media are read after the snapshot ends: hashing a large store must not hold back vacuum for hours.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { BackupRepository, type CatalogTable } from './backup.repository.js';
import {
  BackupError,
  silentProgress,
  writeManifest,
  type BackupManifest,
  type DatabasePart,
  type Progress,
  type TableEntry,
} from './manifest.js';
import { buildMediaPart, type MediaStorages } from './media.js';
import { installedPgTools, pgToolsFor, type PgTools } from './pg-tools.js';
import { runPgTool } from './run-tool.js';

export type BackupForm = 'auto' | 'pg_dump' | 'copy';

export interface FullBackupOptions {
  url: string;
  /** Every configured storage: each recording's media is read where its row says. */
  storage: MediaStorages;
  /** Created; must not exist yet, or be empty. */
  dir: string;
  reason: string;
  form?: BackupForm;
  /** Read every media object for its size and sha256 (default true). */
  hashMedia?: boolean;
  /** Copy media bytes into the backup too. */
  withMedia?: boolean;
  /** Objects read at once (default 4). */
  concurrency?: number;
  progress?: Progress;
}

/** DATA_DIR/backups/<time>[-<slug>], the time sortable and safe in a file name. */
export function defaultBackupDir(dataDir: string, slug?: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(dataDir, 'backups', slug ? `${stamp}-${slug.replace(/[^\w.-]+/g, '_')}` : stamp);
}

async function createEmptyDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await fsp.readdir(dir)).length)
    throw new BackupError('BACKUP_DIR_NOT_EMPTY', `${dir} is not empty: give a new directory (--to DIR)`);
}

async function chooseTools(form: BackupForm, serverMajor: number): Promise<PgTools | undefined> {
  if (form === 'copy') return undefined;
  const tools = await pgToolsFor(serverMajor);
  if (!tools && form === 'pg_dump') {
    const found = (await installedPgTools()).map((t) => `${t.dump} (${t.major})`).join(', ') || 'none';
    throw new BackupError(
      'BACKUP_NO_PG_DUMP',
      `--format pg_dump needs a pg_dump of major version ${serverMajor} or newer (found: ${found}); ` +
        'install it, or use --format copy',
    );
  }
  return tools;
}

async function countRows(repo: BackupRepository, tables: CatalogTable[]): Promise<TableEntry[]> {
  const out: TableEntry[] = [];
  for (const t of tables) out.push({ name: t.name, rows: await repo.rowCount(t.name) });
  return out;
}

async function copyTables(repo: BackupRepository, tables: CatalogTable[], entries: TableEntry[], o: Ctx) {
  o.progress.begin(
    'tables',
    entries.reduce((sum, e) => sum + e.rows, 0),
    'items',
  );
  await fsp.mkdir(path.join(o.dir, 'data'), { mode: 0o700 });
  for (const [i, table] of tables.entries()) {
    const file = path.join('data', `${String(i + 1).padStart(3, '0')}-${table.name}.csv`);
    await repo.copyTableOut(table, path.join(o.dir, file));
    Object.assign(entries[i]!, { file, columns: table.columns });
    o.progress.advance(entries[i]!.rows);
  }
  o.progress.end();
}

async function dumpDatabase(repo: BackupRepository, tools: PgTools, tableCount: number, o: Ctx) {
  const file = 'database.dump';
  o.progress.begin('pg_dump', tableCount, 'items');
  await runPgTool({
    binary: tools.dump,
    args: ['--format=custom', `--snapshot=${await repo.exportSnapshot()}`, `--file=${path.join(o.dir, file)}`, '-v'],
    url: o.url,
    stepPattern: /dumping contents of table "public\./,
    onStep: () => o.progress.advance(1),
  });
  o.progress.end();
  return { file, pgDumpVersion: tools.version, major: tools.major };
}

interface Ctx {
  dir: string;
  url: string;
  progress: Progress;
}

/** Writes the backup; returns its directory and manifest. A failed backup leaves no directory behind. */
export async function writeFullBackup(opts: FullBackupOptions): Promise<{ dir: string; manifest: BackupManifest }> {
  const ctx: Ctx = { dir: path.resolve(opts.dir), url: opts.url, progress: opts.progress ?? silentProgress };
  await createEmptyDir(ctx.dir);
  const client = new pg.Client({ connectionString: opts.url, application_name: 'recorder-backup' });
  try {
    await client.connect();
    const repo = new BackupRepository(client);
    await repo.beginSnapshot();
    const server = await repo.serverVersion();
    const tools = await chooseTools(opts.form ?? 'auto', server.major);
    const tables = await repo.tablesInDependencyOrder();
    const entries = await countRows(repo, tables);
    const schemaVersion = await repo.schemaVersion();
    const database: DatabasePart = {
      form: tools ? 'pg_dump' : 'copy',
      serverVersion: server.text,
      schemaVersion,
      migrations: schemaVersion ? await repo.migrationChecksums() : [],
      tables: entries,
    };
    if (tools) database.dump = await dumpDatabase(repo, tools, tables.length, ctx);
    else {
      await copyTables(repo, tables, entries, ctx);
      database.sequences = await repo.sequences();
    }
    const has = (name: string) => tables.some((t) => t.name === name);
    // a backup before migration 0024 has no recording_versions
    const mediaRows = [
      ...(has('recordings') ? await repo.mediaRows() : []),
      ...(has('recording_versions') ? await repo.versionMediaRows() : []),
    ];
    await client.query('COMMIT');
    const media = await buildMediaPart(mediaRows, opts.storage, {
      hash: opts.hashMedia ?? true,
      copyInto: opts.withMedia ? ctx.dir : undefined,
      concurrency: opts.concurrency ?? 4,
      progress: ctx.progress,
    });
    const manifest: BackupManifest = {
      format: 'recorder-backup/1',
      createdAt: new Date().toISOString(),
      reason: opts.reason,
      database,
      media,
    };
    await writeManifest(ctx.dir, manifest);
    return { dir: ctx.dir, manifest };
  } catch (err) {
    await fsp.rm(ctx.dir, { recursive: true, force: true });
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}
