import { sql, type Expression, type ExpressionBuilder, type Kysely, type NotNull, type SqlBool } from 'kysely';
import type {
  DB,
  MemberRole,
  NewRecording,
  Quality,
  RecordingStatus,
  RecordingType,
  RecordingUpdate,
  StorageProvider,
} from '../db/schema.js';
import { memberRole } from '../projects/membership.js';
import type { ServerMetadata, ServerMetadataKey } from './metadata.js';

export interface ListFilter {
  userId: string;
  limit: number;
  cursor?: { createdAt: string; id: string };
  recordingType?: RecordingType;
  projectId?: string;
  status?: RecordingStatus;
  quality?: Quality;
  q?: string;
}

const COLUMNS = [
  'r.id',
  'r.user_id',
  'r.project_id',
  'r.title',
  'r.description',
  'r.recording_type',
  'r.duration',
  'r.file_size',
  'r.mime_type',
  'r.storage_url',
  'r.thumbnail_url',
  'r.quality',
  'r.status',
  'r.metadata',
  'r.created_at',
  'r.updated_at',
  'r.storage_provider',
  'r.storage_key',
  'r.storage_bucket',
  'r.cdn_url',
] as const;

/** What processing measures and writes to the row's columns. */
export type ProcessedColumns = Required<
  Pick<RecordingUpdate, 'duration' | 'file_size' | 'mime_type' | 'thumbnail_url'>
>;

/** Keys that only mean something while a recording is processing (or unmeasured); gone once it is processed. */
const CLEARED_WHEN_PROCESSED: readonly ServerMetadataKey[] = ['progress', 'error', 'duration_unknown'];

/** The stored metadata without `drop`, with `patch` merged over it (a row without metadata starts empty). */
function merged(patch: ServerMetadata, drop: readonly ServerMetadataKey[] = []) {
  const kept = drop.length
    ? sql`coalesce(metadata, '{}'::jsonb) - ${[...drop]}::text[]`
    : sql`coalesce(metadata, '{}'::jsonb)`;
  return sql<string>`${kept} || ${JSON.stringify(patch)}::jsonb`;
}

