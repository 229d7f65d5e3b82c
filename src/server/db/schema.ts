/**
 * The one typed view of the database for Kysely. Mirrors migrations/ (which never import this file).
 * Use Selectable/Insertable/Updateable of these tables rather than hand-written row types.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** bigint identity columns come back from pg as strings (int8 does not fit a JS number in general). */
type BigId = ColumnType<string, never, never>;
type BigIntColumn = ColumnType<string, string | number | bigint, string | number | bigint>;
type Json = ColumnType<unknown, string | undefined, string>;

export const RECORDING_TYPES = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'] as const;
export type RecordingType = (typeof RECORDING_TYPES)[number];
export const QUALITIES = ['high', 'medium', 'low'] as const;
export type Quality = (typeof QUALITIES)[number];
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
  created_at: Generated<Timestamp>;
}

export interface ProjectsTable {
  id: Generated<BigId>;
  owner_id: string;
  name: string;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
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
  metadata: Json | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
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
  created_at: Generated<Timestamp>;
}

export interface RecordingEditsTable {
  id: Generated<BigId>;
  recording_id: BigIntColumn;
  edit_type: EditType;
  parameters: ColumnType<unknown, string, string>;
  applied_at: Generated<Timestamp>;
  undo_data: Json | null;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  phase: number;
  checksum: string;
  transactional: boolean;
  applied_at: Generated<Timestamp>;
  duration_ms: number;
}

export interface DB {
  users: UsersTable;
  projects: ProjectsTable;
  recordings: RecordingsTable;
  recording_sessions: RecordingSessionsTable;
  recording_edits: RecordingEditsTable;
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
