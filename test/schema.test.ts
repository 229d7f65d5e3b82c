/**
 * Schema conformance: after `up`, the catalog holds exactly the tables, columns, checks, indexes,
 * foreign keys and triggers of the spec (../shared/spec/recorder-migration-gaps.md), with our
 * documented deviations from its sketch: bigint identity ids, timestamptz, text for VARCHAR, NOT NULL
 * on quality/status/created_at/updated_at/applied_at, the status check named chk_recording_status,
 * extra checks on users/projects/sessions, and no idx_recordings_user_id / idx_sessions_user_id
 * (left prefixes of the composite user_id indexes).
 *
 * Every expectation is a complete, ordered list, so a column, constraint or index that is added,
 * dropped, renamed or changed fails here until this file says so.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

const PHASE1_TABLES = ['users', 'projects', 'recordings', 'recording_sessions', 'recording_edits'] as const;
type Table = (typeof PHASE1_TABLES)[number];

// ---------------------------------------------------------------------------------------------
// Columns: name, format_type, NOT NULL, default expression (pg_get_expr), identity ('d' = BY DEFAULT).
// ---------------------------------------------------------------------------------------------
interface Column {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  identity: '' | 'a' | 'd';
}

const col = (name: string, type: string, notNull: boolean, dflt: string | null = null, identity: Column['identity'] = ''): Column => ({
  name,
  type,
  notNull,
  default: dflt,
  identity,
});
const TZ = 'timestamp with time zone';
const ID = col('id', 'bigint', true, null, 'd');

const COLUMNS: Record<Table, Column[]> = {
  users: [col('id', 'text', true), col('email', 'text', true), col('display_name', 'text', true), col('created_at', TZ, true, 'now()')],
  projects: [ID, col('owner_id', 'text', true), col('name', 'text', true), col('created_at', TZ, true, 'now()'), col('updated_at', TZ, true, 'now()')],
  recordings: [
    ID,
    col('user_id', 'text', true),
    col('project_id', 'bigint', false),
    col('title', 'text', true),
    col('description', 'text', false),
    col('recording_type', 'text', true),
    col('duration', 'integer', true),
    col('file_size', 'bigint', false),
    col('mime_type', 'text', false),
    col('storage_url', 'text', false),
    col('thumbnail_url', 'text', false),
    col('quality', 'text', true, "'high'::text"),
    col('status', 'text', true, "'completed'::text"),
    col('metadata', 'jsonb', false),
    col('created_at', TZ, true, 'now()'),
    col('updated_at', TZ, true, 'now()'),
  ],
  recording_sessions: [
    ID,
    col('user_id', 'text', true),
    col('recording_type', 'text', true),
    col('started_at', TZ, true),
    col('ended_at', TZ, false),
    col('duration', 'integer', false),
    col('device_info', 'jsonb', false),
    col('settings', 'jsonb', false),
    col('status', 'text', true, "'active'::text"),
    col('error_message', 'text', false),
    col('created_at', TZ, true, 'now()'),
  ],
  recording_edits: [
    ID,
    col('recording_id', 'bigint', true),
    col('edit_type', 'text', true),
    col('parameters', 'jsonb', true),
    col('applied_at', TZ, true, 'now()'),
    col('undo_data', 'jsonb', false),
  ],
};

// ---------------------------------------------------------------------------------------------
// CHECK constraints: name -> pg_get_constraintdef. The spec's names plus ours.
// ---------------------------------------------------------------------------------------------
const inList = (column: string, values: string[]) => `CHECK ((${column} = ANY (ARRAY[${values.map((v) => `'${v}'::text`).join(', ')}])))`;
const RECORDING_TYPES = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'];

const CHECKS: Record<Table, Record<string, string>> = {
  users: {
    chk_user_id: "CHECK ((id ~ '^[A-Za-z0-9_-]{1,64}$'::text))",
    chk_user_email: "CHECK (((length(email) <= 320) AND (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text)))",
    chk_user_display_name: 'CHECK (((length(display_name) >= 1) AND (length(display_name) <= 200)))',
  },
  projects: {
    chk_project_name: 'CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200)))',
  },
  recordings: {
    chk_recording_type: inList('recording_type', RECORDING_TYPES),
    chk_quality: inList('quality', ['high', 'medium', 'low']),
    chk_recording_status: inList('status', ['processing', 'completed', 'failed']),
    chk_duration_positive: 'CHECK ((duration > 0))',
    chk_file_size_positive: 'CHECK ((file_size > 0))',
  },
  recording_sessions: {
    chk_session_status: inList('status', ['active', 'completed', 'interrupted']),
    chk_session_recording_type: inList('recording_type', RECORDING_TYPES),
    chk_session_duration: 'CHECK ((duration >= 0))',
    chk_session_ended_after_started: 'CHECK ((ended_at >= started_at))',
  },
  recording_edits: {
    chk_edit_type: inList('edit_type', ['trim', 'crop', 'filter', 'text_overlay', 'audio']),
  },
};

// ---------------------------------------------------------------------------------------------
// Indexes: name -> key columns (with DESC), unique, primary.
// ---------------------------------------------------------------------------------------------
interface Index {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
}
const idx = (name: string, columns: string[], unique = false, primary = false): Index => ({ name, columns, unique, primary });
const pkey = (table: Table) => idx(`${table}_pkey`, ['id'], true, true);

const INDEXES: Record<Table, Index[]> = {
  users: [pkey('users'), idx('idx_users_email_lower', ['lower(email)'], true)],
  projects: [pkey('projects'), idx('idx_projects_owner_id', ['owner_id'])],
  recordings: [
    pkey('recordings'),
    idx('idx_recordings_project_id', ['project_id']),
    idx('idx_recordings_created_at', ['created_at DESC']),
    idx('idx_recordings_type', ['recording_type']),
    idx('idx_recordings_user_created', ['user_id', 'created_at DESC']),
    idx('idx_recordings_user_type', ['user_id', 'recording_type']),
  ],
  recording_sessions: [
    pkey('recording_sessions'),
    idx('idx_sessions_started_at', ['started_at DESC']),
    idx('idx_sessions_user_started', ['user_id', 'started_at DESC']),
  ],
  recording_edits: [
    pkey('recording_edits'),
    idx('idx_edits_recording_id', ['recording_id']),
    idx('idx_edits_type', ['edit_type']),
    idx('idx_edits_applied_at', ['applied_at DESC']),
  ],
};

// ---------------------------------------------------------------------------------------------
// Foreign keys: all ON DELETE CASCADE, ON UPDATE NO ACTION, MATCH SIMPLE, not deferrable, validated.
// ---------------------------------------------------------------------------------------------
interface ForeignKey {
  name: string;
  table: Table;
  columns: string[];
  refTable: Table;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
  match: string;
  deferrable: boolean;
  validated: boolean;
}
const fk = (name: string, table: Table, column: string, refTable: Table): ForeignKey => ({
  name,
  table,
  columns: [column],
  refTable,
  refColumns: ['id'],
  onDelete: 'c',
  onUpdate: 'a',
  match: 's',
  deferrable: false,
  validated: true,
});

const FOREIGN_KEYS: ForeignKey[] = [
  fk('fk_edits_recording', 'recording_edits', 'recording_id', 'recordings'),
  fk('fk_projects_owner', 'projects', 'owner_id', 'users'),
  fk('fk_recordings_project', 'recordings', 'project_id', 'projects'),
  fk('fk_recordings_user', 'recordings', 'user_id', 'users'),
  fk('fk_sessions_user', 'recording_sessions', 'user_id', 'users'),
];

describe.each(pgTargets())('Phase 1 schema conforms to the spec on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up();
    c = await connect(db.url);
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('up creates exactly the Phase 1 tables (plus schema_migrations), as ordinary tables', async () => {
    const { rows } = await c.query<{ name: string; kind: string }>(
      `SELECT c.relname AS name, c.relkind::text AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY 1`,
    );
    expect(rows).toEqual(
      ['projects', 'recording_edits', 'recording_sessions', 'recordings', 'schema_migrations', 'users'].map((name) => ({ name, kind: 'r' })),
    );
  });

  it('schema_migrations records every migration file as applied', async () => {
    const files = await migrator(db.url).migrations();
    const { rows } = await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(PHASE1_TABLES)('%s has exactly the expected columns, types, defaults and nullability', async (table) => {
    const { rows } = await c.query<Column>(
      `SELECT a.attname AS name,
              format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS "notNull",
              pg_get_expr(d.adbin, d.adrelid) AS default,
              a.attidentity::text AS identity
         FROM pg_attribute a
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [`public.${table}`],
    );
    expect(rows).toEqual(COLUMNS[table]);
  });

  it('no column is generated, uses a varchar/timestamp-without-time-zone/int4 id, or has a collation override', async () => {
    // The documented deviations: text not VARCHAR, timestamptz not TIMESTAMP, bigint ids not SERIAL.
    const { rows } = await c.query<{ t: string; column: string; type: string }>(
      `SELECT c.table_name AS t, c.column_name AS column, c.data_type AS type
         FROM information_schema.columns c
        WHERE c.table_schema = 'public' AND c.table_name = ANY ($1::text[])
          AND (c.data_type IN ('character varying', 'character', 'timestamp without time zone')
               OR (c.column_name = 'id' AND c.data_type <> 'bigint' AND c.table_name <> 'users')
               OR c.is_generated <> 'NEVER' OR c.collation_name IS NOT NULL)`,
      [PHASE1_TABLES],
    );
    expect(rows).toEqual([]);
  });

  it.each(PHASE1_TABLES)('%s has exactly the expected CHECK constraints, validated, by name and definition', async (table) => {
    const { rows } = await c.query<{ name: string; def: string; validated: boolean }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS def, convalidated AS validated
         FROM pg_constraint
        WHERE conrelid = to_regclass($1) AND contype = 'c'
        ORDER BY conname`,
      [`public.${table}`],
    );
    const expected = Object.entries(CHECKS[table])
      .map(([name, def]) => ({ name, def, validated: true }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it('every CHECK is declared exactly once: no two checks on a table share an expression (the sketch repeated them)', async () => {
    const { rows } = await c.query<{ t: string; def: string; names: string[] }>(
      `SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def, array_agg(conname::text ORDER BY conname) AS names
         FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND contype = 'c'
        GROUP BY conrelid, pg_get_constraintdef(oid)
       HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
    // And each of the spec's names is one constraint, on the table the spec puts it on.
    const spec = ['chk_recording_type', 'chk_quality', 'chk_recording_status', 'chk_duration_positive', 'chk_file_size_positive', 'chk_session_status', 'chk_edit_type'];
    const { rows: named } = await c.query<{ name: string; t: string }>(
      `SELECT conname AS name, conrelid::regclass::text AS t FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND conname = ANY ($1::text[]) ORDER BY conname`,
      [spec],
    );
    expect(named).toEqual(
      [
        { name: 'chk_duration_positive', t: 'recordings' },
        { name: 'chk_edit_type', t: 'recording_edits' },
        { name: 'chk_file_size_positive', t: 'recordings' },
        { name: 'chk_quality', t: 'recordings' },
        { name: 'chk_recording_status', t: 'recordings' },
        { name: 'chk_recording_type', t: 'recordings' },
        { name: 'chk_session_status', t: 'recording_sessions' },
      ],
    );
  });

  it('the only constraints are the primary keys, the named checks and the named foreign keys', async () => {
    // NOT NULL is excluded: PostgreSQL 18 records it in pg_constraint (contype 'n'), 15 does not.
    const { rows } = await c.query<{ t: string; name: string; type: string }>(
      `SELECT conrelid::regclass::text AS t, conname AS name, contype::text AS type
         FROM pg_constraint
        WHERE conrelid = ANY (SELECT to_regclass('public.' || t) FROM unnest($1::text[]) t) AND contype <> 'n'
        ORDER BY 1, 3, 2`,
      [PHASE1_TABLES],
    );
    const expected = PHASE1_TABLES.flatMap((t) => [
      ...Object.keys(CHECKS[t]).map((name) => ({ t, name, type: 'c' })),
      ...FOREIGN_KEYS.filter((f) => f.table === t).map((f) => ({ t, name: f.name, type: 'f' })),
      { t, name: `${t}_pkey`, type: 'p' },
    ]).sort((a, b) => (a.t !== b.t ? (a.t < b.t ? -1 : 1) : a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.name < b.name ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it.each(PHASE1_TABLES)('%s has exactly the expected btree indexes, columns in order with DESC, all valid and ready', async (table) => {
    const { rows } = await c.query<{
      name: string;
      columns: string[];
      unique: boolean;
      primary: boolean;
      method: string;
      partial: boolean;
      valid: boolean;
      ready: boolean;
      live: boolean;
    }>(
      `SELECT ic.relname AS name,
              ARRAY(
                SELECT pg_get_indexdef(i.indexrelid, k, true)
                       || CASE
                            WHEN k > i.indnkeyatts THEN ' INCLUDE'
                            WHEN i.indoption[k - 1] = 3 THEN ' DESC'
                            WHEN i.indoption[k - 1] = 0 THEN ''
                            ELSE ' indoption=' || i.indoption[k - 1]
                          END
                  FROM generate_series(1, i.indnatts) k ORDER BY k
              )::text[] AS columns,
              i.indisunique AS unique, i.indisprimary AS primary, am.amname::text AS method,
              i.indpred IS NOT NULL AS partial, i.indisvalid AS valid, i.indisready AS ready, i.indislive AS live
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_am am ON am.oid = ic.relam
        WHERE i.indrelid = to_regclass($1)
        ORDER BY ic.relname`,
      [`public.${table}`],
    );
    const expected = [...INDEXES[table]]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((x) => ({ ...x, method: 'btree', partial: false, valid: true, ready: true, live: true }));
    expect(rows).toEqual(expected);
  });

  it('DESC indexes read DESC in pg_get_indexdef too', async () => {
    const { rows } = await c.query<{ name: string; def: string }>(
      `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index
        WHERE indexrelid::regclass::text = ANY ($1::text[]) ORDER BY 1`,
      [['idx_edits_applied_at', 'idx_recordings_created_at', 'idx_recordings_user_created', 'idx_sessions_started_at', 'idx_sessions_user_started']],
    );
    expect(rows.map((r) => [r.name, r.def.replace(/^.* USING btree /, '')])).toEqual([
      ['idx_edits_applied_at', '(applied_at DESC)'],
      ['idx_recordings_created_at', '(created_at DESC)'],
      ['idx_recordings_user_created', '(user_id, created_at DESC)'],
      ['idx_sessions_started_at', '(started_at DESC)'],
      ['idx_sessions_user_started', '(user_id, started_at DESC)'],
    ]);
  });

  it('idx_recordings_user_id and idx_sessions_user_id do not exist (documented choice); the composite user indexes lead with user_id', async () => {
    const { rows } = await c.query<{ a: string | null; b: string | null }>(
      `SELECT to_regclass('public.idx_recordings_user_id')::text AS a, to_regclass('public.idx_sessions_user_id')::text AS b`,
    );
    expect(rows[0]).toEqual({ a: null, b: null });

    // No other index covers user_id alone either (a renamed copy would be just as redundant).
    const { rows: single } = await c.query<{ name: string }>(
      `SELECT ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid IN ('public.recordings'::regclass, 'public.recording_sessions'::regclass)
          AND i.indnatts = 1 AND pg_get_indexdef(i.indexrelid, 1, true) = 'user_id'`,
    );
    expect(single).toEqual([]);

    const { rows: lead } = await c.query<{ name: string; first: string; nkeys: number }>(
      `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid, 1, true) AS first, i.indnkeyatts::int AS nkeys
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE ic.relname = ANY ($1::text[]) ORDER BY 1`,
      [['idx_recordings_user_created', 'idx_recordings_user_type', 'idx_sessions_user_started']],
    );
    expect(lead).toEqual([
      { name: 'idx_recordings_user_created', first: 'user_id', nkeys: 2 },
      { name: 'idx_recordings_user_type', first: 'user_id', nkeys: 2 },
      { name: 'idx_sessions_user_started', first: 'user_id', nkeys: 2 },
    ]);
  });

  it('has exactly the expected foreign keys, each ON DELETE CASCADE to the right table and column', async () => {
    const { rows } = await c.query<ForeignKey>(
      `SELECT c.conname AS name,
              c.conrelid::regclass::text AS table,
              ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
              c.confrelid::regclass::text AS "refTable",
              ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS "refColumns",
              c.confdeltype::text AS "onDelete", c.confupdtype::text AS "onUpdate", c.confmatchtype::text AS match,
              c.condeferrable AS deferrable, c.convalidated AS validated
         FROM pg_constraint c
        WHERE c.connamespace = 'public'::regnamespace AND c.contype = 'f'
        ORDER BY c.conname`,
    );
    expect(rows).toEqual(FOREIGN_KEYS);
  });

  it('there is exactly one foreign key per column pair (the sketch declared each twice)', async () => {
    const { rows } = await c.query<{ t: string; names: string[] }>(
      `SELECT conrelid::regclass::text AS t, array_agg(conname::text ORDER BY conname) AS names
         FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND contype = 'f'
        GROUP BY conrelid, conkey
       HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
  });

  it('every foreign-key column leads some valid index, so a cascading delete does not scan the child table', async () => {
    const { rows } = await c.query<{ name: string }>(
      `SELECT c.conname AS name FROM pg_constraint c
        WHERE c.connamespace = 'public'::regnamespace AND c.contype = 'f'
          AND NOT EXISTS (
            SELECT 1 FROM pg_index i
             WHERE i.indrelid = c.conrelid AND i.indisvalid
               AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)
        ORDER BY 1`,
    );
    expect(rows).toEqual([]);
  });

  it('updated_at is kept by BEFORE UPDATE row triggers on projects and recordings, and there are no other triggers', async () => {
    const { rows } = await c.query<{ def: string; enabled: string }>(
      `SELECT pg_get_triggerdef(t.oid) AS def, t.tgenabled::text AS enabled
         FROM pg_trigger t
        WHERE NOT t.tgisinternal AND t.tgrelid = ANY (SELECT to_regclass('public.' || x) FROM unnest($1::text[]) x)
        ORDER BY t.tgname`,
      [PHASE1_TABLES],
    );
    expect(rows).toEqual([
      { def: 'CREATE TRIGGER trg_projects_updated_at BEFORE UPDATE ON public.projects FOR EACH ROW EXECUTE FUNCTION set_updated_at()', enabled: 'O' },
      { def: 'CREATE TRIGGER trg_recordings_updated_at BEFORE UPDATE ON public.recordings FOR EACH ROW EXECUTE FUNCTION set_updated_at()', enabled: 'O' },
    ]);
  });
});
