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
import { AccessRepository } from '../access/access.repository.js';
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
  'r.storage_region',
  'r.cdn_url',
  'r.current_version_id',
] as const;

/**
 * The current version's facts (issue 12), joined by its primary key: what the recording plays when a
 * version is current (recordings.service.ts toApi). A current version is always ready (versions.repository).
 */
const CURRENT_VERSION = [
  'cv.duration_ms as current_duration_ms',
  'cv.file_size as current_file_size',
  'cv.mime_type as current_mime_type',
  'cv.thumbnail_key as current_thumbnail_key',
] as const;

/**
 * Whether a live link shares the recording (issue 13: the library's "Shared" badge): one probe of
 * idx_recording_shares_recording per row, so a page of 50 costs 50 index lookups.
 */
const SHARED = sql<boolean>`EXISTS (
  SELECT 1 FROM recording_shares s
   WHERE s.recording_id = r.id AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now()))`.as(
  'shared',
);

/** Comments that stand (issue 13): an index-only count on idx_recording_comments_live, per row of a page. */
const COMMENT_COUNT = sql<number>`(SELECT count(*)::int FROM recording_comments c
   WHERE c.recording_id = r.id AND c.deleted_at IS NULL)`.as('comment_count');
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

/** The list's optional filters and keyset cursor, on one `recordings` source. */
function listFilters(eb: ExpressionBuilder<DB, 'recordings'>, f: ListFilter): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (f.cursor)
    conditions.push(
      eb(
        eb.refTuple('recordings.created_at', 'recordings.id'),
        '<',
        eb.tuple(sql<Date>`${f.cursor.createdAt}::timestamptz`, f.cursor.id),
      ),
    );
  if (f.recordingType) conditions.push(eb('recordings.recording_type', '=', f.recordingType));
  if (f.status) conditions.push(eb('recordings.status', '=', f.status));
  if (f.quality) conditions.push(eb('recordings.quality', '=', f.quality));
  if (f.q) {
    const pattern = contains(f.q);
    const inText = [eb('recordings.title', 'ilike', pattern), eb('recordings.description', 'ilike', pattern)];
    conditions.push(eb.or(inText));
  }
  return eb.and(conditions);
}

