/**
 * Schema conformance: the catalog holds exactly the tables, columns, checks, indexes, foreign keys,
 * triggers and functions we expect, at two points:
 *  - after `up` (all migrations: the spec's Phase 1 and our Phase 2, 0006..0019), and
 *  - after `up --phase 1` alone, so that the spec's Phase 1 contract is checked on its own.
 *
 * Phase 1 is the spec (../shared/spec/recorder-migration-gaps.md) with our documented deviations from
 * its sketch: bigint identity ids, timestamptz, text for VARCHAR, NOT NULL on
 * quality/status/created_at/updated_at/applied_at, the status check named chk_recording_status, extra
 * checks on users/projects/sessions, and no idx_recordings_user_id / idx_sessions_user_id (left
 * prefixes of the composite user_id indexes). Phase 2 is the spec's storage columns (storage_provider
 * NOT NULL DEFAULT 'local' instead of nullable) plus accounts, uploads, the storage-deletion outbox,
 * what the web app needs of a take on recording_sessions, and the state of uploads that stream
 * straight into storage (docs/schema.md, "Phase 2"). How 0016/0017 behave on a table holding rows, and
 * their rollback: test/schema.uploads.test.ts.
 *
 * Every expectation is a complete, ordered list, so a column, constraint or index that is added,
 * dropped, renamed or changed fails here until this file says so. The names the spec itself gives are
 * also asserted on their own, in "the spec's contract" tests below.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_VERSIONS, connect, freshDatabase, migrator, PHASE1_VERSIONS, pgTargets } from './support/db.js';

const PHASE1_TABLES = ['users', 'projects', 'recordings', 'recording_sessions', 'recording_edits'] as const;
const PHASE2_TABLES = [
  'auth_sessions',
  'api_tokens',
  'project_members',
  'uploads',
  'storage_deletions',
  'upload_parts',
  'upload_chunks',
  'sign_in_limits',
  'storage_migrations',
  'storage_migration_failures',
  'schema_backfills',
  'legacy_imports',
  'legacy_import_items',
] as const;
/** Phase 3's new tables (the editor, issue 12, adds columns only; versions add their table). */
const PHASE3_TABLES = [
  'recording_versions',
  'recording_shares',
  'share_tombstones',
  'share_password_failures',
  'recording_comments',
  'guest_comment_limits',
  'recording_session_events',
] as const;
type Table = (typeof PHASE1_TABLES)[number] | (typeof PHASE2_TABLES)[number] | (typeof PHASE3_TABLES)[number];
type Phase = 1 | 2 | 3;

// =============================================================================================
// The spec's contract: every name ../shared/spec/recorder-migration-gaps.md gives, with the meaning
// it gives. Our exact expectations further down are a superset of this; this block is kept separate
// so that a change to the spec's part is visible as such.
// =============================================================================================
const SPEC = {
  /** Phase 1 tables and their columns, in the spec's order. */
  columns: {
    recordings: [
      'id',
      'user_id',
      'project_id',
      'title',
      'description',
      'recording_type',
      'duration',
      'file_size',
      'mime_type',
      'storage_url',
      'thumbnail_url',
      'quality',
      'status',
      'metadata',
      'created_at',
      'updated_at',
    ],
    recording_sessions: [
      'id',
      'user_id',
      'recording_type',
      'started_at',
      'ended_at',
      'duration',
      'device_info',
      'settings',
      'status',
      'error_message',
      'created_at',
    ],
    recording_edits: ['id', 'recording_id', 'edit_type', 'parameters', 'applied_at', 'undo_data'],
  },
  /** Columns the spec declares NOT NULL (we add NOT NULL to a few more: see docs/schema.md). */
  notNull: {
    recordings: ['id', 'user_id', 'title', 'recording_type', 'duration'],
    recording_sessions: ['id', 'user_id', 'recording_type', 'started_at'],
    recording_edits: ['id', 'recording_id', 'edit_type', 'parameters'],
  },
  /** The spec's defaults, as pg_get_expr prints them. */
  defaults: {
    'recordings.quality': "'high'::text",
    'recordings.status': "'completed'::text",
    'recordings.created_at': 'now()',
    'recordings.updated_at': 'now()',
    'recording_sessions.status': "'active'::text",
    'recording_sessions.created_at': 'now()',
    'recording_edits.applied_at': 'now()',
  },
  /** The spec's named checks, on the table it puts them on. */
  checks: {
    chk_recording_type: 'recordings',
    chk_quality: 'recordings',
    chk_duration_positive: 'recordings',
    chk_file_size_positive: 'recordings',
    chk_session_status: 'recording_sessions',
    chk_edit_type: 'recording_edits',
  },
  /** The spec's indexes (pg_get_indexdef after USING), less the two documented redundant ones. */
  indexes: {
    idx_recordings_project_id: 'recordings btree (project_id)',
    idx_recordings_created_at: 'recordings btree (created_at DESC)',
    idx_recordings_type: 'recordings btree (recording_type)',
    idx_recordings_user_created: 'recordings btree (user_id, created_at DESC)',
    idx_recordings_user_type: 'recordings btree (user_id, recording_type)',
    idx_sessions_started_at: 'recording_sessions btree (started_at DESC)',
    idx_sessions_user_started: 'recording_sessions btree (user_id, started_at DESC)',
    idx_edits_recording_id: 'recording_edits btree (recording_id)',
    idx_edits_type: 'recording_edits btree (edit_type)',
    idx_edits_applied_at: 'recording_edits btree (applied_at DESC)',
  },
  /** The spec's foreign keys, all ON DELETE CASCADE. */
  foreignKeys: {
    fk_recordings_user: 'recordings(user_id) -> users(id) ON DELETE c',
    fk_recordings_project: 'recordings(project_id) -> projects(id) ON DELETE c',
    fk_sessions_user: 'recording_sessions(user_id) -> users(id) ON DELETE c',
    fk_edits_recording: 'recording_edits(recording_id) -> recordings(id) ON DELETE c',
  },
  /** Phase 2 ("Storage Integration Gaps"): five storage columns on recordings, storage_provider default 'local'. */
  storageColumns: {
    storage_provider: "'local'::text",
    storage_key: null,
    storage_region: null,
    storage_bucket: null,
    cdn_url: null,
  },
} as const;

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

const col = (
  name: string,
  type: string,
  notNull: boolean,
  dflt: string | null = null,
  identity: Column['identity'] = '',
): Column => ({
  name,
  type,
  notNull,
  default: dflt,
  identity,
});
const TZ = 'timestamp with time zone';
const ID = col('id', 'bigint', true, null, 'd');

// ---------------------------------------------------------------------------------------------
// CHECK constraints: name -> pg_get_constraintdef. The spec's names plus ours.
// ---------------------------------------------------------------------------------------------
const inList = (column: string, values: string[]) =>
  `CHECK ((${column} = ANY (ARRAY[${values.map((v) => `'${v}'::text`).join(', ')}])))`;
const RECORDING_TYPES = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'];

// ---------------------------------------------------------------------------------------------
// Indexes: name -> key columns (with DESC), unique, primary, and the constraint it backs ('p'/'u').
// ---------------------------------------------------------------------------------------------
interface Index {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  constraint: 'p' | 'u' | null;
  /** WHERE of a partial index, as pg_get_expr prints it; null for a whole-table index. */
  predicate: string | null;
}
const idx = (name: string, columns: string[]): Index => ({
  name,
  columns,
  unique: false,
  primary: false,
  constraint: null,
  predicate: null,
});
/** A partial index (CREATE INDEX … WHERE). */
const partialIdx = (name: string, columns: string[], predicate: string): Index => ({
  ...idx(name, columns),
  predicate,
});
/** A unique index that backs no constraint (CREATE UNIQUE INDEX). */
const uniqueIdx = (name: string, columns: string[]): Index => ({
  name,
  columns,
  unique: true,
  primary: false,
  constraint: null,
  predicate: null,
});
/** The index behind a UNIQUE constraint. */
const uq = (name: string, columns: string[]): Index => ({
  name,
  columns,
  unique: true,
  primary: false,
  constraint: 'u',
  predicate: null,
});
/** A primary key named in its CREATE TABLE (CONSTRAINT pk_… PRIMARY KEY). */
const namedPkey = (name: string, columns: string[]): Index => ({
  name,
  columns,
  unique: true,
  primary: true,
  constraint: 'p',
  predicate: null,
});
/** A primary key with PostgreSQL's default name, <table>_pkey. */
const pkey = (table: Table, columns = ['id']): Index => namedPkey(`${table}_pkey`, columns);

