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
   * The versions (issue 12) holding these keys (media or thumbnail): a version's objects are owned by its
   * row alone, where the version's own columns put them (they move with the recording), for its user.
   */
  async versionPlacesOf(keys: string[]): Promise<Map<string, RecordingPlace>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('recording_versions as v')
      .innerJoin('recordings as r', 'r.id', 'v.recording_id')
      .select(['v.storage_key', 'v.thumbnail_key', 'r.user_id'])
      .select(['v.storage_provider', 'v.storage_bucket', 'v.storage_region'])
      .where((eb) => eb.or([eb('v.storage_key', 'in', keys), eb('v.thumbnail_key', 'in', keys)]))
      .execute();
    return new Map(
      rows.flatMap((r) => {
        const place = {
          userId: r.user_id,
          provider: r.storage_provider,
          bucket: r.storage_bucket,
          region: r.storage_region,
        };
        return [r.storage_key, r.thumbnail_key].flatMap((key) => (key ? [[key, place] as const] : []));
      }),
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
