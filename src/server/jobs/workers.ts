/**
 * The job workers of this process: each queue's handler calls a service; a thrown error is a pg-boss
 * retry (queue options in boss.ts).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import type { Metrics } from '../metrics/metrics.js';
import { RecordingsRepository } from '../recordings/recordings.repository.js';
import type { StorageRegistry } from '../storage/registry.js';
import type { Boss } from './boss.js';
import { type HousekeepingDeps, housekeeping } from './housekeeping.js';
import { type ProcessJobData, processingService, runProcessJob } from './process-recording.js';
import { JOBS } from './queue.js';
import { type RenderJobData, runRenderJob, versionsService } from './render-version.js';
import { maintenanceService } from './storage-maintenance.js';
import { startStorageMigrateWorker } from './storage-migrate.js';

/**
 * What the jobs work on. Housekeeping's steps (HousekeepingDeps) are handed in by the features that own
 * them and passed through as they are.
 */
export type WorkerDeps = Omit<HousekeepingDeps, 'now'> & {
  db: Kysely<DB>;
  /** Every configured storage: jobs read and delete each row's objects where its columns say. */
  storage: StorageRegistry;
  tools: MediaTools | undefined;
  logger: Logger;
  tmpDir?: string;
  /** Times every handler by queue and counts its failures (metrics/). */
  metrics?: Metrics;
};

/** Runs the jobs in this process; schedules the periodic ones (outbox drain, hourly sweep). */
export async function startWorkers(boss: Boss, deps: WorkerDeps): Promise<void> {
  const { logger } = deps;
  const processing = processingService(deps);
  const maintenance = maintenanceService(deps);
  const versions = versionsService({ ...deps, queue: boss });
  const timed = <T extends unknown[]>(queue: string, handler: (...args: T) => Promise<void>) =>
    deps.metrics ? deps.metrics.timeJob(queue, handler) : handler;
  await boss.boss.work<ProcessJobData>(
    JOBS.processRecording,
    { includeMetadata: true, pollingIntervalSeconds: 1 },
    timed(JOBS.processRecording, async ([job]) => {
      if (job) await runProcessJob(processing, logger, job);
    }),
  );
  // One render at a time per process: ffmpeg uses every core it gets.
  await boss.boss.work<RenderJobData>(
    JOBS.renderVersion,
    { includeMetadata: true, pollingIntervalSeconds: 1 },
    timed(JOBS.renderVersion, async ([job]) => {
      if (job) await runRenderJob(versions, logger, job);
    }),
  );
  await boss.boss.work(
    JOBS.deleteMedia,
    { pollingIntervalSeconds: 1 },
    timed(JOBS.deleteMedia, async () => {
      await maintenance.drainDeletions();
    }),
  );
  await boss.boss.work(
    JOBS.sweepStorage,
    { pollingIntervalSeconds: 5 },
    timed(JOBS.sweepStorage, async () => {
      await maintenance.sweep({ dryRun: false });
    }),
  );
  await boss.boss.work(
    JOBS.housekeeping,
    { pollingIntervalSeconds: 5 },
    timed(JOBS.housekeeping, async () => {
      await housekeeping(deps);
    }),
  );
  // Storage migrations (recorder storage migrate): their batches, and the runs a stopped process left.
  await startStorageMigrateWorker(boss.boss, { db: deps.db, storages: deps.storage, logger });
  // Periodic safety nets: an outbox entry whose job was lost still gets drained.
  await boss.boss.schedule(JOBS.deleteMedia, '*/5 * * * *');
  await boss.boss.schedule(JOBS.sweepStorage, '17 * * * *');
  await boss.boss.schedule(JOBS.housekeeping, '41 * * * *');
}

/** At start: recordings left `processing` by a crash get their job again (a singleton per recording). */
export async function requeueProcessing(boss: Boss, db: Kysely<DB>): Promise<number> {
  const ids = await new RecordingsRepository(db).idsInStatus('processing');
  for (const id of ids) await boss.send(JOBS.processRecording, { recordingId: id }, { singletonKey: id });
  return ids.length;
}
