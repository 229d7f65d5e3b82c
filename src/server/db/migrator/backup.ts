/**
 * Backups written before a forced rollback destroys data, and their restore.
 * Whole tables: pg_dump (custom format, data only) when a pg_dump at least as new as the server is on
 * PATH, else COPY to CSV. Dropped columns: always COPY (primary key + column) to CSV.
 * A backup directory holds manifest.json plus one file per table or column.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { BACKFILL_TABLE } from '../backfill/backfill.repository.js';
import { MigrationError, type DataAtRisk } from './errors.js';
import { destructiveTargets } from './sql.js';

const execFileAsync = promisify(execFile);

export interface ResolvedTarget {
  /** schema-qualified, quoted: safe to splice into SQL. */
  qualified: string;
  /** schema.table as the user reads it. */
  display: string;
  column?: string;
  rows: number;
}

export interface BackupEntry {
  table: string;
  qualified: string;
  column?: string;
  keyColumns?: string[];
  rows: number;
  format: 'pg_dump' | 'csv';
  file: string;
}

export interface BackupManifest {
  createdAt: string;
  reason: string;
  entries: BackupEntry[];
}

/** Resolves the tables/columns the statements destroy and counts the rows that hold data. */
export async function dataAtRisk(client: pg.Client, statements: string[]): Promise<ResolvedTarget[]> {
  const out: ResolvedTarget[] = [];
  const seen = new Set<string>();
  for (const stmt of statements) {
    const { tables, columns } = destructiveTargets(stmt);
    const items = [
      ...tables.map((t) => ({ table: t, column: undefined as string | undefined })),
      ...columns.map((c) => ({ table: c.table, column: c.column })),
    ];
    for (const item of items) {
      const { rows } = await client.query<{ nsp: string; rel: string }>(
        `SELECT n.nspname AS nsp, c.relname AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')`,
        [item.table],
      );
      const rel = rows[0];
      // Bookkeeping, not data: where a backfill stood (a backfill run again finds nothing left to fill).
      if (!rel || (!item.column && rel.nsp === 'public' && rel.rel === BACKFILL_TABLE)) continue;
      const qualified = `${client.escapeIdentifier(rel.nsp)}.${client.escapeIdentifier(rel.rel)}`;
      const key = `${qualified}:${item.column ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (item.column) {
        const exists = await client.query(
          'SELECT 1 FROM pg_attribute ' +
            'WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped AND attnum > 0',
          [qualified, item.column],
        );
        if (exists.rowCount === 0) continue;
      }
      const count = await client.query<{ n: string }>(
        item.column
          ? `SELECT count(*) AS n FROM ${qualified} WHERE ${client.escapeIdentifier(item.column)} IS NOT NULL`
          : `SELECT count(*) AS n FROM ${qualified}`,
      );
      const n = Number(count.rows[0]!.n);
      if (n > 0) out.push({ qualified, display: `${rel.nsp}.${rel.rel}`, column: item.column, rows: n });
    }
  }
  return out;
}

export function toRisk(targets: ResolvedTarget[]): DataAtRisk[] {
  return targets.map((t) => ({ table: t.display, column: t.column, rows: t.rows }));
}

async function serverMajor(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Math.floor(Number(rows[0]!.v) / 10000);
}

/** A pg_dump/pg_restore pair new enough for this server, or undefined. */
async function dumpTools(client: pg.Client): Promise<{ dump: string; restore: string } | undefined> {
  try {
    const { stdout } = await execFileAsync('pg_dump', ['--version']);
    const major = Number(/(\d+)(?:\.\d+)?/.exec(stdout)?.[1]);
    await execFileAsync('pg_restore', ['--version']);
    return major >= (await serverMajor(client)) ? { dump: 'pg_dump', restore: 'pg_restore' } : undefined;
  } catch {
    return undefined;
  }
}

/** libpq settings in the environment, so the password never shows in a process listing. */
function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
}

async function primaryKey(client: pg.Client, qualified: string): Promise<string[]> {
  const { rows } = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [qualified],
  );
  return rows.map((r) => r.attname);
}

async function copyOut(client: pg.Client, sql: string, file: string): Promise<void> {
  await pipeline(client.query(copyStreams.to(sql)), fs.createWriteStream(file, { mode: 0o600 }));
}

export interface BackupOptions {
  /** Skip pg_dump even when one is available (tests of the COPY path). */
  forceCopy?: boolean;
}

/** Writes every at-risk table/column into a new directory under backupRoot and returns its path. */
export async function writeBackup(
  client: pg.Client,
  url: string,
  backupRoot: string,
  reason: string,
  targets: ResolvedTarget[],
  opts: BackupOptions = {},
): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(backupRoot, `${stamp}-${reason.replace(/[^\w.-]+/g, '_')}`);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tools = opts.forceCopy ? undefined : await dumpTools(client);
  const entries: BackupEntry[] = [];
  for (const [i, t] of targets.entries()) {
    const base = `${String(i + 1).padStart(2, '0')}-${t.display}${t.column ? `.${t.column}` : ''}`;
    if (t.column) {
      const keyColumns = await primaryKey(client, t.qualified);
      if (keyColumns.length === 0)
        throw new MigrationError(
          'BACKUP_FAILED',
          `${t.display} has no primary key: cannot back up column ${t.column} restorably`,
        );
      const cols = [...keyColumns, t.column].map((c) => client.escapeIdentifier(c)).join(', ');
      const file = `${base}.csv`;
      await copyOut(
        client,
        `COPY (SELECT ${cols} FROM ${t.qualified} WHERE ${client.escapeIdentifier(t.column)} IS NOT NULL) ` +
          'TO STDOUT WITH (FORMAT csv, HEADER true)',
        path.join(dir, file),
      );
      entries.push({
        table: t.display,
        qualified: t.qualified,
        column: t.column,
        keyColumns,
        rows: t.rows,
        format: 'csv',
        file,
      });
    } else if (tools) {
      const file = `${base}.dump`;
      await execFileAsync(
        tools.dump,
        ['--data-only', '--format=custom', `--table=${t.qualified}`, `--file=${path.join(dir, file)}`],
        {
          env: libpqEnv(url),
        },
      );
      entries.push({ table: t.display, qualified: t.qualified, rows: t.rows, format: 'pg_dump', file });
    } else {
      const file = `${base}.csv`;
      await copyOut(client, `COPY ${t.qualified} TO STDOUT WITH (FORMAT csv, HEADER true)`, path.join(dir, file));
      entries.push({ table: t.display, qualified: t.qualified, rows: t.rows, format: 'csv', file });
    }
  }
  const manifest: BackupManifest = { createdAt: new Date().toISOString(), reason, entries };
  await fsp.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2), { mode: 0o600 });
  return dir;
}

async function copyIn(client: pg.Client, sql: string, file: string): Promise<void> {
  await pipeline(fs.createReadStream(file), client.query(copyStreams.from(sql)));
}

async function csvHeader(file: string): Promise<string[]> {
  const fh = await fsp.open(file);
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const line = buf.subarray(0, bytesRead).toString('utf8').split('\n', 1)[0]!;
    return line.split(',').map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c));
  } finally {
    await fh.close();
  }
}

/** Brings identity sequences past the restored ids, so new rows do not collide with them. */
async function resetIdentities(client: pg.Client, qualified: string): Promise<void> {
  const { rows } = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attidentity <> '' AND NOT attisdropped`,
    [qualified],
  );
  for (const { attname } of rows) {
    const col = client.escapeIdentifier(attname);
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), max(${col})) FROM ${qualified} HAVING max(${col}) IS NOT NULL`,
      [qualified, attname],
    );
  }
}

/**
 * Loads a backup back, after the schema it came from has been migrated up again. Tables are restored
 * in the reverse of the order they were dropped (parents first); all or nothing, in one transaction
 * for the COPY parts.
 */
export async function restoreBackup(client: pg.Client, url: string, dir: string): Promise<BackupEntry[]> {
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  const entries = [...manifest.entries].reverse();
  const tables = entries.filter((e) => !e.column);
  const columns = entries.filter((e) => e.column);
  await client.query('BEGIN');
  try {
    for (const e of tables) {
      const file = path.join(dir, e.file);
      if (e.format === 'pg_dump') {
        await client.query('COMMIT'); // pg_restore uses its own connection: earlier tables must be visible
        await execFileAsync(
          'pg_restore',
          ['--data-only', '--single-transaction', `--dbname=${libpqEnv(url).PGDATABASE}`, file],
          { env: libpqEnv(url) },
        );
        await client.query('BEGIN');
      } else {
        const cols = (await csvHeader(file)).map((c) => client.escapeIdentifier(c)).join(', ');
        await copyIn(client, `COPY ${e.qualified} (${cols}) FROM STDIN WITH (FORMAT csv, HEADER true)`, file);
      }
      await resetIdentities(client, e.qualified);
    }
    for (const e of columns) {
      const keys = e.keyColumns!.map((c) => client.escapeIdentifier(c));
      const col = client.escapeIdentifier(e.column!);
      await client.query(
        'CREATE TEMP TABLE restore_col ON COMMIT DROP AS ' +
          `SELECT ${[...keys, col].join(', ')} FROM ${e.qualified} WITH NO DATA`,
      );
      await copyIn(client, `COPY restore_col FROM STDIN WITH (FORMAT csv, HEADER true)`, path.join(dir, e.file));
      const match = keys.map((k) => `t.${k} = r.${k}`).join(' AND ');
      // Restoring a value is not an edit: user triggers (e.g. updated_at) stay quiet meanwhile.
      await client.query(`ALTER TABLE ${e.qualified} DISABLE TRIGGER USER`);
      await client.query(`UPDATE ${e.qualified} t SET ${col} = r.${col} FROM restore_col r WHERE ${match}`);
      await client.query(`ALTER TABLE ${e.qualified} ENABLE TRIGGER USER`);
      await client.query('DROP TABLE restore_col');
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return manifest.entries;
}
