/**
 * The one typed view of the database for Kysely. Mirrors migrations/ (which never import this file).
 * Use Selectable/Insertable/Updateable of these tables rather than hand-written row types.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Quality, RecordingType, SessionEventKind } from '../../shared/domain.js';
import type { RecordingMetadata } from '../recordings/metadata.js';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Kysely's Generated<> must not wrap a ColumnType: these are the generated forms spelled out. */
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type GeneratedBigInt = ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
/** bigint identity columns come back from pg as strings (int8 does not fit a JS number in general). */
type BigId = string;
type BigIntColumn = ColumnType<string, string | number | bigint, string | number | bigint>;
type Json = ColumnType<unknown, string | undefined, string>;

// The domain's enumerations live in src/shared (the browser app needs them too); re-exported for the server.
export {
  QUALITIES,
  type Quality,
  RECORDING_TYPES,
  type RecordingType,
  SESSION_EVENT_KINDS,
  type SessionEventKind,
} from '../../shared/domain.js';
export const RECORDING_STATUSES = ['processing', 'completed', 'failed'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];
export const SESSION_STATUSES = ['active', 'completed', 'interrupted'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export const EDIT_TYPES = ['trim', 'crop', 'filter', 'text_overlay', 'audio'] as const;
export type EditType = (typeof EDIT_TYPES)[number];

export interface UsersTable {
  id: string;
  email: string;
  display_name: string;
  password_hash: string | null;
  created_at: GeneratedTimestamp;
}

export interface ProjectsTable {
  id: Generated<BigId>;
  owner_id: string;
  name: string;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface RecordingsTable {
  id: Generated<BigId>;
  user_id: string;
  project_id: BigIntColumn | null;
  title: string;
  description: string | null;
  recording_type: RecordingType;
  duration: number;
  file_size: BigIntColumn | null;
  mime_type: string | null;
  storage_url: string | null;
  thumbnail_url: string | null;
  quality: Generated<Quality>;
  status: Generated<RecordingStatus>;
  metadata: ColumnType<RecordingMetadata | null, string | undefined, string>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  storage_provider: Generated<StorageProvider>;
  storage_key: string | null;
  storage_region: string | null;
  storage_bucket: string | null;
  cdn_url: string | null;
  /** Migration 0023 (issue 12): bumped by every edit, undo and redo; the editor's If-Match. */
  edit_revision: GeneratedBigInt;
  /** Migration 0024 (issue 12): the version played instead of the original; NULL plays the original. */
  current_version_id: BigIntColumn | null;
}

export interface RecordingSessionsTable {
  id: Generated<BigId>;
  user_id: string;
  recording_type: RecordingType;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  duration: number | null;
  device_info: Json | null;
  settings: Json | null;
  status: Generated<SessionStatus>;
  error_message: string | null;
  created_at: GeneratedTimestamp;
  /** Migrations 0011..0015 (issue 4): what the web app needs to never lose a take. */
  project_id: BigIntColumn | null;
  last_heartbeat_at: Timestamp | null;
  recording_id: BigIntColumn | null;
  discarded_at: Timestamp | null;
  /** The details given when keeping the take: see SessionTake. */
  take: Json | null;
  /** Migration 0033 (issue 14): parsed from device_info.userAgent (src/server/sessions/device.ts). */
  browser: string | null;
  os: string | null;
  device_kind: string | null;
  /** Migration 0033: settings.quality when it is one of QUALITIES (the analytics index holds it). */
  quality: string | null;
}

/** recording_session_events.detail: what each kind records (all optional; small). */
export interface SessionEventDetail {
  /** heartbeat: recorded so far, and bytes in the browser. */
  durationMs?: number;
  bytes?: number;
  /** interrupted: why, and who said so (the tab, or the stale-session sweep). */
  reason?: string;
  by?: 'client' | 'sweep';
  /** completed: the recording the take became, through which upload. */
  recordingId?: string;
  uploadId?: string;
}

/** Migration 0032 (issue 14): a take's timeline, for the analytics drill-down. */
export interface RecordingSessionEventsTable {
  id: Generated<BigId>;
  session_id: BigIntColumn;
  at: GeneratedTimestamp;
  kind: SessionEventKind;
  detail: ColumnType<SessionEventDetail | null, string | null | undefined, string | null>;
}

/** recording_sessions.take: what the user said about the take when keeping it. */
export interface SessionTake {
  title?: string;
  description?: string | null;
  projectId?: string | null;
  durationMs?: number;
  metadata?: Record<string, unknown>;
}

export interface RecordingEditsTable {
  id: Generated<BigId>;
  recording_id: BigIntColumn;
  edit_type: EditType;
  parameters: ColumnType<unknown, string, string>;
  applied_at: GeneratedTimestamp;
  undo_data: Json | null;
  /** Migrations 0023/0027/0028 (issue 12): the history as a stack (src/server/edits/, docs/editor.md). */
  created_by: string | null;
  /** 1.. per recording (NOT NULL by check since 0027). */
  position: number;
  undone_at: Timestamp | null;
  dropped_at: Timestamp | null;
}

export const VERSION_STATUSES = ['rendering', 'ready', 'failed'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** Migration 0024 (issue 12): a recording's edit stack rendered into its own object (src/server/versions/). */
export interface RecordingVersionsTable {
  id: Generated<BigId>;
  recording_id: BigIntColumn;
  number: number;
  status: ColumnType<VersionStatus, VersionStatus | undefined, VersionStatus>;
  progress: ColumnType<number, number | undefined, number>;
  error: string | null;
  edit_revision: BigIntColumn;
  /** {revision, state, edits}: what the render used (src/server/versions/versions.service.ts). */
  edits: ColumnType<unknown, string, string>;
  storage_provider: StorageProvider;
  storage_key: string;
  storage_bucket: string | null;
  storage_region: string | null;
  /** The version's own thumbnail (under its recording's prefix), shown while it is current. */
  thumbnail_key: string | null;
  file_size: BigIntColumn | null;
  sha256: string | null;
  duration_ms: number | null;
  mime_type: string | null;
  width: number | null;
  height: number | null;
  created_by: string | null;
  created_at: GeneratedTimestamp;
  completed_at: Timestamp | null;
}

export const STORAGE_PROVIDERS = ['local', 's3'] as const;
export type StorageProvider = (typeof STORAGE_PROVIDERS)[number];
export const MEMBER_ROLES = ['owner', 'editor', 'viewer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export const UPLOAD_STATUSES = ['uploading', 'completed', 'failed', 'terminated'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export interface AuthSessionsTable {
  id: string;
  user_id: string;
  created_at: GeneratedTimestamp;
  last_seen_at: GeneratedTimestamp;
  expires_at: Timestamp;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: Generated<BigId>;
  user_id: string;
  name: string;
  token_hash: string;
  token_prefix: string;
  created_at: GeneratedTimestamp;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface ProjectMembersTable {
  project_id: BigIntColumn;
  user_id: string;
  role: MemberRole;
  created_at: GeneratedTimestamp;
}

export interface UploadsTable {
  id: string;
  user_id: string;
  recording_id: BigIntColumn | null;
  session_id: BigIntColumn | null;
  upload_length: BigIntColumn | null;
  upload_offset: GeneratedBigInt;
  metadata: ColumnType<Record<string, string>, string | undefined, string>;
  status: Generated<UploadStatus>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  completed_at: Timestamp | null;
  /** Migration 0016 (issue 8): the upload streams into its final place; see docs/storage.md. */
  storage_provider: StorageProvider | null;
  storage_bucket: string | null;
  storage_region: string | null;
  storage_key: string | null;
  reserved_recording_id: BigIntColumn | null;
  media_type: string | null;
  hash_state: Buffer | null;
  sha256: string | null;
  multipart_id: string | null;
  lock_token: string | null;
  lock_expires_at: Timestamp | null;
  release_requested_at: Timestamp | null;
  error: string | null;
}

export interface UploadPartsTable {
  upload_id: string;
  part_number: BigIntColumn;
  etag: string;
  size: BigIntColumn;
}

export interface UploadChunksTable {
  upload_id: string;
  start_offset: BigIntColumn;
  bytes: Buffer;
}

export interface StorageDeletionsTable {
  id: Generated<BigId>;
  storage_provider: StorageProvider;
  storage_bucket: string | null;
  storage_key: string;
  requested_at: GeneratedTimestamp;
  attempts: GeneratedBigInt;
  last_error: string | null;
  /** Migration 0020: not deleted before this (a migrated recording's source, after a grace period). */
  not_before: Timestamp | null;
}

export const STORAGE_MIGRATION_STATUSES = ['queued', 'running', 'paused', 'cancelled', 'finished', 'failed'] as const;
export type StorageMigrationStatus = (typeof STORAGE_MIGRATION_STATUSES)[number];

/** storage_migrations.filters: which recordings a run moves (all when empty). */
export interface StorageMigrationFilters {
  userId?: string;
  projectId?: string;
  /** ISO timestamp: recordings created before it. */
  createdBefore?: string;
}

/** A run of `recorder storage migrate` (0020; src/server/storage-migration/). */
export interface StorageMigrationsTable {
  id: Generated<BigId>;
  target_provider: StorageProvider;
  target_bucket: string | null;
  target_region: string | null;
  filters: ColumnType<StorageMigrationFilters, string | undefined, string>;
  batch_size: number;
  concurrency: number;
  max_mib_per_s: number | null;
  status: Generated<StorageMigrationStatus>;
  last_recording_id: GeneratedBigInt;
  total_count: GeneratedBigInt;
  moved_count: GeneratedBigInt;
  skipped_count: GeneratedBigInt;
  failed_count: GeneratedBigInt;
  total_bytes: GeneratedBigInt;
  moved_bytes: GeneratedBigInt;
  last_error: string | null;
  /** A user id (admin API), or 'cli'. */
  started_by: string;
  created_at: GeneratedTimestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: GeneratedTimestamp;
}

export interface StorageMigrationFailuresTable {
  id: Generated<BigId>;
  migration_id: BigIntColumn;
  recording_id: BigIntColumn;
  reason: string;
  at: GeneratedTimestamp;
}

export const LEGACY_IMPORT_ORIGINS = ['browser', 'cli'] as const;
export type LegacyImportOrigin = (typeof LEGACY_IMPORT_ORIGINS)[number];
export const LEGACY_ITEM_OUTCOMES = ['imported', 'already', 'skipped', 'failed'] as const;
export type LegacyItemOutcome = (typeof LEGACY_ITEM_OUTCOMES)[number];
/** Where a legacy item came from (src/shared/legacy-format.ts LEGACY_SOURCES; the column's CHECK). */
export type LegacySourceColumn = 'saved-recordings' | 'browser-take';

/** One legacy import run, from a browser or the CLI (0022; src/server/imports/). */
export interface LegacyImportsTable {
  id: Generated<BigId>;
  user_id: string;
  origin: LegacyImportOrigin;
  status: Generated<'running' | 'completed'>;
  item_count: ColumnType<number, number | undefined, number>;
  byte_count: GeneratedBigInt;
  client: string | null;
  started_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  finished_at: Timestamp | null;
}

/** An item of an import and what became of it; 'imported' rows hold the legacy key (unique). */
export interface LegacyImportItemsTable {
  id: Generated<BigId>;
  import_id: BigIntColumn;
  user_id: string;
  legacy_source: LegacySourceColumn;
  legacy_id: string | null;
  sha256: string | null;
  size: BigIntColumn | null;
  title: string | null;
  outcome: LegacyItemOutcome;
  reason: string | null;
  message: string | null;
  recording_id: BigIntColumn | null;
  created_at: GeneratedTimestamp;
}

/**
 * A comment or reply on a recording (0031; src/server/comments/): by a member (author_id) or a link's guest
 * (guest_name, guest_key_hash, share_id). revision is taken from a sequence on every change (the poll cursor).
 */
export interface RecordingCommentsTable {
  id: Generated<BigId>;
  recording_id: BigIntColumn;
  parent_id: BigIntColumn | null;
  author_id: string | null;
  share_id: BigIntColumn | null;
  guest_name: string | null;
  guest_key_hash: string | null;
  at_ms: number | null;
  body: string;
  created_at: GeneratedTimestamp;
  edited_at: Timestamp | null;
  deleted_at: Timestamp | null;
  resolved_at: Timestamp | null;
  resolved_by: string | null;
  revision: GeneratedBigInt;
}

/** Guests' comments per link and address in the current minute (0031; comments/comments.service.ts). */
export interface GuestCommentLimitsTable {
  key: string;
  window_started_at: Timestamp;
  comments: number;
}

/** Failed sign-ins per account and per address (0019; auth/sign-in-limits.ts). */
export interface SignInLimitsTable {
  key: string;
  failures: ColumnType<number, number | undefined, number>;
  window_started_at: Timestamp;
  locked_until: Date | null;
  lockouts: ColumnType<number, number | undefined, number>;
  updated_at: GeneratedTimestamp;
}

/** A share link of a recording (0030; src/server/shares/). The token itself is never stored: its sha256. */
export interface RecordingSharesTable {
  id: Generated<BigId>;
  recording_id: BigIntColumn;
  created_by: string | null;
  token_hash: string;
  label: string | null;
  password_hash: string | null;
  allow_comment: ColumnType<boolean, boolean | undefined, boolean>;
  allow_download: ColumnType<boolean, boolean | undefined, boolean>;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  view_count: GeneratedBigInt;
  last_viewed_at: Timestamp | null;
  created_at: GeneratedTimestamp;
}

/** The hash of a share link whose row is gone (its recording deleted): 410 SHARE_GONE, not 404 (0030). */
export interface ShareTombstonesTable {
  token_hash: string;
  recording_id: BigIntColumn;
  gone_at: GeneratedTimestamp;
}

/** Wrong share-link passwords per link and per address (0030; shares/share-limits.ts). */
export interface SharePasswordFailuresTable {
  key: string;
  failures: ColumnType<number, number | undefined, number>;
  window_started_at: Timestamp;
  updated_at: GeneratedTimestamp;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  phase: number;
  checksum: string;
  transactional: boolean;
  applied_at: GeneratedTimestamp;
  duration_ms: number;
}

export interface DB {
  users: UsersTable;
  projects: ProjectsTable;
  recordings: RecordingsTable;
  recording_sessions: RecordingSessionsTable;
  recording_session_events: RecordingSessionEventsTable;
  recording_edits: RecordingEditsTable;
  recording_versions: RecordingVersionsTable;
  recording_comments: RecordingCommentsTable;
  guest_comment_limits: GuestCommentLimitsTable;
  auth_sessions: AuthSessionsTable;
  api_tokens: ApiTokensTable;
  project_members: ProjectMembersTable;
  uploads: UploadsTable;
  upload_parts: UploadPartsTable;
  upload_chunks: UploadChunksTable;
  storage_deletions: StorageDeletionsTable;
  storage_migrations: StorageMigrationsTable;
  storage_migration_failures: StorageMigrationFailuresTable;
  sign_in_limits: SignInLimitsTable;
  legacy_imports: LegacyImportsTable;
  legacy_import_items: LegacyImportItemsTable;
  recording_shares: RecordingSharesTable;
  share_tombstones: ShareTombstonesTable;
  share_password_failures: SharePasswordFailuresTable;
  schema_migrations: SchemaMigrationsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Project = Selectable<ProjectsTable>;
export type NewProject = Insertable<ProjectsTable>;
export type Recording = Selectable<RecordingsTable>;
export type NewRecording = Insertable<RecordingsTable>;
export type RecordingUpdate = Updateable<RecordingsTable>;
export type RecordingSession = Selectable<RecordingSessionsTable>;
export type NewRecordingSession = Insertable<RecordingSessionsTable>;
export type RecordingEdit = Selectable<RecordingEditsTable>;
export type NewRecordingEdit = Insertable<RecordingEditsTable>;