// ---------------------------------------------------------------------------------------------
// Foreign keys: ON UPDATE NO ACTION, MATCH SIMPLE, not deferrable, validated; ON DELETE CASCADE
// ('c') unless stated ('n' = SET NULL).
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
const fk = (name: string, table: Table, column: string, refTable: Table, onDelete: 'c' | 'n' = 'c'): ForeignKey => ({
  name,
  table,
  columns: [column],
  refTable,
  refColumns: ['id'],
  onDelete,
  onUpdate: 'a',
  match: 's',
  deferrable: false,
  validated: true,
});

const updatedAtTrigger = (table: Table) =>
  `CREATE TRIGGER trg_${table}_updated_at BEFORE UPDATE ON public.${table} ` +
  'FOR EACH ROW EXECUTE FUNCTION set_updated_at()';

/** What one phase adds. Columns of a table that already exists are appended after its existing ones. */
interface SchemaPart {
  columns: Partial<Record<Table, Column[]>>;
  checks: Partial<Record<Table, Record<string, string>>>;
  indexes: Partial<Record<Table, Index[]>>;
  foreignKeys: ForeignKey[];
  triggers: string[];
}

// =============================================================================================
// Phase 1 (migrations 0001..0005): the spec's tables, with our deviations.
// =============================================================================================
const PHASE1: SchemaPart = {
  columns: {
    users: [
      col('id', 'text', true),
      col('email', 'text', true),
      col('display_name', 'text', true),
      col('created_at', TZ, true, 'now()'),
    ],
    projects: [
      ID,
      col('owner_id', 'text', true),
      col('name', 'text', true),
      col('created_at', TZ, true, 'now()'),
      col('updated_at', TZ, true, 'now()'),
    ],
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
  },
  checks: {
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
  },
  indexes: {
    users: [pkey('users'), uniqueIdx('idx_users_email_lower', ['lower(email)'])],
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
  },
  foreignKeys: [
    fk('fk_edits_recording', 'recording_edits', 'recording_id', 'recordings'),
    fk('fk_projects_owner', 'projects', 'owner_id', 'users'),
    fk('fk_recordings_project', 'recordings', 'project_id', 'projects'),
    fk('fk_recordings_user', 'recordings', 'user_id', 'users'),
    fk('fk_sessions_user', 'recording_sessions', 'user_id', 'users'),
  ],
  triggers: [updatedAtTrigger('projects'), updatedAtTrigger('recordings')],
};

