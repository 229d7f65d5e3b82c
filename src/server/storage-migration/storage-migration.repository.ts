/**
 * The SQL of storage migrations: the runs (storage_migrations), their failures, the recordings a run
 * moves, the conditional switch of a recording's row, and the source objects it queues in the deletion
 * outbox (storage_deletions, with a not_before since 0020).
 */
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type {
  DB,
  StorageMigrationFilters,
  StorageMigrationStatus,
  StorageMigrationsTable,
  StorageProvider,
} from '../db/schema.js';
import type { RecordingMetadata } from '../recordings/metadata.js';
import type { StorageLocation } from '../storage/registry.js';

export type StorageMigrationRow = Selectable<StorageMigrationsTable>;

export interface NewMigration {
  target: StorageLocation;
  filters: StorageMigrationFilters;
  batchSize: number;
  concurrency: number;
  maxMibPerS: number | null;
  startedBy: string;
}

/** What a run needs of a recording to move it. */
export interface MovableRecording {
  id: string;
  user_id: string;
  storage_provider: StorageProvider;
  storage_bucket: string | null;
  storage_region: string | null;
  storage_key: string;
  file_size: string | null;
  metadata: RecordingMetadata | null;
  /** Its ready versions where the recording is (issue 12): they move with it, checked by their own facts. */
  versions: MovableVersion[];
}

/** A rendered version's object, with the size and sha256 its row recorded when it was written. */
export interface MovableVersion {
  id: string;
  key: string;
  size: number;
  sha256: string;
  /** Its thumbnail's key, or null: copied as it is (no recorded facts to check it against). */
  thumbnail: string | null;
}

/** The row a switch expects to find: the one the copy was made from. */
export interface Switch {
  migrationId: string;
  recording: MovableRecording;
  target: StorageLocation;
  /** Target's public URL of the key (cdn_url), or null. */
  cdnUrl: string | null;
  /** Source objects to delete after notBefore: the media and the thumbnail. */
  sourceKeys: string[];
  notBefore: Date;
  bytes: number;
}

const UNFINISHED: StorageMigrationStatus[] = ['queued', 'running', 'paused'];
const MAX_REASON_CHARS = 1000;

