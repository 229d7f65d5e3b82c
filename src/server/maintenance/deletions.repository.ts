/**
 * storage_deletions in SQL: the outbox of media objects to delete. Rows are added by the recordings
 * delete trigger (migration 0010) and by uploads; they are removed only once their objects are gone.
 */
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { DB, StorageDeletionsTable, StorageProvider } from '../db/schema.js';

export type DeletionEntry = Selectable<StorageDeletionsTable>;

/** Which storage an entry's objects are in: a provider, and its bucket (none for local storage). */
export interface OutboxLocation {
  provider: StorageProvider;
  bucket: string | null;
}

/** A location with entries waiting in the outbox, and how many. */
export interface QueuedLocation extends OutboxLocation {
  entries: number;
}

/** An entry's location and key (a prefix when it ends in '/'). */
export interface QueuedKey extends OutboxLocation {
  key: string;
}

/** A page of the outbox: entries with an id above afterId, in id order. */
export interface OutboxPage {
  afterId: string;
  limit: number;
}

/** Entries locked by one transaction; each is settled inside it. */
export interface ClaimedEntries {
  entries: DeletionEntry[];
  /** Its objects are gone: the entry goes. */
  done(id: string): Promise<void>;
  /** Its deletion failed: the attempt is counted and the error kept. */
  failed(id: string, error: string): Promise<void>;
}

/** An entry that failed this often is left alone (it keeps last_error for an operator). */
const MAX_ATTEMPTS = '20';
/** last_error keeps the start of a long message. */
const MAX_ERROR_CHARS = 1000;

export class DeletionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Runs `work` in one transaction on a page of the entries at `location`, locked FOR UPDATE SKIP
   * LOCKED: several workers drain side by side without waiting on each other, and an entry is
   * removed (or its failure counted) in the same transaction that held it.
   */
  withClaimedPage<T>(
    location: OutboxLocation,
    page: OutboxPage,
    work: (claimed: ClaimedEntries) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      const entries = await claimPage(tx, location, page);
      return work({ entries, done: (id) => removeEntry(tx, id), failed: (id, error) => countFailure(tx, id, error) });
    });
  }

  /** Every location that has entries still to try (an entry past its attempts is left to an operator). */
  async queuedLocations(): Promise<QueuedLocation[]> {
    const rows = await this.db
      .selectFrom('storage_deletions')
      .select(['storage_provider', 'storage_bucket', (eb) => eb.fn.countAll<string>().as('entries')])
      .where('attempts', '<', MAX_ATTEMPTS)
      .groupBy(['storage_provider', 'storage_bucket'])
      .orderBy('storage_provider')
      .orderBy('storage_bucket')
      .execute();
    return rows.map((r) => ({ provider: r.storage_provider, bucket: r.storage_bucket, entries: Number(r.entries) }));
  }

  /** The keys, and prefixes (ending in '/'), queued for deletion, with where they are. */
  async queuedKeys(): Promise<QueuedKey[]> {
    const rows = await this.db
      .selectFrom('storage_deletions')
      .select(['storage_provider', 'storage_bucket', 'storage_key'])
      .execute();
    return rows.map((r) => ({ provider: r.storage_provider, bucket: r.storage_bucket, key: r.storage_key }));
  }
}

function claimPage(tx: Transaction<DB>, location: OutboxLocation, page: OutboxPage) {
  return (
    tx
      .selectFrom('storage_deletions')
      .selectAll()
      .where('storage_provider', '=', location.provider)
      .where((eb) => (location.bucket ? eb('storage_bucket', '=', location.bucket) : eb('storage_bucket', 'is', null)))
      .where('attempts', '<', MAX_ATTEMPTS)
      // A migrated recording's source waits out its grace period (0020), so a player mid-stream keeps playing.
      .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', sql<Date>`now()`)]))
      .where('id', '>', page.afterId)
      .orderBy('id')
      .limit(page.limit)
      .forUpdate()
      .skipLocked()
      .execute()
  );
}

async function removeEntry(tx: Transaction<DB>, id: string): Promise<void> {
  await tx.deleteFrom('storage_deletions').where('id', '=', id).execute();
}

async function countFailure(tx: Transaction<DB>, id: string, error: string): Promise<void> {
  await tx
    .updateTable('storage_deletions')
    .set({ attempts: sql`attempts + 1`, last_error: error.slice(0, MAX_ERROR_CHARS) })
    .where('id', '=', id)
    .execute();
}