// =============================================================================================
// Phase 2 (migrations 0006..0018): what it adds to Phase 1's tables, and its new tables.
// =============================================================================================
const UNFINISHED_RUN = "status = ANY (ARRAY['queued'::text, 'running'::text, 'paused'::text])";
const PHASE2: SchemaPart = {
  columns: {
    // 0006: nullable, no default (catalog-only on a table that holds rows).
    users: [col('password_hash', 'text', false)],
    // 0007: the spec's storage columns; storage_provider NOT NULL with a constant default (catalog-only, PG 11+).
    recordings: [
      col('storage_provider', 'text', true, "'local'::text"),
      col('storage_key', 'text', false),
      col('storage_region', 'text', false),
      col('storage_bucket', 'text', false),
      col('cdn_url', 'text', false),
    ],
    // 0006
    auth_sessions: [
      col('id', 'text', true),
      col('user_id', 'text', true),
      col('created_at', TZ, true, 'now()'),
      col('last_seen_at', TZ, true, 'now()'),
      col('expires_at', TZ, true),
      col('user_agent', 'text', false),
    ],
    api_tokens: [
      ID,
      col('user_id', 'text', true),
      col('name', 'text', true),
      col('token_hash', 'text', true),
      col('token_prefix', 'text', true),
      col('created_at', TZ, true, 'now()'),
      col('last_used_at', TZ, false),
      col('expires_at', TZ, false),
      col('revoked_at', TZ, false),
    ],
    project_members: [
      col('project_id', 'bigint', true),
      col('user_id', 'text', true),
      col('role', 'text', true),
      col('created_at', TZ, true, 'now()'),
    ],
    // 0011: what the web app needs of a take; nullable, no default (catalog-only on a table that holds rows).
    recording_sessions: [
      col('project_id', 'bigint', false),
      col('last_heartbeat_at', TZ, false),
      col('recording_id', 'bigint', false),
      col('discarded_at', TZ, false),
      col('take', 'jsonb', false),
    ],
    // 0010
    uploads: [
      col('id', 'text', true),
      col('user_id', 'text', true),
      col('recording_id', 'bigint', false),
      col('session_id', 'bigint', false),
      col('upload_length', 'bigint', false),
      col('upload_offset', 'bigint', true, '0'),
      col('metadata', 'jsonb', true, "'{}'::jsonb"),
      col('status', 'text', true, "'uploading'::text"),
      col('created_at', TZ, true, 'now()'),
      col('updated_at', TZ, true, 'now()'),
      col('completed_at', TZ, false),
      // 0016: where the bytes go, the reserved recording id, the sniffed type, the running hash, the S3
      // multipart id, the cross-server lease and the refusal. Nullable, no default: catalog-only on a
      // table that holds rows.
      col('storage_provider', 'text', false),
      col('storage_bucket', 'text', false),
      col('storage_region', 'text', false),
      col('storage_key', 'text', false),
      col('reserved_recording_id', 'bigint', false),
      col('media_type', 'text', false),
      col('hash_state', 'bytea', false),
      col('sha256', 'text', false),
      col('multipart_id', 'text', false),
      col('lock_token', 'uuid', false),
      col('lock_expires_at', TZ, false),
      col('release_requested_at', TZ, false),
      col('error', 'text', false),
    ],
    storage_deletions: [
      ID,
      col('storage_provider', 'text', true),
      col('storage_bucket', 'text', false),
      col('storage_key', 'text', true),
      col('requested_at', TZ, true, 'now()'),
      col('attempts', 'bigint', true, '0'),
      col('last_error', 'text', false),
      // 0020: a migrated recording's source is deleted only after its grace period.
      col('not_before', TZ, false),
    ],
    // 0016: the S3 parts an upload has stored, and the bytes waiting to fill the next part.
    upload_parts: [
      col('upload_id', 'text', true),
      col('part_number', 'bigint', true),
      col('etag', 'text', true),
      col('size', 'bigint', true),
    ],
    upload_chunks: [col('upload_id', 'text', true), col('start_offset', 'bigint', true), col('bytes', 'bytea', true)],
    // 0019: failed sign-ins per account and per address (src/server/auth/sign-in-limits.ts).
    sign_in_limits: [
      col('key', 'text', true),
      col('failures', 'integer', true, '0'),
      col('window_started_at', TZ, true),
      col('locked_until', TZ, false),
      col('lockouts', 'integer', true, '0'),
      col('updated_at', TZ, true, 'now()'),
    ],
    // 0020: runs of `recorder storage migrate` (src/server/storage-migration/) and what each left behind.
    storage_migrations: [
      ID,
      col('target_provider', 'text', true),
      col('target_bucket', 'text', false),
      col('target_region', 'text', false),
      col('filters', 'jsonb', true, "'{}'::jsonb"),
      col('batch_size', 'integer', true),
      col('concurrency', 'integer', true),
      col('max_mib_per_s', 'integer', false),
      col('status', 'text', true, "'queued'::text"),
      col('last_recording_id', 'bigint', true, '0'),
      col('total_count', 'bigint', true, '0'),
      col('moved_count', 'bigint', true, '0'),
      col('skipped_count', 'bigint', true, '0'),
      col('failed_count', 'bigint', true, '0'),
      col('total_bytes', 'bigint', true, '0'),
      col('moved_bytes', 'bigint', true, '0'),
      col('last_error', 'text', false),
      col('started_by', 'text', true),
      col('created_at', TZ, true, 'now()'),
      col('started_at', TZ, false),
      col('finished_at', TZ, false),
      col('updated_at', TZ, true, 'now()'),
    ],
    storage_migration_failures: [
      ID,
      col('migration_id', 'bigint', true),
      col('recording_id', 'bigint', true),
      col('reason', 'text', true),
      col('at', TZ, true, 'now()'),
    ],
    // 0021: where each declared backfill stands (src/server/db/backfill/); no row: not started.
    schema_backfills: [
      col('name', 'text', true),
      col('checksum', 'text', true),
      col('state', 'text', true, "'running'::text"),
      col('cursor', 'bigint', false),
      col('end_key', 'bigint', false),
      col('deferred_keys', 'bigint[]', true, "'{}'::bigint[]"),
      col('rows_total', 'bigint', true, '0'),
      col('rows_filled', 'bigint', true, '0'),
      col('rows_rejected', 'bigint', true, '0'),
      col('rejected_sample', 'jsonb', true, "'[]'::jsonb"),
      col('batches', 'bigint', true, '0'),
      col('rate', 'double precision', false),
      col('failures', 'bigint', true, '0'),
      col('last_error', 'text', false),
      col('started_at', TZ, true, 'now()'),
      col('last_batch_at', TZ, false),
      col('finished_at', TZ, false),
    ],
    // 0022: legacy imports (src/server/imports/) and what became of each item.
    legacy_imports: [
      ID,
      col('user_id', 'text', true),
      col('origin', 'text', true),
      col('status', 'text', true, "'running'::text"),
      col('item_count', 'integer', true, '0'),
      col('byte_count', 'bigint', true, '0'),
      col('client', 'text', false),
      col('started_at', TZ, true, 'now()'),
      col('updated_at', TZ, true, 'now()'),
      col('finished_at', TZ, false),
    ],
    legacy_import_items: [
      ID,
      col('import_id', 'bigint', true),
      col('user_id', 'text', true),
      col('legacy_source', 'text', true),
      col('legacy_id', 'text', false),
      col('sha256', 'text', false),
      col('size', 'bigint', false),
      col('title', 'text', false),
      col('outcome', 'text', true),
      col('reason', 'text', false),
      col('message', 'text', false),
      col('recording_id', 'bigint', false),
      col('created_at', TZ, true, 'now()'),
    ],
  },
  checks: {
    // 0020: a run's target, status and settings within bounds; counts never negative; filters an object.
    storage_migrations: {
      chk_storage_migration_provider: inList('target_provider', ['local', 's3']),
      chk_storage_migration_status: inList('status', [
        'queued',
        'running',
        'paused',
        'cancelled',
        'finished',
        'failed',
      ]),
      chk_storage_migration_batch: 'CHECK (((batch_size >= 1) AND (batch_size <= 10000)))',
      chk_storage_migration_concurrency: 'CHECK (((concurrency >= 1) AND (concurrency <= 64)))',
      chk_storage_migration_rate:
        'CHECK (((max_mib_per_s IS NULL) OR ((max_mib_per_s >= 1) AND (max_mib_per_s <= 100000))))',
      chk_storage_migration_counts:
        'CHECK (((moved_count >= 0) AND (skipped_count >= 0) AND (failed_count >= 0) AND (total_count >= 0) AND ' +
        '(moved_bytes >= 0) AND (total_bytes >= 0)))',
      chk_storage_migration_filters: "CHECK ((jsonb_typeof(filters) = 'object'::text))",
    },
    // 0007 adds it NOT VALID; 0008 validates it. After all migrations it must be validated.
    recordings: { chk_storage_provider: inList('storage_provider', ['local', 's3']) },
    api_tokens: { chk_api_token_name: 'CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 100)))' },
    project_members: { chk_project_member_role: inList('role', ['owner', 'editor', 'viewer']) },
    uploads: {
      chk_upload_status: inList('status', ['uploading', 'completed', 'failed', 'terminated']),
      chk_upload_offset:
        'CHECK (((upload_offset >= 0) AND ((upload_length IS NULL) OR (upload_offset <= upload_length))))',
    },
    storage_deletions: { chk_storage_deletion_provider: inList('storage_provider', ['local', 's3']) },
    // 0016: S3 numbers parts 1..10000; an empty part is never recorded; a chunk's offset is never negative.
    upload_parts: {
      chk_upload_part_number: 'CHECK (((part_number >= 1) AND (part_number <= 10000)))',
      chk_upload_part_size: 'CHECK ((size > 0))',
    },
    upload_chunks: { chk_upload_chunk_offset: 'CHECK ((start_offset >= 0))' },
    // 0019: keys are a kind and a sha256, never an email or an address; counts never negative.
    sign_in_limits: {
      chk_sign_in_limit_key: "CHECK ((key ~ '^(account|address):[0-9a-f]{64}$'::text))",
      chk_sign_in_limit_counts: 'CHECK (((failures >= 0) AND (lockouts >= 0)))',
    },
    // 0021: a backfill runs or has finished (and then says when); counts never negative.
    schema_backfills: {
      chk_backfill_state: inList('state', ['running', 'finished']),
      chk_backfill_counts:
        'CHECK (((rows_total >= 0) AND (rows_filled >= 0) AND (rows_rejected >= 0) AND (batches >= 0) AND ' +
        '(failures >= 0)))',
      chk_backfill_finished: "CHECK (((state = 'finished'::text) = (finished_at IS NOT NULL)))",
    },
    // 0011 adds it NOT VALID; 0012 validates it.
    recording_sessions: { chk_session_discarded_or_kept: 'CHECK (((discarded_at IS NULL) OR (recording_id IS NULL)))' },
    // 0022: an import's origin, status and counts; finished exactly when completed.
    legacy_imports: {
      chk_legacy_import_origin: inList('origin', ['browser', 'cli']),
      chk_legacy_import_status: inList('status', ['running', 'completed']),
      chk_legacy_import_counts: 'CHECK (((item_count >= 0) AND (byte_count >= 0)))',
      chk_legacy_import_client: 'CHECK ((length(client) <= 500))',
      chk_legacy_import_finished: "CHECK (((status = 'completed'::text) = (finished_at IS NOT NULL)))",
    },
    // 0022: an item's source, outcome and key; imported and already items carry the whole key.
    legacy_import_items: {
      chk_legacy_item_source: inList('legacy_source', ['saved-recordings', 'browser-take']),
      chk_legacy_item_outcome: inList('outcome', ['imported', 'already', 'skipped', 'failed']),
      chk_legacy_item_id: 'CHECK (((length(legacy_id) >= 1) AND (length(legacy_id) <= 200)))',
      chk_legacy_item_sha256: "CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text))",
      chk_legacy_item_size: 'CHECK ((size >= 0))',
      chk_legacy_item_key:
        "CHECK (((outcome <> ALL (ARRAY['imported'::text, 'already'::text])) OR " +
        '((legacy_id IS NOT NULL) AND (sha256 IS NOT NULL))))',
      chk_legacy_item_texts:
        'CHECK (((length(title) <= 300) AND (length(reason) <= 100) AND (length(message) <= 2000)))',
    },
  },
  indexes: {
    // 0009: CREATE UNIQUE INDEX CONCURRENTLY, in a no-transaction file; NULLs stay distinct.
    // 0018: CONCURRENTLY, alone in its file: each project's recordings in library order (the library's
    // shared-projects half walks it per project; test/schema.library-index.test.ts).
    recordings: [
      uniqueIdx('idx_recordings_storage_key', ['storage_key']),
      idx('idx_recordings_project_created', ['project_id', 'created_at DESC', 'id DESC']),
    ],
    auth_sessions: [
      pkey('auth_sessions'),
      idx('idx_auth_sessions_user_id', ['user_id']),
      idx('idx_auth_sessions_expires_at', ['expires_at']),
    ],
    api_tokens: [
      pkey('api_tokens'),
      idx('idx_api_tokens_user_id', ['user_id']),
      uq('uq_api_tokens_token_hash', ['token_hash']),
    ],
    project_members: [
      pkey('project_members', ['project_id', 'user_id']),
      idx('idx_project_members_user_id', ['user_id']),
    ],
    uploads: [
      pkey('uploads'),
      idx('idx_uploads_user_created', ['user_id', 'created_at DESC']),
      idx('idx_uploads_recording_id', ['recording_id']),
      idx('idx_uploads_session_id', ['session_id']),
      // 0017: CONCURRENTLY, in a no-transaction file. The storage sweep's question "which of these
      // recording ids do unfinished uploads hold?", over the uploading rows only.
      partialIdx('idx_uploads_unfinished_reservation', ['reserved_recording_id'], "status = 'uploading'::text"),
    ],
    // 0016: named primary keys; each leads with upload_id, so it also serves the cascade from uploads.
    upload_parts: [namedPkey('pk_upload_parts', ['upload_id', 'part_number'])],
    upload_chunks: [namedPkey('pk_upload_chunks', ['upload_id', 'start_offset'])],
    storage_deletions: [pkey('storage_deletions'), idx('idx_storage_deletions_key', ['storage_key'])],
    // 0019: housekeeping deletes the rows nobody has failed on for a day.
    sign_in_limits: [namedPkey('sign_in_limits_pkey', ['key']), idx('idx_sign_in_limits_updated_at', ['updated_at'])],
    // 0020: at most one unfinished run; the list, newest first; a run's failures in order.
    storage_migrations: [
      pkey('storage_migrations'),
      { ...uniqueIdx('uq_storage_migrations_unfinished', ['(true)']), predicate: UNFINISHED_RUN },
      idx('idx_storage_migrations_created_at', ['created_at DESC']),
    ],
    storage_migration_failures: [
      pkey('storage_migration_failures'),
      idx('idx_storage_migration_failures_migration', ['migration_id', 'id']),
    ],
    // 0021: one row per backfill, found by name.
    schema_backfills: [namedPkey('schema_backfills_pkey', ['name'])],
    // 0022: a user's imports newest first; THE LEGACY KEY unique among imported items; already once per
    // import; an import's items in order; the SET NULL from recordings and the cascade from users.
    legacy_imports: [pkey('legacy_imports'), idx('idx_legacy_imports_user_started', ['user_id', 'started_at DESC'])],
    legacy_import_items: [
      pkey('legacy_import_items'),
      {
        ...uniqueIdx('uq_legacy_import_items_key', ['user_id', 'legacy_source', 'legacy_id', 'sha256']),
        predicate: "outcome = 'imported'::text",
      },
      {
        ...uniqueIdx('uq_legacy_import_items_already', ['import_id', 'legacy_source', 'legacy_id', 'sha256']),
        predicate: "outcome = 'already'::text",
      },
      idx('idx_legacy_import_items_import', ['import_id', 'id']),
      idx('idx_legacy_import_items_recording', ['recording_id']),
      idx('idx_legacy_import_items_user', ['user_id']),
    ],
    // 0013..0015: CONCURRENTLY, each in a no-transaction file. One recording per take; the project FK's
    // index; the stale-session sweep's partial index over active sessions only.
    recording_sessions: [
      uniqueIdx('idx_sessions_recording_id', ['recording_id']),
      idx('idx_sessions_project_id', ['project_id']),
      partialIdx(
        'idx_sessions_active_heartbeat',
        ['COALESCE(last_heartbeat_at, started_at)'],
        "status = 'active'::text",
      ),
    ],
  },
  foreignKeys: [
    fk('fk_api_tokens_user', 'api_tokens', 'user_id', 'users'),
    fk('fk_auth_sessions_user', 'auth_sessions', 'user_id', 'users'),
    fk('fk_project_members_project', 'project_members', 'project_id', 'projects'),
    fk('fk_project_members_user', 'project_members', 'user_id', 'users'),
    // 0011 NOT VALID, 0012 validated. A take outlives its project or recording: the link is cleared.
    fk('fk_sessions_project', 'recording_sessions', 'project_id', 'projects', 'n'),
    fk('fk_sessions_recording', 'recording_sessions', 'recording_id', 'recordings', 'n'),
    // An upload outlives the recording or session it produced: the link is cleared, the row kept.
    fk('fk_uploads_recording', 'uploads', 'recording_id', 'recordings', 'n'),
    fk('fk_uploads_session', 'uploads', 'session_id', 'recording_sessions', 'n'),
    fk('fk_uploads_user', 'uploads', 'user_id', 'users'),
    // 0016: an upload's parts and pending chunks go with it.
    fk('fk_upload_chunks_upload', 'upload_chunks', 'upload_id', 'uploads'),
    fk('fk_upload_parts_upload', 'upload_parts', 'upload_id', 'uploads'),
    // 0020: a run's failures go with it.
    fk('fk_storage_migration_failures_migration', 'storage_migration_failures', 'migration_id', 'storage_migrations'),
    // 0022: imports and their items go with their user; a deleted recording leaves its item (and key).
    fk('fk_legacy_imports_user', 'legacy_imports', 'user_id', 'users'),
    fk('fk_legacy_import_items_import', 'legacy_import_items', 'import_id', 'legacy_imports'),
    fk('fk_legacy_import_items_user', 'legacy_import_items', 'user_id', 'users'),
    fk('fk_legacy_import_items_recording', 'legacy_import_items', 'recording_id', 'recordings', 'n'),
  ],
  triggers: [
    updatedAtTrigger('uploads'),
    updatedAtTrigger('storage_migrations'),
    updatedAtTrigger('legacy_imports'),
    // every way a recording row goes queues its media in the deletion outbox
    'CREATE TRIGGER trg_recordings_queue_media_deletion AFTER DELETE ON public.recordings ' +
      'FOR EACH ROW EXECUTE FUNCTION queue_recording_media_deletion()',
  ],
};

