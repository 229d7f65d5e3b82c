/**
 * Keeping storage and database in step, in every configured storage (local always, s3 when set up):
 * - drainDeletions: deletes the objects in the outbox (storage_deletions) from the storage each entry
 *   names, then the entry. A crash between the two deletes the same objects again next time (deletes
 *   are idempotent). Entries for a storage this server has no settings for stay, and are reported.
 * - sweep: the proof that nothing leaks. Every object under users/ of each storage must belong to a
 *   recording whose row puts it there (or to an unfinished upload, or be queued for deletion, or be
 *   younger than the grace period: an upload being finished writes its object just before its row).
 *   Anything else is an orphan; sweep reports it and, unless dryRun, deletes it. A copy of a recording
 *   whose row points at another storage (a storage migration's leftover) is an orphan only once that
 *   other storage is known to hold the object. It also checks the other direction: rows whose object
 *   is missing.
 */
import type { Logger } from '../logger.js';
import { asRegistry } from '../storage/factory.js';
import { type StorageLocation, StorageNotConfiguredError, type StorageRegistry } from '../storage/registry.js';
import type { Storage } from '../storage/storage.js';
import type { UploadsRepository } from '../uploads/uploads.repository.js';
import type { DeletionEntry, DeletionsRepository, OutboxLocation, QueuedKey } from './deletions.repository.js';
import type { RecordingPlace, StoredRecordingsRepository } from './stored-recordings.repository.js';

export interface DrainResult {
  deleted: number;
  failed: number;
  /** Present when entries wait for a storage this server has no settings for (they stay queued). */
  unconfigured?: { provider: string; bucket: string | null; entries: number }[];
}

export interface SweepOptions {
  /** Report only; delete nothing. */
  dryRun: boolean;
  /** Objects and rows younger than this are left alone (default one hour). */
  graceMs?: number;
  now?: Date;
}

export interface SweepCounts {
  scanned: number;
  orphans: string[];
  deleted: number;
  /** Recordings whose media object is missing from storage (should be none). */
  missing: { recordingId: string; key: string }[];
  incompleteRemoved: number;
}

/** The sum over every storage swept; `storages` splits it by storage when there is more than one. */
export interface SweepReport extends SweepCounts {
  storages?: (SweepCounts & { provider: string; bucket: string | null })[];
}

export interface MaintenanceDeps {
  deletions: DeletionsRepository;
  recordings: StoredRecordingsRepository;
  /** Unfinished uploads own the objects under their reserved recording id (assembled, row not yet written). */
  uploads: Pick<UploadsRepository, 'unfinishedReservations'>;
  /** Every configured storage (or one, for tests and tools). */
  storage: StorageRegistry | Storage;
  logger: Logger;
}

/** An object under users/, with the owner and recording its key names when it follows the layout. */
interface ListedObject {
  key: string;
  lastModified: Date;
  userId?: string;
  recordingId?: string;
}

/** What one storage's sweep checks each batch against, and the counts it fills. */
interface SweepContext {
  storage: Storage;
  queued: string[];
  cutoff: Date;
  dryRun: boolean;
  counts: SweepCounts;
}

const DEFAULT_DRAIN_BATCH = 100;
const DEFAULT_GRACE_MS = 3_600_000;
/** Objects checked against the rows per query. */
const SWEEP_BATCH = 500;
/** storage/keys.ts: users/<userId>/recordings/<recordingId>/… */
const LAYOUT = /^users\/([A-Za-z0-9_-]{1,64})\/recordings\/([1-9]\d{0,18})\//;
/** storage/keys.ts versionKey: …/recordings/<recordingId>/versions/<versionId>.<ext> (issue 12). */
const VERSION_LAYOUT = /^users\/[A-Za-z0-9_-]{1,64}\/recordings\/[1-9]\d{0,18}\/versions\//;

const emptyCounts = (): SweepCounts => ({ scanned: 0, orphans: [], deleted: 0, missing: [], incompleteRemoved: 0 });

