/**
 * Keeping storage and database in step.
 * - drainDeletions: deletes the objects in the outbox (storage_deletions), then the entry. A crash
 *   between the two deletes the same objects again next time (deletes are idempotent).
 * - sweep: the proof that nothing leaks. Every object under users/ must belong to a recording row (or
 *   be queued for deletion, or be younger than the grace period: an upload being finished writes its
 *   object just before its row). Anything else is an orphan; sweep reports it and, unless dryRun,
 *   deletes it. It also checks the other direction: rows whose object is missing.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';

export interface MaintenanceDeps {
  db: Kysely<DB>;
  storage: Storage;
  logger: Logger;
}

export async function drainDeletions(deps: MaintenanceDeps, batch = 100): Promise<{ deleted: number; failed: number }> {
  const { db, storage, logger } = deps;
  let deleted = 0;
  let failed = 0;
  // One pass over the outbox per call, in id order: an entry that fails stays behind us, so a full batch
  // of failures is not selected again (which burned all its attempts within a single drain).
  let after = '0';
  for (;;) {
    const done = await db.transaction().execute(async (tx) => {
      // SKIP LOCKED: several workers can drain side by side without waiting on each other.
      const rows = await tx
        .selectFrom('storage_deletions')
        .selectAll()
        .where('storage_provider', '=', storage.provider)
        .where((eb) => (storage.bucket ? eb('storage_bucket', '=', storage.bucket) : eb('storage_bucket', 'is', null)))
        .where('attempts', '<', '20')
        .where('id', '>', after)
        .orderBy('id')
        .limit(batch)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const r of rows) {
        try {
          if (r.storage_key.endsWith('/')) {
            for await (const o of storage.list(r.storage_key)) await storage.delete(o.key);
          } else {
            await storage.delete(r.storage_key);
          }
          await tx.deleteFrom('storage_deletions').where('id', '=', r.id).execute();
          deleted++;
        } catch (err) {
          failed++;
          logger.warn({ key: r.storage_key, err: (err as Error).message }, 'media deletion failed; will retry');
          await tx
            .updateTable('storage_deletions')
            .set({ attempts: sql`attempts + 1`, last_error: (err as Error).message.slice(0, 1000) })
            .where('id', '=', r.id)
            .execute();
        }
      }
      after = rows.at(-1)?.id ?? after;
      return rows.length < batch;
    });
    if (done) return { deleted, failed };
  }
}

export interface SweepReport {
  scanned: number;
  orphans: string[];
  deleted: number;
  /** Recordings whose media object is missing from storage (should be none). */
  missing: { recordingId: string; key: string }[];
  incompleteRemoved: number;
}

const LAYOUT = /^users\/([A-Za-z0-9_-]{1,64})\/recordings\/([1-9]\d{0,18})\//;

export async function sweep(
  deps: MaintenanceDeps,
  opts: { dryRun: boolean; graceMs?: number; now?: Date },
): Promise<SweepReport> {
  const { db, storage, logger } = deps;
  const now = opts.now ?? new Date();
  const cutoff = new Date(now.getTime() - (opts.graceMs ?? 3_600_000));
  const queued = (
    await db
      .selectFrom('storage_deletions')
      .select('storage_key')
      .where('storage_provider', '=', storage.provider)
      .execute()
  ).map((r) => r.storage_key);
  const report: SweepReport = { scanned: 0, orphans: [], deleted: 0, missing: [], incompleteRemoved: 0 };
  const seen = new Set<string>();

  // Objects in batches, each batch checked against the rows with one query.
  let pending: { key: string; lastModified: Date; userId?: string; recordingId?: string }[] = [];
  const flush = async () => {
    const ids = [...new Set(pending.filter((p) => p.recordingId).map((p) => p.recordingId!))];
    const rows = ids.length
      ? await db.selectFrom('recordings').select(['id', 'user_id']).where('id', 'in', ids).execute()
      : [];
    const owner = new Map(rows.map((r) => [r.id, r.user_id]));
    for (const p of pending) {
      const owned = p.recordingId !== undefined && owner.get(p.recordingId) === p.userId;
      if (owned || p.lastModified > cutoff || queued.some((q) => (q.endsWith('/') ? p.key.startsWith(q) : p.key === q)))
        continue;
      report.orphans.push(p.key);
      if (!opts.dryRun) {
        await storage.delete(p.key);
        report.deleted++;
      }
    }
    pending = [];
  };
  for await (const o of storage.list('users/')) {
    report.scanned++;
    seen.add(o.key);
    const m = LAYOUT.exec(o.key);
    pending.push({ key: o.key, lastModified: o.lastModified, userId: m?.[1], recordingId: m?.[2] });
    if (pending.length >= 500) await flush();
  }
  await flush();

  const rows = await db
    .selectFrom('recordings')
    .select(['id', 'storage_key'])
    .where('storage_key', 'is not', null)
    .where('storage_provider', '=', storage.provider)
    .where('created_at', '<', cutoff)
    .execute();
  for (const r of rows) if (!seen.has(r.storage_key!)) report.missing.push({ recordingId: r.id, key: r.storage_key! });
  if (!opts.dryRun && storage.removeIncomplete) report.incompleteRemoved = await storage.removeIncomplete(cutoff);
  logger.info(
    {
      scanned: report.scanned,
      orphans: report.orphans.length,
      deleted: report.deleted,
      missing: report.missing.length,
    },
    'storage sweep',
  );
  return report;
}