// =============================================================================================
// Phase 3 (migrations 0023..): the editor's history (0023, 0027..0029; docs/editor.md).
// =============================================================================================
const PHASE3: SchemaPart = {
  columns: {
    // 0023: catalog-only additions (nullable; a constant default).
    recordings: [
      col('edit_revision', 'bigint', true, '0'),
      // 0024: catalog-only (nullable, no default); the version that plays (issue 12).
      col('current_version_id', 'bigint', false),
    ],
    // 0024: rendered versions (src/server/versions/).
    recording_versions: [
      ID,
      col('recording_id', 'bigint', true),
      col('number', 'integer', true),
      col('status', 'text', true, "'rendering'::text"),
      col('progress', 'real', true, '0'),
      col('error', 'text', false),
      col('edit_revision', 'bigint', true),
      col('edits', 'jsonb', true),
      col('storage_provider', 'text', true),
      col('storage_key', 'text', true),
      col('storage_bucket', 'text', false),
      col('storage_region', 'text', false),
      col('thumbnail_key', 'text', false),
      col('file_size', 'bigint', false),
      col('sha256', 'text', false),
      col('duration_ms', 'integer', false),
      col('mime_type', 'text', false),
      col('width', 'integer', false),
      col('height', 'integer', false),
      col('created_by', 'text', false),
      col('created_at', TZ, true, 'now()'),
      col('completed_at', TZ, false),
    ],
    recording_edits: [
      col('created_by', 'text', false),
      col('position', 'integer', false),
      col('undone_at', TZ, false),
      col('dropped_at', TZ, false),
    ],
    // 0030: share links (src/server/shares/), the hashes of those gone with their recording, wrong passwords.
    recording_shares: [
      ID,
      col('recording_id', 'bigint', true),
      col('created_by', 'text', false),
      col('token_hash', 'text', true),
      col('label', 'text', false),
      col('password_hash', 'text', false),
      col('allow_comment', 'boolean', true, 'false'),
      col('allow_download', 'boolean', true, 'false'),
      col('expires_at', TZ, false),
      col('revoked_at', TZ, false),
      col('view_count', 'bigint', true, '0'),
      col('last_viewed_at', TZ, false),
      col('created_at', TZ, true, 'now()'),
    ],
    share_tombstones: [
      col('token_hash', 'text', true),
      col('recording_id', 'bigint', true),
      col('gone_at', TZ, true, 'now()'),
    ],
    share_password_failures: [
      col('key', 'text', true),
      col('failures', 'integer', true, '0'),
      col('window_started_at', TZ, true),
      col('updated_at', TZ, true, 'now()'),
    ],
    // 0031: comments and replies (src/server/comments/); guests' comments per link and address this minute.
    recording_comments: [
      ID,
      col('recording_id', 'bigint', true),
      col('parent_id', 'bigint', false),
      col('author_id', 'text', false),
      col('share_id', 'bigint', false),
      col('guest_name', 'text', false),
      col('guest_key_hash', 'text', false),
      col('at_ms', 'integer', false),
      col('body', 'text', true),
      col('created_at', TZ, true, 'now()'),
      col('edited_at', TZ, false),
      col('deleted_at', TZ, false),
      col('resolved_at', TZ, false),
      col('resolved_by', 'text', false),
      col('revision', 'bigint', true, "nextval('recording_comment_revisions'::regclass)"),
    ],
    guest_comment_limits: [
      col('key', 'text', true),
      col('window_started_at', TZ, true),
      col('comments', 'integer', true),
    ],
    // 0033: what the analytics group sessions by, parsed at creation (catalog-only, filled by its backfill).
    recording_sessions: [
      col('browser', 'text', false),
      col('os', 'text', false),
      col('device_kind', 'text', false),
      col('quality', 'text', false),
    ],
    // 0032: a take's timeline (the analytics drill-down).
    recording_session_events: [
      ID,
      col('session_id', 'bigint', true),
      col('at', TZ, true, 'now()'),
      col('kind', 'text', true),
      col('detail', 'jsonb', false),
    ],
  },
  checks: {
    // 0023 NOT VALID, 0027 validated.
    recordings: { chk_recording_edit_revision: 'CHECK ((edit_revision >= 0))' },
    recording_edits: {
      // position is a keyword of SQL: pg_get_constraintdef quotes it.
      chk_edit_position: 'CHECK ((("position" IS NOT NULL) AND ("position" >= 1)))',
      chk_edit_dropped_undone: 'CHECK (((dropped_at IS NULL) OR (undone_at IS NOT NULL)))',
    },
    // 0024: a version's number, status, progress, storage, snapshot and facts; ready ones have their facts.
    recording_versions: {
      chk_version_number: 'CHECK ((number >= 1))',
      chk_version_status: inList('status', ['rendering', 'ready', 'failed']),
      chk_version_progress: 'CHECK (((progress >= (0)::double precision) AND (progress <= (1)::double precision)))',
      chk_version_provider: inList('storage_provider', ['local', 's3']),
      chk_version_edits: "CHECK ((jsonb_typeof(edits) = 'object'::text))",
      chk_version_sha256: "CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text))",
      chk_version_sizes: 'CHECK (((file_size >= 0) AND (duration_ms >= 0) AND (width > 0) AND (height > 0)))',
      chk_version_ready:
        "CHECK (((status <> 'ready'::text) OR ((file_size IS NOT NULL) AND (sha256 IS NOT NULL) AND " +
        '(duration_ms IS NOT NULL) AND (mime_type IS NOT NULL))))',
      chk_version_finished: "CHECK (((status = 'rendering'::text) = (completed_at IS NULL)))",
      chk_version_error: 'CHECK ((length(error) <= 2000))',
    },
    // 0030: hashes are sha256 hex; labels 1..200 characters; passwords argon2id; failure keys name a link or a
    // hashed address.
    recording_shares: {
      chk_share_token_hash: "CHECK ((token_hash ~ '^[0-9a-f]{64}$'::text))",
      chk_share_label: 'CHECK (((char_length(label) >= 1) AND (char_length(label) <= 200)))',
      chk_share_password_hash: "CHECK ((password_hash ~~ '$argon2id$%'::text))",
      chk_share_view_count: 'CHECK ((view_count >= 0))',
    },
    share_tombstones: { chk_share_tombstone_hash: "CHECK ((token_hash ~ '^[0-9a-f]{64}$'::text))" },
    share_password_failures: {
      chk_share_failure_key: "CHECK ((key ~ '^(share:[1-9][0-9]{0,18}|address:[0-9a-f]{64})$'::text))",
      chk_share_failure_count: 'CHECK ((failures >= 0))',
    },
    // 0031: a member or a guest (named, keyed), never both; text 1..5000 while it stands, emptied when deleted;
    // only threads resolve; revisions from 1; limit keys are sha256 hex.
    recording_comments: {
      chk_comment_author: 'CHECK (((author_id IS NULL) OR (guest_name IS NULL)))',
      chk_comment_guest: 'CHECK (((guest_name IS NULL) = (guest_key_hash IS NULL)))',
      chk_comment_guest_name: 'CHECK (((char_length(guest_name) >= 1) AND (char_length(guest_name) <= 80)))',
      chk_comment_guest_key: "CHECK ((guest_key_hash ~ '^[0-9a-f]{64}$'::text))",
      chk_comment_at: 'CHECK ((at_ms >= 0))',
      chk_comment_body:
        'CHECK (\nCASE\n    WHEN (deleted_at IS NULL) THEN ' +
        '((char_length(body) >= 1) AND (char_length(body) <= 5000))\n' +
        "    ELSE (body = ''::text)\nEND)",
      chk_comment_parent: 'CHECK ((parent_id <> id))',
      chk_comment_resolved: 'CHECK (((resolved_at IS NULL) OR (parent_id IS NULL)))',
      chk_comment_resolved_by: 'CHECK (((resolved_by IS NULL) OR (resolved_at IS NOT NULL)))',
      chk_comment_revision: 'CHECK ((revision >= 1))',
    },
    guest_comment_limits: {
      chk_guest_comment_limit_key: "CHECK ((key ~ '^[0-9a-f]{64}$'::text))",
      chk_guest_comment_limit_count: 'CHECK ((comments >= 0))',
    },
    // 0032: the kinds of event; detail an object.
    recording_session_events: {
      chk_session_event_kind: inList('kind', [
        'started',
        'heartbeat',
        'interrupted',
        'resumed',
        'kept',
        'discarded',
        'completed',
        'error',
      ]),
      chk_session_event_detail: "CHECK ((jsonb_typeof(detail) = 'object'::text))",
    },
  },
  indexes: {
    // 0028, 0029: CONCURRENTLY. One place per edit in its stack; the SET NULL from users.
    recording_edits: [
      uniqueIdx('idx_edits_recording_position', ['recording_id', '"position"']),
      idx('idx_edits_created_by', ['created_by']),
    ],
    // 0024: numbers per recording (also the cascade's index); the SET NULL from users; one row per object.
    recording_versions: [
      pkey('recording_versions'),
      uniqueIdx('uq_recording_versions_number', ['recording_id', 'number']),
      idx('idx_recording_versions_created_by', ['created_by']),
      uniqueIdx('uq_recording_versions_key', ['storage_key']),
    ],
    // 0025: CONCURRENTLY; serves fk_recordings_current_version's SET NULL.
    recordings: [
      partialIdx('idx_recordings_current_version', ['current_version_id'], 'current_version_id IS NOT NULL'),
    ],
    // 0030: a token found by its hash; a recording's links in order (also the cascade's index); the SET NULL
    // from users; tombstones by hash; failure counters by key, and the housekeeping's age.
    recording_shares: [
      pkey('recording_shares'),
      uq('uq_recording_shares_token_hash', ['token_hash']),
      idx('idx_recording_shares_recording', ['recording_id', 'id']),
      idx('idx_recording_shares_created_by', ['created_by']),
    ],
    share_tombstones: [namedPkey('share_tombstones_pkey', ['token_hash'])],
    share_password_failures: [
      namedPkey('share_password_failures_pkey', ['key']),
      idx('idx_share_password_failures_updated_at', ['updated_at']),
    ],
    // 0031: a recording's comments in id order (the target of the reply key, the cascade's index); changes by
    // revision; a thread's replies (the reply key's index); the count of those standing; the SET NULLs.
    recording_comments: [
      pkey('recording_comments'),
      uq('uq_recording_comments_recording_id', ['recording_id', 'id']),
      idx('idx_recording_comments_revision', ['recording_id', 'revision']),
      idx('idx_recording_comments_parent', ['recording_id', 'parent_id']),
      partialIdx('idx_recording_comments_live', ['recording_id'], 'deleted_at IS NULL'),
      idx('idx_recording_comments_author', ['author_id']),
      idx('idx_recording_comments_share', ['share_id']),
      idx('idx_recording_comments_resolved_by', ['resolved_by']),
    ],
    guest_comment_limits: [
      namedPkey('guest_comment_limits_pkey', ['key']),
      idx('idx_guest_comment_limits_window', ['window_started_at']),
    ],
    // 0032: a session's events in order (also the cascade's index).
    recording_session_events: [
      pkey('recording_session_events'),
      idx('idx_session_events_session_at', ['session_id', 'at']),
    ],
    // 0034, 0035: CONCURRENTLY. Everyone's dashboard from the index alone; the top errors by start.
    recording_sessions: [
      idx('idx_sessions_started_analytics', [
        'started_at',
        ...['recording_type', 'status', 'discarded_at', 'duration', 'browser', 'os', 'device_kind', 'quality'].map(
          (column) => `${column} INCLUDE`,
        ),
      ]),
      partialIdx('idx_sessions_errors_started', ['started_at'], 'error_message IS NOT NULL'),
    ],
  },
  // 0023 NOT VALID, 0027 validated. A deleted account leaves its edits, without their author.
  foreignKeys: [
    fk('fk_edits_created_by', 'recording_edits', 'created_by', 'users', 'n'),
    // 0024: versions go with their recording; a deleted account leaves them; 0024 NOT VALID, 0026 validated:
    // a deleted version leaves its recording playing the original.
    fk('fk_versions_recording', 'recording_versions', 'recording_id', 'recordings'),
    fk('fk_versions_created_by', 'recording_versions', 'created_by', 'users', 'n'),
    fk('fk_recordings_current_version', 'recordings', 'current_version_id', 'recording_versions', 'n'),
    // 0030: links go with their recording; a deleted account leaves the links it made.
    fk('fk_shares_recording', 'recording_shares', 'recording_id', 'recordings'),
    fk('fk_shares_created_by', 'recording_shares', 'created_by', 'users', 'n'),
    // 0031: comments go with their recording, replies with their thread (of the same recording: the key holds
    // recording_id too); a deleted account or link leaves the comment.
    fk('fk_comments_recording', 'recording_comments', 'recording_id', 'recordings'),
    {
      ...fk('fk_comments_parent', 'recording_comments', 'parent_id', 'recording_comments'),
      columns: ['recording_id', 'parent_id'],
      refColumns: ['recording_id', 'id'],
    },
    fk('fk_comments_author', 'recording_comments', 'author_id', 'users', 'n'),
    fk('fk_comments_share', 'recording_comments', 'share_id', 'recording_shares', 'n'),
    fk('fk_comments_resolved_by', 'recording_comments', 'resolved_by', 'users', 'n'),
    // 0032: events go with their session.
    fk('fk_session_events_session', 'recording_session_events', 'session_id', 'recording_sessions'),
  ],
  triggers: [
    // 0030: every way a link row goes (its recording's cascade above all) leaves the hash as a tombstone
    'CREATE TRIGGER trg_recording_shares_tombstone AFTER DELETE ON public.recording_shares ' +
      'FOR EACH ROW EXECUTE FUNCTION tombstone_recording_share()',
  ],
};