/** LIKE pattern that matches `q` literally anywhere. */
function contains(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class RecordingsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * A page of the recordings a user can see, newest first, keyset-paginated on (created_at, id).
   * "Can see" = theirs, or in a project they belong to. The two sources are separate index scans
   * (idx_recordings_user_created; idx_recordings_project_id) merged by a UNION: one OR-ed predicate
   * would make PostgreSQL walk the whole created_at index for a user with few recordings.
   */
  async list(f: ListFilter) {
    const filters = (eb: ExpressionBuilder<DB, 'recordings'>) => {
      const c: Expression<SqlBool>[] = [];
      if (f.cursor)
        c.push(
          eb(
            eb.refTuple('created_at', 'id'),
            '<',
            eb.tuple(sql<Date>`${f.cursor.createdAt}::timestamptz`, f.cursor.id),
          ),
        );
      if (f.recordingType) c.push(eb('recording_type', '=', f.recordingType));
      if (f.status) c.push(eb('status', '=', f.status));
      if (f.quality) c.push(eb('quality', '=', f.quality));
      if (f.q) c.push(eb.or([eb('title', 'ilike', contains(f.q)), eb('description', 'ilike', contains(f.q))]));
      return eb.and(c);
    };
    const branch = (where: (eb: ExpressionBuilder<DB, 'recordings'>) => Expression<SqlBool>) =>
      this.db
        .selectFrom('recordings')
        .selectAll()
        .select(sql<string>`created_at::text`.as('cursor_ts'))
        .where((eb) => eb.and([where(eb), filters(eb)]))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(f.limit);

    const memberProjects = this.db.selectFrom('project_members').select('project_id').where('user_id', '=', f.userId);
    if (f.projectId) {
      return this.db
        .selectFrom(
          branch((eb) => eb.and([eb('project_id', '=', f.projectId!), eb('project_id', 'in', memberProjects)])).as('r'),
        )
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
    }
    // Each branch keeps its own ORDER BY/LIMIT inside a derived table (SQL forbids them on union arms).
    const own = this.db.selectFrom(branch((eb) => eb('user_id', '=', f.userId)).as('o')).selectAll();
    const shared = this.db
      .selectFrom(
        branch((eb) => eb.and([eb('user_id', '<>', f.userId), eb('project_id', 'in', memberProjects)])).as('s'),
      )
      .selectAll();
    return this.db
      .selectFrom(own.unionAll(shared).as('r'))
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit)
      .execute();
  }

  /** The recording if userId may see it, with their project role (undefined for their own). */
  getVisible(id: string, userId: string) {
    return this.db
      .selectFrom('recordings as r')
      .leftJoin('project_members as m', (j) =>
        j.onRef('m.project_id', '=', 'r.project_id').on('m.user_id', '=', userId),
      )
      .select(COLUMNS)
      .select('m.role')
      .where('r.id', '=', id)
      .where((eb) => eb.or([eb('r.user_id', '=', userId), eb('m.user_id', 'is not', null)]))
      .executeTakeFirst();
  }

  getById(id: string) {
    return this.db.selectFrom('recordings as r').select(COLUMNS).where('r.id', '=', id).executeTakeFirst();
  }

  /** The user's role in each of these projects (absent: not a member), in one query. */
  async rolesIn(projectIds: string[], userId: string): Promise<Map<string, MemberRole>> {
    if (projectIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('project_members')
      .select(['project_id', 'role'])
      .where('user_id', '=', userId)
      .where('project_id', 'in', projectIds)
      .execute();
    return new Map(rows.map((r) => [r.project_id, r.role]));
  }

  roleIn(projectId: string, userId: string) {
    return memberRole(this.db, projectId, userId);
  }

  update(id: string, patch: { title?: string; description?: string | null; project_id?: string | null }) {
    return this.db.updateTable('recordings').set(patch).where('id', '=', id).returning('id').executeTakeFirst();
  }

  setStatus(id: string, status: RecordingStatus, metadataPatch: ServerMetadata) {
    return this.mergeMetadata(id, metadataPatch, status);
  }

  /** Merges `patch` into the metadata (other keys stay), and sets the status when one is given. */
  async mergeMetadata(id: string, patch: ServerMetadata, status?: RecordingStatus): Promise<void> {
    await this.db
      .updateTable('recordings')
      .set({ metadata: merged(patch), ...(status ? { status } : {}) })
      .where('id', '=', id)
      .execute();
  }

  /** Processing's result: the measured columns, status completed, the metadata with `patch` merged in. */
  async markProcessed(id: string, columns: ProcessedColumns, patch: ServerMetadata): Promise<void> {
    await this.db
      .updateTable('recordings')
      .set({ ...columns, status: 'completed', metadata: merged(patch, CLEARED_WHEN_PROCESSED) })
      .where('id', '=', id)
      .execute();
  }

  /** Recordings in this status (at start: those a crash left `processing`). */
  async idsInStatus(status: RecordingStatus): Promise<string[]> {
    const rows = await this.db.selectFrom('recordings').select('id').where('status', '=', status).execute();
    return rows.map((r) => r.id);
  }

  /** The owner (user_id) of each of these recordings that exists, in one query. */
  async ownersOf(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('recordings').select(['id', 'user_id']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, r.user_id]));
  }

  /** Recordings created before `cutoff` whose media is at this provider: each must have its object. */
  storedBefore(provider: StorageProvider, cutoff: Date): Promise<{ id: string; storage_key: string }[]> {
    return this.db
      .selectFrom('recordings')
      .select(['id', 'storage_key'])
      .where('storage_key', 'is not', null)
      .where('storage_provider', '=', provider)
      .where('created_at', '<', cutoff)
      .$narrowType<{ storage_key: NotNull }>()
      .execute();
  }

  /** A recording made from a finished upload (uploads.service.ts), under the id its upload reserved. */
  async insert(recording: NewRecording): Promise<void> {
    await this.db.insertInto('recordings').values(recording).execute();
  }

  /** Deletes the row; its delete trigger queues the media in the same transaction (migration 0010). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('recordings').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
