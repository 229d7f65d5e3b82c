import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type { DB, MemberRole, NewRecording, Quality, RecordingStatus, RecordingType } from '../db/schema.js';
import { memberRole } from '../projects/membership.js';
import type { ServerMetadata } from './metadata.js';

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

  insert(row: NewRecording) {
    return this.db.insertInto('recordings').values(row).returningAll().executeTakeFirstOrThrow();
  }

  setStatus(id: string, status: RecordingStatus, metadataPatch: ServerMetadata) {
    return this.db
      .updateTable('recordings')
      .set({ status, metadata: sql`coalesce(metadata, '{}'::jsonb) || ${JSON.stringify(metadataPatch)}::jsonb` })
      .where('id', '=', id)
      .execute();
  }

  /** Deletes the row; its delete trigger queues the media in the same transaction (migration 0010). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('recordings').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