export class MaintenanceService {
  private readonly storages: StorageRegistry;

  constructor(private readonly deps: MaintenanceDeps) {
    this.storages = asRegistry(deps.storage);
  }

  /** The configured storage at a location, or undefined (no settings for it here). */
  private storageAt(location: Omit<StorageLocation, 'region'>): Storage | undefined {
    try {
      return this.storages.forLocation({ ...location, region: null });
    } catch (err) {
      if (err instanceof StorageNotConfiguredError) return undefined;
      throw err;
    }
  }

  async drainDeletions(batch = DEFAULT_DRAIN_BATCH): Promise<DrainResult> {
    const result: DrainResult = { deleted: 0, failed: 0 };
    const unconfigured: NonNullable<DrainResult['unconfigured']> = [];
    for (const queued of await this.deps.deletions.queuedLocations()) {
      const storage = this.storageAt(queued);
      if (storage) await this.drainLocation(storage, queued, batch, result);
      else unconfigured.push(queued);
    }
    if (unconfigured.length) {
      result.unconfigured = unconfigured;
      this.deps.logger.warn(
        { unconfigured },
        'deletion outbox: entries for a storage this server has no settings for stay queued',
      );
    }
    return result;
  }

  /**
   * One pass over one location's entries, in id order: an entry that fails stays behind us, so a full
   * batch of failures is not selected again (which burned all its attempts within a single drain).
   */
  private async drainLocation(storage: Storage, location: OutboxLocation, batch: number, result: DrainResult) {
    let afterId = '0';
    for (;;) {
      const claimed = await this.deps.deletions.withClaimedPage(location, { afterId, limit: batch }, async (page) => {
        for (const entry of page.entries) {
          const error = await this.deleteObjectsOf(storage, entry);
          if (error === undefined) await page.done(entry.id);
          else await page.failed(entry.id, error);
          result[error === undefined ? 'deleted' : 'failed']++;
        }
        return page.entries;
      });
      afterId = claimed.at(-1)?.id ?? afterId;
      if (claimed.length < batch) return;
    }
  }

