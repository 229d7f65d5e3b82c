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

/** A recording's objects, or (versionId set) one of its rendered versions' objects, where its own row says. */
export interface MediaRow {
  recordingId: string;
  versionId: string | null;
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
    const edges = await this.foreignKeyEdges();
    return dependencyOrder(tables.rows, edges);
  }

  /** Tables that reference each other in a circle (recordings ↔ recording_versions): see loadTables. */
  async tablesInCycles(): Promise<Set<string>> {
    const edges = await this.foreignKeyEdges();
    const names = [...new Set(edges.flatMap((e) => [e.child, e.parent]))].map((name) => ({ name }));
    return new Set(stronglyConnected(names, edges).flatMap((group) => (group.length > 1 ? group : [])));
  }

  /** child → parent for every foreign key between two tables of the schema (a self-reference is no edge). */
  private async foreignKeyEdges(): Promise<{ child: string; parent: string }[]> {
    const { rows } = await this.client.query<{ child: string; parent: string }>(
      `SELECT DISTINCT ch.relname AS child, pa.relname AS parent
         FROM pg_constraint k
         JOIN pg_class ch ON ch.oid = k.conrelid
         JOIN pg_class pa ON pa.oid = k.confrelid
         JOIN pg_namespace n ON n.oid = ch.relnamespace
        WHERE k.contype = 'f' AND n.nspname = $1 AND ch.oid <> pa.oid`,
      [SCHEMA],
    );
    return rows;
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
      `SELECT id::text AS "recordingId", NULL AS "versionId", storage_provider AS provider, storage_bucket AS bucket,
              storage_key AS "storageKey", file_size::text AS "fileSize",
              metadata->>'thumbnail_key' AS "thumbnailKey"
         FROM recordings
        WHERE storage_key IS NOT NULL OR metadata->>'thumbnail_key' IS NOT NULL
        ORDER BY id`,
    );
    return rows;
  }

  /**
   * Every ready version's media and thumbnail (issue 12), each in the storage its own row names (the storage
   * migration moves a recording's versions with it; a version left elsewhere says so). Rendering and failed
   * versions have no finished object to keep.
   */
  async versionMediaRows(): Promise<MediaRow[]> {
    const { rows } = await this.client.query<MediaRow>(
      `SELECT recording_id::text AS "recordingId", id::text AS "versionId", storage_provider AS provider,
              storage_bucket AS bucket, storage_key AS "storageKey", file_size::text AS "fileSize",
              thumbnail_key AS "thumbnailKey"
         FROM recording_versions
        WHERE status = 'ready'
        ORDER BY recording_id, id`,
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

  /**
   * A table in a circle of foreign keys cannot be loaded before the others of its circle: its foreign-key
   * triggers are switched off too while it loads (the rows come from one consistent snapshot). That takes a
   * superuser (the embedded server's role); for another role it answers false and nothing changed.
   */
  async trySetAllTriggers(table: string, enabled: boolean): Promise<boolean> {
    await this.client.query('SAVEPOINT triggers');
    try {
      await this.client.query(`ALTER TABLE ${this.ident(table)} ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER ALL`);
      await this.client.query('RELEASE SAVEPOINT triggers');
      return true;
    } catch (err) {
      await this.client.query('ROLLBACK TO SAVEPOINT triggers');
      if ((err as { code?: string }).code === '42501') return false;
      throw err;
    }
  }

  /** The engine's rows from applying the migrations give way to the backup's own history. */
  async clearMigrationHistory(): Promise<void> {
    await this.client.query('DELETE FROM schema_migrations');
  }

  private columnList(table: CatalogTable): string {
    return table.columns.map((c) => this.client.escapeIdentifier(c)).join(', ');
  }
}

/**
 * Parents before children: the tables' strongly connected groups (a table alone, or tables referencing each
 * other in a circle) in Kahn's order over the groups, smallest name first among the ready ones; a circle's
 * tables stay together, by name. (Putting every table of or below a circle last by name loaded
 * recording_session_events before recording_sessions.)
 */
export function dependencyOrder<T extends { name: string }>(tables: T[], edges: { child: string; parent: string }[]) {
  const groups = stronglyConnected(tables, edges);
  const groupOf = new Map<string, number>();
  groups.forEach((group, index) => {
    for (const name of group) groupOf.set(name, index);
  });
  const parents = groups.map(() => new Set<number>());
  for (const e of edges) {
    const child = groupOf.get(e.child);
    const parent = groupOf.get(e.parent);
    if (child !== undefined && parent !== undefined && child !== parent) parents[child]!.add(parent);
  }
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<number>();
  const out: T[] = [];
  while (done.size < groups.length) {
    const ready = groups
      .map((group, index) => ({ group, index }))
      .filter(({ index }) => !done.has(index) && [...parents[index]!].every((p) => done.has(p)))
      .sort((a, b) => (a.group[0]! < b.group[0]! ? -1 : 1));
    const next = ready[0]!; // the groups form no circle, so one is always ready
    done.add(next.index);
    for (const name of next.group) out.push(byName.get(name)!);
  }
  return out;
}

/** Tarjan's strongly connected components; each component's names sorted. */
export function stronglyConnected(tables: { name: string }[], edges: { child: string; parent: string }[]) {
  const names = tables.map((t) => t.name).sort();
  const known = new Set(names);
  const next = new Map(names.map((name) => [name, [] as string[]]));
  for (const e of edges) if (known.has(e.child) && known.has(e.parent)) next.get(e.child)!.push(e.parent);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (name: string) => {
    index.set(name, index.size);
    low.set(name, index.get(name)!);
    stack.push(name);
    onStack.add(name);
    for (const to of next.get(name)!) {
      if (!index.has(to)) {
        visit(to);
        low.set(name, Math.min(low.get(name)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(name, Math.min(low.get(name)!, index.get(to)!));
    }
    if (low.get(name) !== index.get(name)) return;
    const group: string[] = [];
    for (let member = stack.pop()!; ; member = stack.pop()!) {
      onStack.delete(member);
      group.push(member);
      if (member === name) break;
    }
    groups.push(group.sort());
  };
  for (const name of names) if (!index.has(name)) visit(name);
  return groups;
}