export class StorageMigrationRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Inserts a queued run; undefined when another run is unfinished (uq_storage_migrations_unfinished). */
  async create(run: NewMigration): Promise<StorageMigrationRow | undefined> {
    return this.db
      .insertInto('storage_migrations')
      .values({
        target_provider: run.target.provider,
        target_bucket: run.target.bucket,
        target_region: run.target.region,
        filters: JSON.stringify(run.filters),
        batch_size: run.batchSize,
        concurrency: run.concurrency,
        max_mib_per_s: run.maxMibPerS,
        started_by: run.startedBy,
      })
      .onConflict((oc) => oc.expression(sql`(true)`).where('status', 'in', UNFINISHED).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  find(id: string): Promise<StorageMigrationRow | undefined> {
    return this.db.selectFrom('storage_migrations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The newest runs first. */
  list(limit: number): Promise<StorageMigrationRow[]> {
    return this.db.selectFrom('storage_migrations').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  /** The run that is queued, running or paused, if any. */
  unfinished(): Promise<StorageMigrationRow | undefined> {
    return this.db.selectFrom('storage_migrations').selectAll().where('status', 'in', UNFINISHED).executeTakeFirst();
  }

  /** Ids of the runs a job should be working on (at start: resume them). */
  async active(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('storage_migrations')
      .select('id')
      .where('status', 'in', ['queued', 'running'])
      .execute();
    return rows.map((r) => r.id);
  }

  /** Moves the run from one of `from` to `to`; false when it was in none of them. */
  async setStatus(id: string, from: StorageMigrationStatus[], to: StorageMigrationStatus): Promise<boolean> {
    const finished = to === 'finished' || to === 'cancelled' || to === 'failed';
    const result = await this.db
      .updateTable('storage_migrations')
      .set({
        status: to,
        ...(to === 'running' ? { started_at: sql<Date>`coalesce(started_at, now())`, last_error: null } : {}),
        ...(finished ? { finished_at: sql<Date>`now()` } : {}),
      })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setTotals(id: string, totals: { count: number; bytes: number }): Promise<void> {
    await this.db
      .updateTable('storage_migrations')
      .set({ total_count: totals.count, total_bytes: totals.bytes })
      .where('id', '=', id)
      .execute();
  }

  async setCursor(id: string, lastRecordingId: string): Promise<void> {
    await this.db
      .updateTable('storage_migrations')
      .set({ last_recording_id: lastRecordingId })
      .where('id', '=', id)
      .where('last_recording_id', '<', lastRecordingId)
      .execute();
  }

  /** Why the last batch failed (a storage unreachable); cleared when the run goes on. */
  async setLastError(id: string, reason: string | null): Promise<void> {
    await this.db
      .updateTable('storage_migrations')
      .set({ last_error: reason?.slice(0, MAX_REASON_CHARS) ?? null })
      .where('id', '=', id)
      .execute();
  }

  /** How many recordings (and bytes) the filters select that are not at the target yet. */
  async countMovable(
    target: StorageLocation,
    filters: StorageMigrationFilters,
  ): Promise<{ count: number; bytes: number }> {
    const row = await this.movable(this.db, target, filters, '0')
      .select([sql<string>`count(*)`.as('count'), sql<string>`coalesce(sum(r.file_size), 0)`.as('bytes')])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), bytes: Number(row.bytes) };
  }

  /** The next batch after the cursor, in id order. */
  nextBatch(
    target: StorageLocation,
    filters: StorageMigrationFilters,
    afterId: string,
    limit: number,
    migrationId: string,
  ): Promise<MovableRecording[]> {
    return (
      this.movable(this.db, target, filters, afterId)
        .select(MOVABLE_COLUMNS)
        // A recording this run already reported stays reported once (a rerun of the batch after a crash).
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('storage_migration_failures as f')
                .select('f.id')
                .where('f.migration_id', '=', migrationId)
                .whereRef('f.recording_id', '=', 'r.id'),
            ),
          ),
        )
        .orderBy('r.id')
        .limit(limit)
        .execute() as Promise<MovableRecording[]>
    );
  }

  /** The recording as it is now (undefined: deleted). */
  current(id: string): Promise<MovableRecording | undefined> {
    return this.db
      .selectFrom('recordings as r')
      .select(MOVABLE_COLUMNS)
      .where('r.id', '=', id)
      .where('r.storage_key', 'is not', null)
      .executeTakeFirst() as Promise<MovableRecording | undefined>;
  }

  /**
   * Removes outbox entries that would delete these keys at the target (left there by an earlier move
   * away from it, still in their grace period): the copy is about to put them back. An entry a drain
   * holds is waited for, so its delete is over before the copy starts.
   */
  async cancelDeletions(target: StorageLocation, keys: string[]): Promise<void> {
    await this.db
      .deleteFrom('storage_deletions')
      .where('storage_provider', '=', target.provider)
      .where('storage_bucket', 'is not distinct from', target.bucket)
      .where('storage_key', 'in', keys)
      .execute();
  }

  /**
   * In one transaction: points the row at the target only if it still points at the copied source (same
   * location, key, thumbnail and sha256), queues the source objects for deletion after the grace period,
   * and counts the move. false (nothing changed): the recording was deleted or changed meanwhile.
   */
  switchRow(change: Switch): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      if (!(await updateIfUnchanged(tx, change))) return false;
      const { recording: r, target } = change;
      // the versions copied (and only those: one made ready since was not) now live where the recording does
      const copied = r.versions.map((v) => v.id);
      if (copied.length)
        await tx
          .updateTable('recording_versions')
          .set({ storage_provider: target.provider, storage_bucket: target.bucket, storage_region: target.region })
          .where('recording_id', '=', r.id)
          .where('id', 'in', copied)
          .execute();
      await tx
        .insertInto('storage_deletions')
        .values(
          change.sourceKeys.map((key) => ({
            storage_provider: r.storage_provider,
            storage_bucket: r.storage_bucket,
            storage_key: key,
            not_before: change.notBefore,
          })),
        )
        .execute();
      await tx
        .updateTable('storage_migrations')
        .set({ moved_count: sql`moved_count + 1`, moved_bytes: sql`moved_bytes + ${change.bytes}` })
        .where('id', '=', change.migrationId)
        .execute();
      return true;
    });
  }

  /** Counts a recording left on its source, with its reason, in one transaction. */
  async recordFailure(migrationId: string, recordingId: string, reason: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('storage_migration_failures')
        .values({ migration_id: migrationId, recording_id: recordingId, reason: reason.slice(0, MAX_REASON_CHARS) })
        .execute();
      await tx
        .updateTable('storage_migrations')
        .set({ failed_count: sql`failed_count + 1` })
        .where('id', '=', migrationId)
        .execute();
    });
  }

  async countSkipped(migrationId: string): Promise<void> {
    await this.db
      .updateTable('storage_migrations')
      .set({ skipped_count: sql`skipped_count + 1` })
      .where('id', '=', migrationId)
      .execute();
  }

  failures(migrationId: string, limit: number) {
    return this.db
      .selectFrom('storage_migration_failures')
      .select(['recording_id', 'reason', 'at'])
      .where('migration_id', '=', migrationId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Rows for `storage verify`: every recording with an object, in id order, after the cursor. */
  verifiable(filters: StorageMigrationFilters, afterId: string, limit: number): Promise<MovableRecording[]> {
    return withFilters(this.db, filters)
      .select(MOVABLE_COLUMNS)
      .where('r.storage_key', 'is not', null)
      .where('r.id', '>', afterId)
      .orderBy('r.id')
      .limit(limit)
      .execute() as Promise<MovableRecording[]>;
  }

  async countVerifiable(filters: StorageMigrationFilters): Promise<number> {
    const row = await withFilters(this.db, filters)
      .select(sql<string>`count(*)`.as('count'))
      .where('r.storage_key', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  private movable(db: Kysely<DB>, target: StorageLocation, filters: StorageMigrationFilters, afterId: string) {
    return withFilters(db, filters)
      .where('r.storage_key', 'is not', null)
      .where('r.id', '>', afterId)
      .where((eb) =>
        eb.not(
          eb.and([
            eb('r.storage_provider', '=', target.provider),
            eb('r.storage_bucket', 'is not distinct from', target.bucket),
          ]),
        ),
      );
  }
}

/** The recording's ready versions in the recording's own storage, oldest first (a JSON array; see MovableVersion). */
const MOVABLE_VERSIONS = sql<MovableVersion[]>`(
  SELECT coalesce(jsonb_agg(jsonb_build_object(
    'id', v.id::text, 'key', v.storage_key, 'size', v.file_size, 'sha256', v.sha256, 'thumbnail', v.thumbnail_key)
    ORDER BY v.id), '[]'::jsonb)
  FROM recording_versions v
  WHERE v.recording_id = r.id AND v.status = 'ready'
    AND v.storage_provider = r.storage_provider AND v.storage_bucket IS NOT DISTINCT FROM r.storage_bucket
)`.as('versions');

const MOVABLE_COLUMNS = [
  'r.id',
  'r.user_id',
  'r.storage_provider',
  'r.storage_bucket',
  'r.storage_region',
  'r.storage_key',
  'r.file_size',
  'r.metadata',
  MOVABLE_VERSIONS,
] as const;

/** The recordings the filters select (all when none is set). */
function withFilters(db: Kysely<DB>, filters: StorageMigrationFilters) {
  return db
    .selectFrom('recordings as r')
    .$if(Boolean(filters.userId), (q) => q.where('r.user_id', '=', filters.userId ?? ''))
    .$if(Boolean(filters.projectId), (q) => q.where('r.project_id', '=', filters.projectId ?? '0'))
    .$if(Boolean(filters.createdBefore), (q) => q.where('r.created_at', '<', new Date(filters.createdBefore ?? 0)));
}

async function updateIfUnchanged(tx: Transaction<DB>, change: Switch): Promise<boolean> {
  const { recording: r, target } = change;
  const result = await tx
    .updateTable('recordings')
    .set({
      storage_provider: target.provider,
      storage_bucket: target.bucket,
      storage_region: target.region,
      storage_key: r.storage_key,
      cdn_url: change.cdnUrl,
    })
    .where('id', '=', r.id)
    .where('storage_provider', '=', r.storage_provider)
    .where('storage_bucket', 'is not distinct from', r.storage_bucket)
    .where('storage_key', '=', r.storage_key)
    .where(sql`metadata->>'thumbnail_key'`, 'is not distinct from', r.metadata?.thumbnail_key ?? null)
    .where(sql`metadata->>'sha256'`, 'is not distinct from', r.metadata?.sha256 ?? null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
