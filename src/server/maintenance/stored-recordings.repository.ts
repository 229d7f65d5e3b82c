/**
 * What the storage sweep asks of `recordings` in SQL: who owns a recording id and where its row says
 * the objects are, and which rows say their object is in a given storage.
 */
import type { Kysely, NotNull } from 'kysely';
import type { DB, StorageProvider } from '../db/schema.js';

/** Where a recording's row says its objects are, and whose they are. */
export interface RecordingPlace {
  userId: string;
  provider: StorageProvider;
  bucket: string | null;
  region: string | null;
}

export class StoredRecordingsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async placesOf(ids: string[]): Promise<Map<string, RecordingPlace>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('recordings')
      .select(['id', 'user_id', 'storage_provider', 'storage_bucket', 'storage_region'])
      .where('id', 'in', ids)
      .execute();
    return new Map(
      rows.map((r) => [
        r.id,
        { userId: r.user_id, provider: r.storage_provider, bucket: r.storage_bucket, region: r.storage_region },
      ]),
    );
  }

  /**
   * The versions (issue 12) holding these keys: a version's object is owned by its row alone, where the
   * version's own columns put it (they move with the recording), for the recording's user.
   */
  async versionPlacesOf(keys: string[]): Promise<Map<string, RecordingPlace>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('recording_versions as v')
      .innerJoin('recordings as r', 'r.id', 'v.recording_id')
      .select(['v.storage_key', 'r.user_id', 'v.storage_provider', 'v.storage_bucket', 'v.storage_region'])
      .where('v.storage_key', 'in', keys)
      .execute();
    return new Map(
      rows.map((r) => [
        r.storage_key,
        { userId: r.user_id, provider: r.storage_provider, bucket: r.storage_bucket, region: r.storage_region },
      ]),
    );
  }

  /** Ready versions finished before `cutoff` whose row puts their object at this provider and bucket. */
  versionsStoredBefore(
    location: { provider: StorageProvider; bucket: string | null },
    cutoff: Date,
  ): Promise<{ recording_id: string; storage_key: string }[]> {
    const { provider, bucket } = location;
    return this.db
      .selectFrom('recording_versions')
      .select(['recording_id', 'storage_key'])
      .where('status', '=', 'ready')
      .where('storage_provider', '=', provider)
      .$if(bucket !== null, (qb) =>
        qb.where((eb) => eb.or([eb('storage_bucket', '=', bucket), eb('storage_bucket', 'is', null)])),
      )
      .where('completed_at', '<', cutoff)
      .execute();
  }

  /**
   * Recordings created before `cutoff` whose row puts their media at this provider and bucket (for s3,
   * a row without a bucket counts as the configured one, as the storage registry reads it).
   */
  storedBefore(
    location: { provider: StorageProvider; bucket: string | null },
    cutoff: Date,
  ): Promise<{ id: string; storage_key: string }[]> {
    const { provider, bucket } = location;
    return this.db
      .selectFrom('recordings')
      .select(['id', 'storage_key'])
      .where('storage_key', 'is not', null)
      .where('storage_provider', '=', provider)
      .$if(bucket !== null, (qb) =>
        qb.where((eb) => eb.or([eb('storage_bucket', '=', bucket), eb('storage_bucket', 'is', null)])),
      )
      .where('created_at', '<', cutoff)
      .$narrowType<{ storage_key: NotNull }>()
      .execute();
  }
}