function merge(a: SchemaPart, b: SchemaPart): SchemaPart {
  const tables = (x: object, y: object) => [...new Set([...Object.keys(x), ...Object.keys(y)])] as Table[];
  return {
    columns: Object.fromEntries(
      tables(a.columns, b.columns).map((t) => [t, [...(a.columns[t] ?? []), ...(b.columns[t] ?? [])]]),
    ),
    checks: Object.fromEntries(tables(a.checks, b.checks).map((t) => [t, { ...a.checks[t], ...b.checks[t] }])),
    indexes: Object.fromEntries(
      tables(a.indexes, b.indexes).map((t) => [t, [...(a.indexes[t] ?? []), ...(b.indexes[t] ?? [])]]),
    ),
    foreignKeys: [...a.foreignKeys, ...b.foreignKeys].sort((x, y) => (x.name < y.name ? -1 : 1)),
    triggers: [...a.triggers, ...b.triggers].sort(),
  };
}

/** The whole expected schema after `up --phase N`. */
const SCHEMA: Record<Phase, SchemaPart> = {
  1: PHASE1,
  2: merge(PHASE1, PHASE2),
  3: merge(merge(PHASE1, PHASE2), PHASE3),
};
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : 1);

const STAGES = [
  { stage: 'after up (all migrations)', phase: 3 as Phase, target: {} },
  { stage: 'after up --phase 1 alone', phase: 1 as Phase, target: { phase: 1 } },
];

