/**
 * The SQL of rendered versions (issue 12): recording_versions rows, the recording's current_version_id,
 * and the deletion outbox entry of a deleted version's object. A version is numbered under the recording's
 * row lock, so two renders asked for at once get 1 and 2, never the same number.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DB, MemberRole, RecordingVersionsTable, StorageProvider } from '../db/schema.js';
import type { RecordingMetadata } from '../recordings/metadata.js';

export type VersionRow = Selectable<RecordingVersionsTable>;

/** What the versions need of the recording: who may act on it, its state, and where its media are. */
export interface VersionedRecording {
  id: string;
  user_id: string;
  status: string;
  duration: number;
  mime_type: string | null;
  metadata: RecordingMetadata | null;
  storage_provider: StorageProvider;
  storage_key: string | null;
  storage_bucket: string | null;
  storage_region: string | null;
  current_version_id: string | null;
}

export interface NewVersion {
  recordingId: string;
  editRevision: string;
  /** The snapshot the render uses ({revision, state, edits, media}). */
  edits: unknown;
  storage: { provider: StorageProvider; bucket: string | null; region: string | null };
  /** The key from the version's id (storage/keys.ts versionKey); the id is taken before the insert. */
  keyFor: (versionId: string) => string;
  createdBy: string;
}

export interface ReadyFacts {
  fileSize: number;
  sha256: string;
  durationMs: number;
  mimeType: string;
  width: number | null;
  height: number | null;
  /** Its thumbnail's key, when one was made. */
  thumbnailKey: string | null;
}

const RECORDING = [
  'r.id',
  'r.user_id',
  'r.status',
  'r.duration',
  'r.mime_type',
  'r.metadata',
  'r.storage_provider',
  'r.storage_key',
  'r.storage_bucket',
  'r.storage_region',
  'r.current_version_id',
] as const;

export class VersionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The recording with userId's role in its project (null: not a member, or no project). */
  recordingWithRole(
    recordingId: string,
    userId: string,
  ): Promise<(VersionedRecording & { role: MemberRole | null }) | undefined> {
    return this.db
      .selectFrom('recordings as r')
      .leftJoin('project_members as m', (j) =>
        j.onRef('m.project_id', '=', 'r.project_id').on('m.user_id', '=', userId),
      )
      .select(RECORDING)
      .select('m.role')
      .where('r.id', '=', recordingId)
      .executeTakeFirst() as Promise<(VersionedRecording & { role: MemberRole | null }) | undefined>;
  }

  recording(recordingId: string): Promise<VersionedRecording | undefined> {
    return this.db
      .selectFrom('recordings as r')
      .select(RECORDING)
      .where('r.id', '=', recordingId)
      .executeTakeFirst() as Promise<VersionedRecording | undefined>;
  }

  /** A new version, 'rendering', numbered after the recording's last one; undefined when the recording went. */
  create(v: NewVersion): Promise<VersionRow | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const locked = await tx
        .selectFrom('recordings')
        .select('id')
        .where('id', '=', v.recordingId)
        .forUpdate()
        .executeTakeFirst();
      if (!locked) return undefined;
      const { rows } = await sql<{ id: string; number: number }>`
        SELECT nextval(pg_get_serial_sequence('recording_versions', 'id'))::text AS id,
               (SELECT coalesce(max(number), 0) + 1 FROM recording_versions WHERE recording_id = ${v.recordingId})::int
                 AS number`.execute(tx);
      const { id, number } = rows[0]!;
      return tx
        .insertInto('recording_versions')
        .values({
          id,
          recording_id: v.recordingId,
          number,
          edit_revision: v.editRevision,
          edits: JSON.stringify(v.edits),
          storage_provider: v.storage.provider,
          storage_bucket: v.storage.bucket,
          storage_region: v.storage.region,
          storage_key: v.keyFor(id),
          created_by: v.createdBy,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  get(recordingId: string, versionId: string): Promise<VersionRow | undefined> {
    return this.db
      .selectFrom('recording_versions')
      .selectAll()
      .where('recording_id', '=', recordingId)
      .where('id', '=', versionId)
      .executeTakeFirst();
  }

  byId(versionId: string): Promise<VersionRow | undefined> {
    return this.db.selectFrom('recording_versions').selectAll().where('id', '=', versionId).executeTakeFirst();
  }

  /** Newest first. */
  list(recordingId: string): Promise<VersionRow[]> {
    return this.db
      .selectFrom('recording_versions')
      .selectAll()
      .where('recording_id', '=', recordingId)
      .orderBy('number', 'desc')
      .execute();
  }

  async setProgress(versionId: string, progress: number): Promise<void> {
    await this.db
      .updateTable('recording_versions')
      .set({ progress: Math.max(0, Math.min(1, progress)) })
      .where('id', '=', versionId)
      .where('status', '=', 'rendering')
      .execute();
  }

  /**
   * The render finished: the version is ready and becomes the recording's current one (what "Save as new
   * version" means). False when the version was deleted meanwhile (its object is then the caller's to remove).
   */
  markReady(versionId: string, facts: ReadyFacts): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const ready = await tx
        .updateTable('recording_versions')
        .set({
          status: 'ready',
          progress: 1,
          error: null,
          file_size: facts.fileSize,
          sha256: facts.sha256,
          duration_ms: Math.round(facts.durationMs),
          mime_type: facts.mimeType,
          width: facts.width,
          height: facts.height,
          thumbnail_key: facts.thumbnailKey,
          completed_at: sql<Date>`now()`,
        })
        .where('id', '=', versionId)
        .where('status', '=', 'rendering')
        .returning('recording_id')
        .executeTakeFirst();
      if (!ready) return false;
      await tx
        .updateTable('recordings')
        .set({ current_version_id: versionId })
        .where('id', '=', ready.recording_id)
        .execute();
      return true;
    });
  }

  async markFailed(versionId: string, error: string): Promise<void> {
    await this.db
      .updateTable('recording_versions')
      .set({ status: 'failed', error: error.slice(0, 2000), completed_at: sql<Date>`now()` })
      .where('id', '=', versionId)
      .where('status', '=', 'rendering')
      .execute();
  }

  /**
   * Deletes the version and queues its object in the deletion outbox, in one transaction: the object goes
   * in the storage-delete job, and a recording that played it plays its original (ON DELETE SET NULL).
   */
  delete(recordingId: string, versionId: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const gone = await tx
        .deleteFrom('recording_versions')
        .where('recording_id', '=', recordingId)
        .where('id', '=', versionId)
        .returning(['storage_provider', 'storage_bucket', 'storage_key', 'thumbnail_key'])
        .executeTakeFirst();
      if (!gone) return false;
      const { thumbnail_key, ...media } = gone;
      const thumbnail = thumbnail_key ? [{ ...media, storage_key: thumbnail_key }] : [];
      await tx
        .insertInto('storage_deletions')
        .values([media, ...thumbnail])
        .execute();
      return true;
    });
  }

  /** Makes a ready version of this recording current (null: the original); false when it is not one. */
  async setCurrent(recordingId: string, versionId: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('recordings')
      .set({ current_version_id: versionId })
      .where('id', '=', recordingId)
      .$if(versionId !== null, (qb) =>
        qb.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('recording_versions as v')
              .select(sql`1`.as('one'))
              .where('v.id', '=', versionId!)
              .where('v.recording_id', '=', recordingId)
              .where('v.status', '=', 'ready'),
          ),
        ),
      )
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
