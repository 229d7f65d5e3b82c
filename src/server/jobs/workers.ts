import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import type { Storage } from '../storage/storage.js';
import type { Boss } from './boss.js';
import { markFailed, processRecording } from './process-recording.js';
import { housekeeping } from './housekeeping.js';
import { JOBS } from './queue.js';
import { drainDeletions, sweep } from './storage-maintenance.js';

export interface WorkerDeps {
  db: Kysely<DB>;
  storage: Storage;
  tools: MediaTools | undefined;
  logger: Logger;
  tmpDir?: string;
  /** The tus store's deleteExpired (uploads.routes.ts). */
  expireUploadFiles?: () => Promise<number>;
  /** Finishes complete uploads left `uploading` (uploads.routes.ts recoverFinished). */
  recoverFinished?: () => Promise<number>;
}

/** Runs the jobs in this process; schedules the periodic ones (outbox drain, hourly sweep). */
export async function startWorkers(boss: Boss, deps: WorkerDeps): Promise<void> {
  const { logger } = deps;
  await boss.boss.work<{ recordingId: string }>(
    JOBS.processRecording,
    { includeMetadata: true, pollingIntervalSeconds: 1 },
    async ([job]) => {
      if (!job) return;
      try {
        await processRecording(deps, job.data.recordingId);
      } catch (err) {
        const reason = (err as Error).message;
        const last = job.retryCount >= job.retryLimit;
        logger.warn(
          { recordingId: job.data.recordingId, attempt: job.retryCount + 1, last, reason },
          'recording processing failed',
        );
        if (last) await markFailed(deps.db, job.data.recordingId, reason);
        throw err;
      }
    },
  );
  await boss.boss.work(JOBS.deleteMedia, { pollingIntervalSeconds: 1 }, async () => {
    await drainDeletions(deps);
  });
  await boss.boss.work(JOBS.sweepStorage, { pollingIntervalSeconds: 5 }, async () => {
    await sweep(deps, { dryRun: false });
  });
  await boss.boss.work(JOBS.housekeeping, { pollingIntervalSeconds: 5 }, async () => {
    await housekeeping({
      db: deps.db,
      logger,
      expireUploadFiles: deps.expireUploadFiles,
      recoverFinished: deps.recoverFinished,
    });
  });
  // Periodic safety nets: an outbox entry whose job was lost still gets drained.
  await boss.boss.schedule(JOBS.deleteMedia, '*/5 * * * *');
  await boss.boss.schedule(JOBS.sweepStorage, '17 * * * *');
  await boss.boss.schedule(JOBS.housekeeping, '41 * * * *');
}

/** At start: recordings left `processing` by a crash get their job again (a singleton per recording). */
export async function requeueProcessing(boss: Boss, db: Kysely<DB>): Promise<number> {
  const rows = await db.selectFrom('recordings').select('id').where('status', '=', 'processing').execute();
  for (const r of rows) await boss.send(JOBS.processRecording, { recordingId: r.id }, { singletonKey: r.id });
  return rows.length;
}