export class RecordingsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * A page of the recordings a user can see, newest first, keyset-paginated on (created_at, id).
   * "Can see" = theirs, or in a project they belong to. Every source is walked in page order on an index
   * and stops after `limit` rows (bench/results/library.json has the plans):
   *  - their own recordings: idx_recordings_user_created;
   *  - each of their projects: idx_recordings_project_created (0018) per project (a LATERAL join), so a
   *    user in 50 projects reads at most 50 x limit index entries, however large the projects are.
   * Only the keys (created_at, id) are merged (DISTINCT: their own recordings in their projects come from
   * both sides, next to each other in page order), from the indexes alone where no filter needs the row;
   * the page's rows are then fetched by id.
   */
  async list(f: ListFilter) {
    const page = f.projectId ? this.projectPageKeys(f, f.projectId) : this.libraryPageKeys(f);
    return this.db
      .with('page', () => page)
      .selectFrom('page')
      .innerJoin('recordings as r', 'r.id', 'page.id')
      .leftJoin('recording_versions as cv', 'cv.id', 'r.current_version_id')
      .selectAll('r')
      .select(CURRENT_VERSION)
      .select(SHARED)
      .select(COMMENT_COUNT)
      .select(sql<string>`r.created_at::text`.as('cursor_ts'))
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc')
      .execute();
  }

  /** The page's keys over the user's own recordings and every project they belong to. */
  private libraryPageKeys(f: ListFilter) {
    const ownRecent = this.db
      .selectFrom('recordings')
      .select(['created_at', 'id'])
      .where('user_id', '=', f.userId)
      .where((eb) => listFilters(eb, f))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit);
    const inProjects = this.db
      .selectFrom('project_members as m')
      .innerJoinLateral(
        (eb) =>
          eb
            .selectFrom('recordings')
            .select(['created_at', 'id'])
            .whereRef('recordings.project_id', '=', 'm.project_id')
            .where((inner) => listFilters(inner, f))
            .orderBy('created_at', 'desc')
            .orderBy('id', 'desc')
            .limit(f.limit)
            .as('p'),
        (join) => join.onTrue(),
      )
      .select(['p.created_at', 'p.id'])
      .where('m.user_id', '=', f.userId);
    // Each arm keeps its own ORDER BY/LIMIT inside a derived table (SQL forbids them on union arms).
    const own = this.db.selectFrom(ownRecent.as('o')).select(['o.created_at', 'o.id']);
    return this.db
      .selectFrom(own.unionAll(inProjects).as('k'))
      .select(['k.created_at', 'k.id'])
      .distinct()
      .orderBy('k.created_at', 'desc')
      .orderBy('k.id', 'desc')
      .limit(f.limit);
  }

  /** The page's keys in one project, only if the user belongs to it. */
  private projectPageKeys(f: ListFilter, projectId: string) {
    return this.db
      .selectFrom('recordings')
      .select(['created_at', 'id'])
      .where('project_id', '=', projectId)
      .where('project_id', 'in', this.memberProjects(f.userId))
      .where((eb) => listFilters(eb, f))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit);
  }

  private memberProjects(userId: string) {
    return this.db.selectFrom('project_members').select('project_id').where('user_id', '=', userId);
  }

  /**
   * The recording with userId's role in its project (null: not a member, or no project), whoever may
   * see it: what they may do with it is decided in access.ts.
   */
  getWithRole(id: string, userId: string) {
    return this.db
      .selectFrom('recordings as r')
      .leftJoin('project_members as m', (j) =>
        j.onRef('m.project_id', '=', 'r.project_id').on('m.user_id', '=', userId),
      )
      .leftJoin('recording_versions as cv', 'cv.id', 'r.current_version_id')
      .select(COLUMNS)
      .select(CURRENT_VERSION)
      .select(SHARED)
      .select(COMMENT_COUNT)
      .select('m.role')
      .where('r.id', '=', id)
      .executeTakeFirst();
  }

  getById(id: string) {
    return this.db
      .selectFrom('recordings as r')
      .leftJoin('recording_versions as cv', 'cv.id', 'r.current_version_id')
      .select(COLUMNS)
      .select(CURRENT_VERSION)
      .select(SHARED)
      .select(COMMENT_COUNT)
      .where('r.id', '=', id)
      .executeTakeFirst();
  }

  /** A ready version of this recording: where its object is (issue 12; /media?version=). */
  readyVersion(recordingId: string, versionId: string) {
    return this.db
      .selectFrom('recording_versions')
      .select(['id', 'storage_provider', 'storage_bucket', 'storage_region', 'storage_key', 'mime_type'])
      .select('thumbnail_key')
      .where('recording_id', '=', recordingId)
      .where('id', '=', versionId)
      .where('status', '=', 'ready')
      .executeTakeFirst();
  }

  /** The user's role in each of these projects (absent: not a member), in one query. */
  rolesIn(projectIds: string[], userId: string): Promise<Map<string, MemberRole>> {
    return new AccessRepository(this.db).projectRoles(projectIds, userId);
  }

  roleIn(projectId: string, userId: string) {
    return new AccessRepository(this.db).projectRole(projectId, userId);
  }

  /**
   * Changes the recording only while it is still in `inProject` (the project its permission check saw):
   * false when it was moved or deleted meanwhile, so the caller decides again on what it is now.
   */
  async update(
    id: string,
    inProject: string | null,
    patch: { title?: string; description?: string | null; project_id?: string | null },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('recordings')
      .set(patch)
      .where('id', '=', id)
      .where('project_id', 'is not distinct from', inProject)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
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

  /**
   * Processing's result: the measured columns, status completed, the metadata with `patch` merged in. An
   * uploaded thumbnail stays, decided in this statement: a PUT landing while processing ran still wins.
   */
  async markProcessed(id: string, columns: ProcessedColumns, patch: ServerMetadata): Promise<void> {
    const { thumbnail_key: _made, ...withoutThumbnail } = patch;
    const uploaded = sql<boolean>`coalesce((metadata->>'thumbnail_uploaded')::boolean, false)`;
    await this.db
      .updateTable('recordings')
      .set({
        ...columns,
        thumbnail_url: sql<string | null>`CASE WHEN ${uploaded} THEN thumbnail_url ELSE ${columns.thumbnail_url} END`,
        status: 'completed',
        metadata: sql<string>`CASE WHEN ${uploaded} THEN ${merged(withoutThumbnail, CLEARED_WHEN_PROCESSED)}
          ELSE ${merged(patch, CLEARED_WHEN_PROCESSED)} END`,
      })
      .where('id', '=', id)
      .execute();
  }

  /** A thumbnail the user uploaded: shown from now on, and processing leaves it (markProcessed). */
  async setUploadedThumbnail(id: string, key: string): Promise<void> {
    const patch: ServerMetadata = { thumbnail_key: key, thumbnail_uploaded: true };
    await this.db
      .updateTable('recordings')
      .set({ thumbnail_url: `/api/recordings/${id}/thumbnail`, metadata: merged(patch) })
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

  /**
   * Deletes the row while it is still in `inProject` (as update() does); its delete trigger queues the
   * media in the same transaction (migration 0010).
   */
  async delete(id: string, inProject: string | null): Promise<boolean> {
    const r = await this.db
      .deleteFrom('recordings')
      .where('id', '=', id)
      .where('project_id', 'is not distinct from', inProject)
      .executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
