/**
 * All SQL of backups and restores. Every query runs on the one client the caller holds, so a backup
 * reads its tables, row counts, sequences and media keys in one snapshot. Table, column and sequence
 * names come from the catalogue (never from input) and are quoted with escapeIdentifier.
 */
import { pipeline } from 'node:stream/promises';
import fs from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';

export interface CatalogTable {
  name: string;
  /** Columns a COPY writes and reads: generated columns are left out (PostgreSQL computes them). */
  columns: string[];
}

export interface SequenceState {
  name: string;
  lastValue: string;
  isCalled: boolean;
}

export interface MediaRow {
  recordingId: string;
  provider: string;
  bucket: string | null;
  storageKey: string | null;
  fileSize: string | null;
  thumbnailKey: string | null;
}

const SCHEMA = 'public';

export class BackupRepository {
  constructor(private readonly client: pg.ClientBase) {}

  private ident(name: string): string {
    return `${this.client.escapeIdentifier(SCHEMA)}.${this.client.escapeIdentifier(name)}`;
  }

  /** One snapshot for everything the backup reads; read only, so it never blocks writers. */
  async beginSnapshot(): Promise<void> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  /** For pg_dump --snapshot: the dump then sees exactly what this transaction sees. */
  async exportSnapshot(): Promise<string> {
    const { rows } = await this.client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    return rows[0]!.id;
  }

  async serverVersion(): Promise<{ text: string; major: number }> {
    const { rows } = await this.client.query<{ num: string; text: string }>(
      `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text`,
    );
    return { text: rows[0]!.text, major: Math.floor(Number(rows[0]!.num) / 10000) };
  }

  /** Tables of the public schema, parents before children (foreign keys), then by name. */
  async tablesInDependencyOrder(): Promise<CatalogTable[]> {
    const tables = await this.client.query<{ name: string; columns: string[] }>(
      `SELECT c.relname AS name,
              array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnum > 0) AS columns
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped AND a.attgenerated = ''
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        GROUP BY c.relname ORDER BY c.relname`,
      [SCHEMA],
    );
    const edges = await this.client.query<{ child: string; parent: string }>(
      `SELECT DISTINCT ch.relname AS child, pa.relname AS parent
         FROM pg_constraint k
         JOIN pg_class ch ON ch.oid = k.conrelid
         JOIN pg_class pa ON pa.oid = k.confrelid
         JOIN pg_namespace n ON n.oid = ch.relnamespace
        WHERE k.contype = 'f' AND n.nspname = $1 AND ch.oid <> pa.oid`,
      [SCHEMA],
    );
    return dependencyOrder(tables.rows, edges.rows);
  }

  async rowCount(table: string): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.ident(table)}`);
    return Number(rows[0]!.n);
  }

  /** Sequences of the public schema with where they stand (identity sequences included). */
  async sequences(): Promise<SequenceState[]> {
    const { rows } = await this.client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname`,
      [SCHEMA],
    );
    const out: SequenceState[] = [];
    for (const { name } of rows) {
      const state = await this.client.query<{ last_value: string; is_called: boolean }>(
        `SELECT last_value::text, is_called FROM ${this.ident(name)}`,
      );
      out.push({ name, lastValue: state.rows[0]!.last_value, isCalled: state.rows[0]!.is_called });
    }
    return out;
  }

  async setSequence(state: SequenceState): Promise<void> {
    await this.client.query('SELECT setval($1::regclass, $2::bigint, $3)', [
      this.ident(state.name),
      state.lastValue,
      state.isCalled,
    ]);
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.client.query<{ t: string | null }>(
      `SELECT to_regclass('public.schema_migrations')::text AS t`,
    );
    if (!rows[0]?.t) return 0;
    const max = await this.client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return max.rows[0]?.v ?? 0;
  }

  async migrationChecksums(): Promise<{ version: number; checksum: string }[]> {
    const { rows } = await this.client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    return rows;
  }

  /** Relations in any user schema (our tables first): a restore goes only into a database that has none. */
  async userRelations(limit: number): Promise<{ names: string[]; total: number }> {
    const { rows } = await this.client.query<{ name: string; total: string }>(
      `SELECT n.nspname || '.' || c.relname AS name, count(*) OVER () AS total
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
        ORDER BY n.nspname <> 'public', c.relkind <> 'r', 1 LIMIT $1`,
      [limit],
    );
    return { names: rows.map((r) => r.name), total: Number(rows[0]?.total ?? 0) };
  }

  /** Every recording that has media or a thumbnail, by id. */
  async mediaRows(): Promise<MediaRow[]> {
    const { rows } = await this.client.query<MediaRow>(
      `SELECT id::text AS "recordingId", storage_provider AS provider, storage_bucket AS bucket,
              storage_key AS "storageKey", file_size::text AS "fileSize",
              metadata->>'thumbnail_key' AS "thumbnailKey"
         FROM recordings
        WHERE storage_key IS NOT NULL OR metadata->>'thumbnail_key' IS NOT NULL
        ORDER BY id`,
    );
    return rows;
  }

  async copyTableOut(table: CatalogTable, file: string): Promise<void> {
    const sql = `COPY ${this.ident(table.name)} (${this.columnList(table)}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
    await pipeline(this.client.query(copyStreams.to(sql)), fs.createWriteStream(file, { mode: 0o600 }));
  }

  /** Loads a CSV written by copyTableOut; `through` sees the bytes on their way (progress). */
  async copyTableIn(table: CatalogTable, source: Readable, through: Transform): Promise<void> {
    const sql = `COPY ${this.ident(table.name)} (${this.columnList(table)}) FROM STDIN WITH (FORMAT csv, HEADER true)`;
    await pipeline(source, through, this.client.query(copyStreams.from(sql)));
  }

  /** Restored rows are not edits: user triggers (updated_at, deletion outbox) stay quiet while loading. */
  async setUserTriggers(table: string, enabled: boolean): Promise<void> {
    await this.client.query(`ALTER TABLE ${this.ident(table)} ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER USER`);
  }

  /** The engine's rows from applying the migrations give way to the backup's own history. */
  async clearMigrationHistory(): Promise<void> {
    await this.client.query('DELETE FROM schema_migrations');
  }

  private columnList(table: CatalogTable): string {
    return table.columns.map((c) => this.client.escapeIdentifier(c)).join(', ');
  }
}

/** Kahn's algorithm, smallest name first among the ready ones; tables in a cycle go last, by name. */
export function dependencyOrder<T extends { name: string }>(tables: T[], edges: { child: string; parent: string }[]) {
  const names = new Set(tables.map((t) => t.name));
  const parents = new Map(tables.map((t) => [t.name, new Set<string>()]));
  for (const e of edges) if (names.has(e.child) && names.has(e.parent)) parents.get(e.child)!.add(e.parent);
  const done = new Set<string>();
  const out: T[] = [];
  for (;;) {
    const ready = tables.filter((t) => !done.has(t.name) && [...parents.get(t.name)!].every((p) => done.has(p)));
    if (!ready.length) break;
    const next = ready[0]!;
    done.add(next.name);
    out.push(next);
  }
  return [...out, ...tables.filter((t) => !done.has(t.name))];
}
