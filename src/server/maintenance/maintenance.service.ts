/**
 * Keeping storage and database in step.
 * - drainDeletions: deletes the objects in the outbox (storage_deletions), then the entry. A crash
 *   between the two deletes the same objects again next time (deletes are idempotent).
 * - sweep: the proof that nothing leaks. Every object under users/ must belong to a recording row (or
 *   be queued for deletion, or be younger than the grace period: an upload being finished writes its
 *   object just before its row). Anything else is an orphan; sweep reports it and, unless dryRun,
 *   deletes it. It also checks the other direction: rows whose object is missing.
 */
import type { Logger } from '../logger.js';
import type { RecordingsRepository } from '../recordings/recordings.repository.js';
import type { Storage } from '../storage/storage.js';
import type { UploadsRepository } from '../uploads/uploads.repository.js';
import type { DeletionEntry, DeletionsRepository } from './deletions.repository.js';

export interface DrainResult {
  deleted: number;
  failed: number;
}

export interface SweepOptions {
  /** Report only; delete nothing. */
  dryRun: boolean;
  /** Objects and rows younger than this are left alone (default one hour). */
  graceMs?: number;
  now?: Date;
}

export interface SweepReport {
  scanned: number;
  orphans: string[];
  deleted: number;
  /** Recordings whose media object is missing from storage (should be none). */
  missing: { recordingId: string; key: string }[];
  incompleteRemoved: number;
}

export interface MaintenanceDeps {
  deletions: DeletionsRepository;
  recordings: RecordingsRepository;
  /** Unfinished uploads own the objects under their reserved recording id (assembled, row not yet written). */
  uploads: Pick<UploadsRepository, 'unfinishedReservations'>;
  storage: Storage;
  logger: Logger;
}

/** An object under users/, with the owner and recording its key names when it follows the layout. */
interface ListedObject {
  key: string;
  lastModified: Date;
  userId?: string;
  recordingId?: string;
}

/** What one sweep checks each batch against, and the report it fills. */
interface SweepContext {
  queued: string[];
  cutoff: Date;
  dryRun: boolean;
  report: SweepReport;
}

const DEFAULT_DRAIN_BATCH = 100;
const DEFAULT_GRACE_MS = 3_600_000;
/** Objects checked against the rows per query. */
const SWEEP_BATCH = 500;
/** storage/keys.ts: users/<userId>/recordings/<recordingId>/… */
const LAYOUT = /^users\/([A-Za-z0-9_-]{1,64})\/recordings\/([1-9]\d{0,18})\//;

export class MaintenanceService {
  constructor(private readonly deps: MaintenanceDeps) {}

  async drainDeletions(batch = DEFAULT_DRAIN_BATCH): Promise<DrainResult> {
    const { deletions, storage } = this.deps;
    const location = { provider: storage.provider, bucket: storage.bucket };
    const result: DrainResult = { deleted: 0, failed: 0 };
    // One pass over the outbox per call, in id order: an entry that fails stays behind us, so a full batch
    // of failures is not selected again (which burned all its attempts within a single drain).
    let afterId = '0';
    for (;;) {
      const claimed = await deletions.withClaimedPage(location, { afterId, limit: batch }, async (page) => {
        for (const entry of page.entries) {
          const error = await this.deleteObjectsOf(entry);
          if (error === undefined) await page.done(entry.id);
          else await page.failed(entry.id, error);
          result[error === undefined ? 'deleted' : 'failed']++;
        }
        return page.entries;
      });
      afterId = claimed.at(-1)?.id ?? afterId;
      if (claimed.length < batch) return result;
    }
  }

  async sweep(opts: SweepOptions): Promise<SweepReport> {
    const { storage, logger } = this.deps;
    const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.graceMs ?? DEFAULT_GRACE_MS));
    const queued = await this.deps.deletions.queuedKeys(storage.provider);
    const report: SweepReport = { scanned: 0, orphans: [], deleted: 0, missing: [], incompleteRemoved: 0 };
    const ctx = { queued, cutoff, dryRun: opts.dryRun, report };
    const seen = new Set<string>();
    const pending: ListedObject[] = [];
    for await (const o of storage.list('users/')) {
      report.scanned++;
      seen.add(o.key);
      const m = LAYOUT.exec(o.key);
      pending.push({ key: o.key, lastModified: o.lastModified, userId: m?.[1], recordingId: m?.[2] });
      if (pending.length >= SWEEP_BATCH) await this.removeOrphans(pending.splice(0), ctx);
    }
    await this.removeOrphans(pending, ctx);
    report.missing = await this.missingMedia(seen, cutoff);
    if (!opts.dryRun && storage.removeIncomplete) report.incompleteRemoved = await storage.removeIncomplete(cutoff);
    const { scanned, deleted } = report;
    logger.info({ scanned, orphans: report.orphans.length, deleted, missing: report.missing.length }, 'storage sweep');
    return report;
  }

  /** Deletes an entry's object, or every object under it when its key is a prefix; the error, if any. */
  private async deleteObjectsOf(entry: DeletionEntry): Promise<string | undefined> {
    const { storage, logger } = this.deps;
    try {
      if (entry.storage_key.endsWith('/')) {
        for await (const o of storage.list(entry.storage_key)) await storage.delete(o.key);
      } else {
        await storage.delete(entry.storage_key);
      }
      return undefined;
    } catch (err) {
      const message = (err as Error).message;
      logger.warn({ key: entry.storage_key, err: message }, 'media deletion failed; will retry');
      return message;
    }
  }

  /**
   * Reports (and unless dryRun deletes) the objects of this batch that are orphans: owned by no
   * recording, not queued for deletion, older than the cutoff.
   */
  private async removeOrphans(batch: ListedObject[], ctx: SweepContext): Promise<void> {
    const ids = [...new Set(batch.flatMap((o) => (o.recordingId ? [o.recordingId] : [])))];
    const owners = await this.deps.recordings.ownersOf(ids);
    // An upload whose finish a crash cut after its object was assembled: recovery gives it its row.
    for (const [id, userId] of await this.deps.uploads.unfinishedReservations(ids)) owners.set(id, userId);
    for (const o of batch) {
      const owned = o.recordingId !== undefined && owners.get(o.recordingId) === o.userId;
      if (owned || o.lastModified > ctx.cutoff || isQueued(o.key, ctx.queued)) continue;
      ctx.report.orphans.push(o.key);
      if (!ctx.dryRun) {
        await this.deps.storage.delete(o.key);
        ctx.report.deleted++;
      }
    }
  }

  /** Recordings older than the cutoff whose object the listing did not see. */
  private async missingMedia(seen: Set<string>, cutoff: Date): Promise<SweepReport['missing']> {
    const rows = await this.deps.recordings.storedBefore(this.deps.storage.provider, cutoff);
    return rows.filter((r) => !seen.has(r.storage_key)).map((r) => ({ recordingId: r.id, key: r.storage_key }));
  }
}

/** A key is queued when an entry names it, or names a prefix (ending in '/') it is under. */
function isQueued(key: string, queued: string[]): boolean {
  return queued.some((q) => (q.endsWith('/') ? key.startsWith(q) : key === q));
}