  async sweep(opts: SweepOptions): Promise<SweepReport> {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.graceMs ?? DEFAULT_GRACE_MS));
    const queued = await this.deps.deletions.queuedKeys();
    const report: SweepReport = emptyCounts();
    const storages = this.storages.all();
    const parts: NonNullable<SweepReport['storages']> = [];
    for (const storage of storages) {
      const counts = await this.sweepOne(storage, queued, cutoff, opts.dryRun);
      report.scanned += counts.scanned;
      report.orphans.push(...counts.orphans);
      report.deleted += counts.deleted;
      report.missing.push(...counts.missing);
      report.incompleteRemoved += counts.incompleteRemoved;
      parts.push({ ...locationOf(storage), ...counts });
    }
    if (parts.length > 1) report.storages = parts;
    const { scanned, deleted } = report;
    const summary = { scanned, orphans: report.orphans.length, deleted, missing: report.missing.length };
    this.deps.logger.info({ ...summary, storages: storages.length }, 'storage sweep');
    return report;
  }

  private async sweepOne(storage: Storage, queued: QueuedKey[], cutoff: Date, dryRun: boolean) {
    const counts = emptyCounts();
    const here = queued.filter((q) => this.storageAt(q) === storage).map((q) => q.key);
    const ctx: SweepContext = { storage, queued: here, cutoff, dryRun, counts };
    const seen = new Set<string>();
    const pending: ListedObject[] = [];
    for await (const object of storage.list('users/')) {
      counts.scanned++;
      seen.add(object.key);
      const m = LAYOUT.exec(object.key);
      pending.push({ key: object.key, lastModified: object.lastModified, userId: m?.[1], recordingId: m?.[2] });
      if (pending.length >= SWEEP_BATCH) await this.removeOrphans(pending.splice(0), ctx);
    }
    await this.removeOrphans(pending, ctx);
    counts.missing = await this.missingMedia(storage, seen, cutoff);
    if (!dryRun && storage.removeIncomplete) counts.incompleteRemoved = await storage.removeIncomplete(cutoff);
    return counts;
  }

  /** Deletes an entry's object, or every object under it when its key is a prefix; the error, if any. */
  private async deleteObjectsOf(storage: Storage, entry: DeletionEntry): Promise<string | undefined> {
    try {
      if (entry.storage_key.endsWith('/')) {
        for await (const object of storage.list(entry.storage_key)) await storage.delete(object.key);
      } else {
        await storage.delete(entry.storage_key);
      }
      return undefined;
    } catch (err) {
      const message = (err as Error).message;
      this.deps.logger.warn({ key: entry.storage_key, err: message }, 'media deletion failed; will retry');
      return message;
    }
  }

  /**
   * Reports (and unless dryRun deletes) the objects of this batch that are orphans: owned by no
   * recording kept in this storage, not queued for deletion, older than the cutoff.
   */
  private async removeOrphans(batch: ListedObject[], ctx: SweepContext): Promise<void> {
    const ids = [...new Set(batch.flatMap((o) => (o.recordingId ? [o.recordingId] : [])))];
    const places = await this.deps.recordings.placesOf(ids);
    // An upload whose finish a crash cut after its object was assembled: recovery gives it its row.
    const reserved = await this.deps.uploads.unfinishedReservations(ids);
    // a version's object belongs to its version row, not to the recording: a deleted version's is an orphan
    const versions = await this.deps.recordings.versionPlacesOf(
      batch.filter((o) => VERSION_LAYOUT.test(o.key)).map((o) => o.key),
    );
    for (const object of batch) {
      if (object.lastModified > ctx.cutoff || isQueued(object.key, ctx.queued)) continue;
      if (object.recordingId !== undefined && reserved.get(object.recordingId) === object.userId) continue;
      const place = VERSION_LAYOUT.test(object.key)
        ? versions.get(object.key)
        : object.recordingId === undefined
          ? undefined
          : places.get(object.recordingId);
      if (place && place.userId === object.userId && !(await this.isRedundantCopy(object.key, place, ctx.storage)))
        continue;
      ctx.counts.orphans.push(object.key);
      if (!ctx.dryRun) {
        await ctx.storage.delete(object.key);
        ctx.counts.deleted++;
      }
    }
  }

  /**
   * A recording's object in a storage its row does not point at is a leftover copy (a storage migration
   * that stopped, or a source whose outbox entry was lost). It is redundant only when the storage the
   * row points at is configured here and holds the key: otherwise it may be the one copy there is.
   */
  private async isRedundantCopy(key: string, place: RecordingPlace, storage: Storage): Promise<boolean> {
    const home = this.storageAt(place);
    if (home === storage || home === undefined) return false;
    return home.exists(key);
  }

  /** Recordings (and ready versions) older than the cutoff whose row puts them here and whose object is not. */
  private async missingMedia(storage: Storage, seen: Set<string>, cutoff: Date): Promise<SweepCounts['missing']> {
    const rows = await this.deps.recordings.storedBefore(locationOf(storage), cutoff);
    const versions = await this.deps.recordings.versionsStoredBefore(locationOf(storage), cutoff);
    return [
      ...rows.map((r) => ({ recordingId: r.id, key: r.storage_key })),
      ...versions.map((v) => ({ recordingId: v.recording_id, key: v.storage_key })),
    ].filter((r) => !seen.has(r.key));
  }
}

function locationOf(storage: Storage): OutboxLocation {
  return { provider: storage.provider, bucket: storage.bucket ?? null };
}

/** A key is queued when an entry names it, or names a prefix (ending in '/') it is under. */
function isQueued(key: string, queued: string[]): boolean {
  return queued.some((q) => (q.endsWith('/') ? key.startsWith(q) : key === q));
}