describe.each(pgTargets())('schema on $name', (target) => {
  describe.each(STAGES)('$stage', ({ phase, target: upTarget }) => {
    const expected = SCHEMA[phase];
    const tables = Object.keys(expected.columns) as Table[];
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    let c: pg.Client;

    beforeAll(async () => {
      db = await freshDatabase(target);
      await migrator(db.url).up(upTarget);
      c = await connect(db.url);
    });
    afterAll(async () => {
      await c?.end();
      await db?.drop();
    });

    it(`has exactly the Phase ${phase === 1 ? '1' : '1 to 3'} tables and schema_migrations, all plain`, async () => {
      const { rows } = await c.query<{ name: string; kind: string }>(
        `SELECT c.relname AS name, c.relkind::text AS kind
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          ORDER BY 1`,
      );
      expect(rows).toEqual([...tables, 'schema_migrations'].sort().map((name) => ({ name, kind: 'r' })));
      expect(tables).toEqual(phase === 1 ? [...PHASE1_TABLES] : [...PHASE1_TABLES, ...PHASE2_TABLES, ...PHASE3_TABLES]);
    });

    it('schema_migrations records exactly the migration files of these phases as applied', async () => {
      const files = (await migrator(db.url).migrations()).filter((f) => f.phase <= phase);
      const { rows } = await c.query<{ version: number; phase: number }>(
        'SELECT version, phase FROM schema_migrations ORDER BY version',
      );
      expect(rows).toEqual(files.map((f) => ({ version: f.version, phase: f.phase })));
      expect(rows.map((r) => r.version)).toEqual(phase === 1 ? PHASE1_VERSIONS : ALL_VERSIONS);
    });

    // Only after `up --phase 1`: the spec's Phase 1 on its own, with nothing of Phase 2.
    if (phase === 1)
      it('Phase 1 alone: no Phase 2 table, no storage column on recordings, no password_hash on users', async () => {
        const { rows } = await c.query<{ t: string; columns: string[] }>(
          `SELECT c.relname AS t, array_agg(a.attname::text ORDER BY a.attnum) AS columns
           FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
          GROUP BY c.relname ORDER BY 1`,
        );
        expect(rows.map((r) => r.t)).toEqual([...PHASE1_TABLES].sort());
        const recordings = rows.find((r) => r.t === 'recordings')!.columns;
        expect(recordings).toEqual(SPEC.columns.recordings);
        for (const name of Object.keys(SPEC.storageColumns)) expect(recordings).not.toContain(name);
        expect(rows.find((r) => r.t === 'users')!.columns).not.toContain('password_hash');
        const { rows: absent } = await c.query(
          `SELECT to_regclass('public.idx_recordings_storage_key') AS idx,
                (SELECT count(*)::int FROM pg_constraint WHERE conname = 'chk_storage_provider') AS chk`,
        );
        expect(absent).toEqual([{ idx: null, chk: 0 }]);
      });

    it.each(tables)('%s has exactly the expected columns, types, defaults and nullability', async (table) => {
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
      expect(rows).toEqual(expected.columns[table]);
    });

    it('no column is generated, varchar/char/timestamp, a non-bigint numeric id, or has a collation', async () => {
      // The documented deviations: text not VARCHAR, timestamptz not TIMESTAMP, bigint ids not SERIAL.
      // users, auth_sessions and uploads have text ids by design (account name, token hash, tus id).
      const { rows } = await c.query<{ t: string; column: string; type: string }>(
        `SELECT c.table_name AS t, c.column_name AS column, c.data_type AS type
           FROM information_schema.columns c
          WHERE c.table_schema = 'public' AND c.table_name = ANY ($1::text[])
            AND (c.data_type IN ('character varying', 'character', 'timestamp without time zone')
                 OR (c.column_name = 'id' AND c.data_type <> 'bigint'
                     AND c.table_name NOT IN ('users', 'auth_sessions', 'uploads'))
                 OR c.is_generated <> 'NEVER' OR c.collation_name IS NOT NULL)`,
        [tables],
      );
      expect(rows).toEqual([]);
    });

    it.each(tables)(
      '%s has exactly the expected CHECK constraints, validated, by name and definition',
      async (table) => {
        const { rows } = await c.query<{ name: string; def: string; validated: boolean }>(
          `SELECT conname AS name, pg_get_constraintdef(oid) AS def, convalidated AS validated
           FROM pg_constraint
          WHERE conrelid = to_regclass($1) AND contype = 'c'
          ORDER BY conname`,
          [`public.${table}`],
        );
        const expectedChecks = Object.entries(expected.checks[table] ?? {})
          .map(([name, def]) => ({ name, def, validated: true }))
          .sort(byName);
        expect(rows).toEqual(expectedChecks);
      },
    );

    it('every CHECK is declared once: no two on a table share an expression (the sketch repeated them)', async () => {
      const { rows } = await c.query<{ t: string; def: string; names: string[] }>(
        `SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def,
                array_agg(conname::text ORDER BY conname) AS names
           FROM pg_constraint
          WHERE connamespace = 'public'::regnamespace AND contype = 'c'
          GROUP BY conrelid, pg_get_constraintdef(oid)
         HAVING count(*) > 1`,
      );
      expect(rows).toEqual([]);
    });

    it('the only constraints are primary keys and the named checks, unique constraints, foreign keys', async () => {
      // NOT NULL is excluded: PostgreSQL 18 records it in pg_constraint (contype 'n'), 15 does not.
      const { rows } = await c.query<{ t: string; name: string; type: string }>(
        `SELECT conrelid::regclass::text AS t, conname AS name, contype::text AS type
           FROM pg_constraint
          WHERE connamespace = 'public'::regnamespace AND conrelid <> 'public.schema_migrations'::regclass
            AND contype <> 'n'
          ORDER BY 1, 3, 2`,
      );
      const expectedConstraints = tables
        .flatMap((t) => [
          ...Object.keys(expected.checks[t] ?? {}).map((name) => ({ t, name, type: 'c' })),
          ...expected.foreignKeys.filter((f) => f.table === t).map((f) => ({ t, name: f.name, type: 'f' })),
          ...(expected.indexes[t] ?? [])
            .filter((i) => i.constraint)
            .map((i) => ({ t, name: i.name, type: i.constraint! })),
        ])
        .sort((a, b) =>
          a.t !== b.t
            ? a.t < b.t
              ? -1
              : 1
            : a.type !== b.type
              ? a.type < b.type
                ? -1
                : 1
              : a.name < b.name
                ? -1
                : 1,
        );
      expect(rows).toEqual(expectedConstraints);
    });

    it.each(tables)(
      '%s has exactly the expected btree indexes, columns in order with DESC, all valid and ready',
      async (table) => {
        const { rows } = await c.query(
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
                i.indisunique AS unique, i.indisprimary AS primary,
                (SELECT x.contype::text FROM pg_constraint x
                  WHERE x.conindid = i.indexrelid AND x.conrelid = i.indrelid
                    AND x.contype IN ('p', 'u', 'x')) AS constraint,
                am.amname::text AS method, pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
                i.indnullsnotdistinct AS "nullsNotDistinct",
                i.indisvalid AS valid, i.indisready AS ready, i.indislive AS live
           FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid
           JOIN pg_am am ON am.oid = ic.relam
          WHERE i.indrelid = to_regclass($1)
          ORDER BY ic.relname`,
          [`public.${table}`],
        );
        const expectedIndexes = [...(expected.indexes[table] ?? [])]
          .sort(byName)
          .map((x) => ({ ...x, method: 'btree', nullsNotDistinct: false, valid: true, ready: true, live: true }));
        expect(rows).toEqual(expectedIndexes);
      },
    );

    it('DESC indexes read DESC in pg_get_indexdef too', async () => {
      const desc = tables
        .flatMap((t) => (expected.indexes[t] ?? []).filter((i) => i.columns.some((k) => k.endsWith(' DESC'))))
        .sort(byName);
      const { rows } = await c.query<{ name: string; def: string }>(
        `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index
          WHERE indexrelid::regclass::text = ANY ($1::text[]) ORDER BY 1`,
        [desc.map((i) => i.name)],
      );
      expect(rows.map((r) => [r.name, r.def.replace(/^.* USING btree /, '')])).toEqual(
        desc.map((i) => [i.name, `(${i.columns.join(', ')})`]),
      );
      expect(desc.length).toBe(phase === 1 ? 5 : 9);
    });

    it('no idx_recordings_user_id, idx_sessions_user_id (documented); composite ones lead with user_id', async () => {
      const { rows } = await c.query<{ a: string | null; b: string | null }>(
        `SELECT to_regclass('public.idx_recordings_user_id')::text AS a,
                to_regclass('public.idx_sessions_user_id')::text AS b`,
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

    it('has exactly the expected foreign keys, to the right table and column, with the right ON DELETE', async () => {
      const { rows } = await c.query<ForeignKey>(
        `SELECT c.conname AS name,
                c.conrelid::regclass::text AS table,
                ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                       ORDER BY k.o)::text[] AS columns,
                c.confrelid::regclass::text AS "refTable",
                ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                       ORDER BY k.o)::text[] AS "refColumns",
                c.confdeltype::text AS "onDelete", c.confupdtype::text AS "onUpdate", c.confmatchtype::text AS match,
                c.condeferrable AS deferrable, c.convalidated AS validated
           FROM pg_constraint c
          WHERE c.connamespace = 'public'::regnamespace AND c.contype = 'f'
          ORDER BY c.conname`,
      );
      expect(rows).toEqual(expected.foreignKeys);
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

    it('every foreign key leads a valid index, so a cascading delete (or SET NULL) scans no child table', async () => {
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

    it('the triggers are exactly the updated_at keepers and the media-deletion outbox trigger', async () => {
      const { rows } = await c.query<{ def: string; enabled: string }>(
        `SELECT pg_get_triggerdef(t.oid) AS def, t.tgenabled::text AS enabled
           FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
          WHERE NOT t.tgisinternal AND r.relnamespace = 'public'::regnamespace
          ORDER BY t.tgname`,
      );
      expect(rows).toEqual(expected.triggers.map((def) => ({ def, enabled: 'O' })));
      expect(rows.length).toBe(phase === 1 ? 2 : 7);
    });

    it('the only functions: the triggers set_updated_at() and (Phase 2) queue_recording_media_deletion()', async () => {
      const { rows } = await c.query<{ fn: string; result: string }>(
        `SELECT p.oid::regprocedure::text AS fn, pg_get_function_result(p.oid) AS result
           FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1`,
      );
      expect(rows).toEqual([
        ...(phase === 1 ? [] : [{ fn: 'queue_recording_media_deletion()', result: 'trigger' }]),
        { fn: 'set_updated_at()', result: 'trigger' },
        ...(phase === 1 ? [] : [{ fn: 'tombstone_recording_share()', result: 'trigger' }]),
      ]);
    });

    // ------------------------------------------------------------------------------------------
    // The spec's contract, asserted name by name (independently of the exact lists above).
    // ------------------------------------------------------------------------------------------
    it('the spec’s contract: its Phase 1 tables, its columns in its order, its NOT NULLs and defaults', async () => {
      const { rows } = await c.query<{ t: string; name: string; notNull: boolean; default: string | null }>(
        `SELECT c.relname AS t, a.attname AS name, a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS default
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY ($1::text[])
            AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY c.relname, a.attnum`,
        [Object.keys(SPEC.columns)],
      );
      for (const [t, names] of Object.entries(SPEC.columns)) {
        // The spec's columns come first and in its order; Phase 2 only appends.
        expect(
          rows
            .filter((r) => r.t === t)
            .map((r) => r.name)
            .slice(0, names.length),
          t,
        ).toEqual(names);
      }
      for (const [t, names] of Object.entries(SPEC.notNull)) {
        for (const name of names)
          expect(rows.find((r) => r.t === t && r.name === name)?.notNull, `${t}.${name} NOT NULL`).toBe(true);
      }
      for (const [key, dflt] of Object.entries(SPEC.defaults)) {
        const [t, name] = key.split('.');
        expect(rows.find((r) => r.t === t && r.name === name)?.default, `${key} DEFAULT`).toBe(dflt);
      }
    });

    it('the spec’s contract: its named checks, once each, validated; its unnamed status check is named', async () => {
      const names = [...Object.keys(SPEC.checks), 'chk_recording_status'];
      const { rows } = await c.query<{ name: string; t: string; validated: boolean }>(
        `SELECT conname AS name, conrelid::regclass::text AS t, convalidated AS validated FROM pg_constraint
          WHERE connamespace = 'public'::regnamespace AND contype = 'c' AND conname = ANY ($1::text[])
          ORDER BY conname`,
        [names],
      );
      expect(rows).toEqual(
        Object.entries({ ...SPEC.checks, chk_recording_status: 'recordings' })
          .map(([name, t]) => ({ name, t, validated: true }))
          .sort(byName),
      );
    });

    it('the spec’s contract: its indexes, with its definitions (less the two documented redundant ones)', async () => {
      const { rows } = await c.query<{ name: string; def: string }>(
        `SELECT ic.relname AS name,
                i.indrelid::regclass::text || ' '
                || regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', '') AS def
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
          WHERE ic.relname = ANY ($1::text[]) AND i.indisvalid ORDER BY 1`,
        [Object.keys(SPEC.indexes)],
      );
      expect(Object.fromEntries(rows.map((r) => [r.name, r.def]))).toEqual(SPEC.indexes);
    });

    it('the spec’s contract: its foreign keys exist with its names, columns and ON DELETE CASCADE', async () => {
      const { rows } = await c.query<{ name: string; def: string }>(
        `SELECT c.conname AS name,
                c.conrelid::regclass::text || '(' || (SELECT string_agg(attname, ',') FROM pg_attribute
                                                        WHERE attrelid = c.conrelid AND attnum = ANY (c.conkey))
                || ') -> ' || c.confrelid::regclass::text || '(' || (SELECT string_agg(attname, ',') FROM pg_attribute
                                                        WHERE attrelid = c.confrelid AND attnum = ANY (c.confkey))
                || ') ON DELETE '
                || c.confdeltype::text AS def
           FROM pg_constraint c WHERE c.contype = 'f' AND c.conname = ANY ($1::text[]) ORDER BY 1`,
        [Object.keys(SPEC.foreignKeys)],
      );
      expect(Object.fromEntries(rows.map((r) => [r.name, r.def]))).toEqual(SPEC.foreignKeys);
    });

    if (phase >= 2)
      it('the spec’s contract, Phase 2: the five storage columns on recordings, provider default local', async () => {
        const { rows } = await c.query<{ name: string; type: string; default: string | null }>(
          `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                  pg_get_expr(d.adbin, d.adrelid) AS default
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = 'public.recordings'::regclass AND a.attname = ANY ($1::text[]) AND NOT a.attisdropped
          ORDER BY a.attnum`,
          [Object.keys(SPEC.storageColumns)],
        );
        // text for the spec's VARCHAR, as in Phase 1.
        expect(rows).toEqual(
          Object.entries(SPEC.storageColumns).map(([name, dflt]) => ({ name, type: 'text', default: dflt })),
        );
      });
  });
});

/**
 * Phase 2's safe-migration choices, observed on a Phase 1 database that already holds rows: adding the
 * columns rewrites no table, chk_storage_provider is added NOT VALID and validated by the next
 * migration, and the unique index is built by a no-transaction step (CONCURRENTLY) that ends valid.
 */
describe.each(pgTargets())('Phase 2 applied step by step to a Phase 1 database holding rows, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ phase: 1 });
    c = await connect(db.url);
    await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada')`);
    await c.query(
      `INSERT INTO recordings (user_id, title, recording_type, duration)
       VALUES ('u1', 'one', 'camera', 5), ('u1', 'two', 'audio', 7)`,
    );
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  const fileNode = async (table: string) =>
    (await c.query<{ n: string }>(`SELECT pg_relation_filenode($1::regclass)::text AS n`, [table])).rows[0]!.n;
  const storageCheck = async () =>
    (
      await c.query<{ validated: boolean }>(
        `SELECT convalidated AS validated FROM pg_constraint WHERE conname = 'chk_storage_provider'`,
      )
    ).rows;
  const storageIndex = async () =>
    (
      await c.query<{ unique: boolean; valid: boolean; ready: boolean }>(
        `SELECT indisunique AS unique, indisvalid AS valid, indisready AS ready FROM pg_index
          WHERE indexrelid = to_regclass('public.idx_recordings_storage_key')`,
      )
    ).rows;

  it(
    '0006 and 0007 rewrite no table; 0007 adds chk_storage_provider NOT VALID; 0008 validates it; ' +
      '0009 builds the unique index outside a transaction',
    async () => {
      const m = migrator(db.url);
      const users = await fileNode('users');
      const recordings = await fileNode('recordings');

      await m.up({ to: 6 });
      expect(await fileNode('users')).toBe(users);
      expect((await c.query('SELECT id, password_hash FROM users')).rows).toEqual([{ id: 'u1', password_hash: null }]);

      await m.up({ to: 7 });
      expect(await fileNode('recordings')).toBe(recordings);
      // Every existing row has a provider at once (constant default, no backfill).
      expect((await c.query('SELECT title, storage_provider, storage_key FROM recordings ORDER BY id')).rows).toEqual([
        { title: 'one', storage_provider: 'local', storage_key: null },
        { title: 'two', storage_provider: 'local', storage_key: null },
      ]);
      expect(await storageCheck()).toEqual([{ validated: false }]);
      expect(await storageIndex()).toEqual([]);

      await m.up({ to: 8 });
      expect(await storageCheck()).toEqual([{ validated: true }]);
      expect(await fileNode('recordings')).toBe(recordings);

      const next = (await m.plan('up'))[0]!;
      expect({ version: next.version, transactional: next.transactional }).toEqual({
        version: 9,
        transactional: false,
      });
      expect(next.sql).toMatch(
        /CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_recordings_storage_key ON recordings \(storage_key\)/,
      );
      await m.up({ to: 9 });
      expect(await storageIndex()).toEqual([{ unique: true, valid: true, ready: true }]);
      expect(await fileNode('recordings')).toBe(recordings);

      await m.up();
      expect(await m.pendingCount()).toBe(0);
      expect((await c.query('SELECT count(*)::int AS n FROM recordings')).rows[0].n).toBe(2);
    },
  );
});

/**
 * The take columns on recording_sessions (0011..0015), applied to a database whose sessions table holds
 * rows: no rewrite, the links added NOT VALID and validated by the next migration, the three indexes
 * built outside a transaction and valid.
 */
describe.each(pgTargets())(
  'the take columns applied step by step to recording_sessions holding rows, on $name',
  (target) => {
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    let c: pg.Client;

    beforeAll(async () => {
      db = await freshDatabase(target);
      await migrator(db.url).up({ to: 10 });
      c = await connect(db.url);
      await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada')`);
      await c.query(
        `INSERT INTO recording_sessions (user_id, recording_type, started_at, status)
         VALUES ('u1', 'camera', now(), 'active'), ('u1', 'audio', now(), 'completed')`,
      );
    });
    afterAll(async () => {
      await c?.end();
      await db?.drop();
    });

    const links = async () =>
      (
        await c.query<{ name: string; validated: boolean }>(
          `SELECT conname AS name, convalidated AS validated FROM pg_constraint
          WHERE conrelid = 'public.recording_sessions'::regclass
            AND conname IN ('fk_sessions_project', 'fk_sessions_recording', 'chk_session_discarded_or_kept')
          ORDER BY 1`,
        )
      ).rows;

    it(
      '0011 rewrites nothing and adds its links NOT VALID; 0012 validates them; ' +
        '0013..0015 build valid indexes outside a transaction',
      async () => {
        const m = migrator(db.url);
        const node = async () =>
          (await c.query<{ n: string }>(`SELECT pg_relation_filenode('recording_sessions')::text AS n`)).rows[0]!.n;
        const before = await node();
        await m.up({ to: 11 });
        expect(await node()).toBe(before);
        expect(
          (
            await c.query(
              'SELECT recording_type, project_id, last_heartbeat_at, recording_id, discarded_at, take ' +
                'FROM recording_sessions ORDER BY id',
            )
          ).rows,
        ).toEqual([
          {
            recording_type: 'camera',
            project_id: null,
            last_heartbeat_at: null,
            recording_id: null,
            discarded_at: null,
            take: null,
          },
          {
            recording_type: 'audio',
            project_id: null,
            last_heartbeat_at: null,
            recording_id: null,
            discarded_at: null,
            take: null,
          },
        ]);
        expect(await links()).toEqual([
          { name: 'chk_session_discarded_or_kept', validated: false },
          { name: 'fk_sessions_project', validated: false },
          { name: 'fk_sessions_recording', validated: false },
        ]);
        await m.up({ to: 12 });
        expect((await links()).every((l) => l.validated)).toBe(true);
        const plan = await m.plan('up', { to: 15 });
        expect(plan.map((p) => [p.version, p.transactional])).toEqual([
          [13, false],
          [14, false],
          [15, false],
        ]);
        await m.up({ to: 15 });
        const { rows } = await c.query(
          `SELECT ic.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE ic.relname IN ('idx_sessions_recording_id', 'idx_sessions_project_id', 'idx_sessions_active_heartbeat')
        ORDER BY 1`,
        );
        expect(rows).toEqual([
          { name: 'idx_sessions_active_heartbeat', valid: true },
          { name: 'idx_sessions_project_id', valid: true },
          { name: 'idx_sessions_recording_id', valid: true },
        ]);
        expect(await node()).toBe(before);
      },
    );

    it('the sweep’s query uses the partial index', async () => {
      await c.query('SET enable_seqscan = off');
      const { rows } = await c.query(
        `EXPLAIN SELECT id FROM recording_sessions
          WHERE status = 'active' AND coalesce(last_heartbeat_at, started_at) < now() - interval '45 seconds'`,
      );
      await c.query('RESET enable_seqscan');
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/idx_sessions_active_heartbeat/);
    });
  },
);
