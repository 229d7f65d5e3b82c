/**
 * The `storage-migrate` job: one batch of a storage migration run per job (StorageMigrationService.
 * runBatch), then the next job for the run, until it is done, paused or cancelled. A batch that fails
 * (a storage unreachable) is a pg-boss retry with growing delays (1-2 s, 2-4 s, … about 2 hours in all);
 * after the last one the run is marked failed, its last_error saying why. At start, runs left queued or
 * running (the process died) get their job again (resumeStorageMigrations).
 */
import type { Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { CRASH_POINTS, type CrashPoint } from '../storage-migration/mover.js';
import { StorageMigrationRepository } from '../storage-migration/storage-migration.repository.js';
import { StorageMigrationService } from '../storage-migration/storage-migration.service.js';
import type { StorageRegistry } from '../storage/registry.js';

export const STORAGE_MIGRATE_JOB = 'storage-migrate';

export interface StorageMigrateJobData {
  migrationId: string;
}

const QUEUE: PgBoss.Queue = {
  name: STORAGE_MIGRATE_JOB,
  // one queued and one active job per run (singletonKey = run id): two workers never share a run
  policy: 'stately',
  retryLimit: 12,
  retryDelay: 1,
  retryBackoff: true,
  // A job is one batch, which stops taking recordings after 4 minutes (service.ts). A job whose process
  // died stays active until it expires; only then can the run's next job start (stately): a run whose
  // server was killed goes on within about 5 minutes of the restart.
  expireInSeconds: 300,
};

export interface StorageMigrateDeps {
  db: Kysely<DB>;
  storages: StorageRegistry;
  logger: Logger;
  /** Grace before moved recordings' source objects are deleted (default 1 hour). */
  graceMs?: number;
}

/** Where a test makes the process kill itself (mover.ts); read once, from the environment. */
export function crashPointFromEnv(): CrashPoint | undefined {
  const raw = process.env.STORAGE_MIGRATE_CRASH_AT;
  return CRASH_POINTS.find((point) => point === raw);
}

/** The queue exists once per database; servers starting together may race to create it. */
export async function ensureStorageMigrateQueue(boss: PgBoss): Promise<void> {
  if (await boss.getQueue(QUEUE.name)) return;
  try {
    await boss.createQueue(QUEUE.name, QUEUE);
  } catch (err) {
    if (!(await boss.getQueue(QUEUE.name))) throw err;
  }
}

/** Sends a run's next job (at most one waits per run). */
export async function kickStorageMigration(boss: PgBoss, migrationId: string): Promise<void> {
  await boss.send(STORAGE_MIGRATE_JOB, { migrationId }, { singletonKey: migrationId });
}

/** The service over this database and these storages; its runs are started through `boss`. */
export function storageMigrationService(deps: StorageMigrateDeps, boss: PgBoss): StorageMigrationService {
  return new StorageMigrationService({
    repo: new StorageMigrationRepository(deps.db),
    storages: deps.storages,
    logger: deps.logger,
    kick: (id) => kickStorageMigration(boss, id),
    graceMs: deps.graceMs,
    crashAt: crashPointFromEnv(),
  });
}

/** Works the queue in this process (the runs a stopped process left: resumeStorageMigrations). */
export async function startStorageMigrateWorker(boss: PgBoss, deps: StorageMigrateDeps): Promise<void> {
  await ensureStorageMigrateQueue(boss);
  const service = storageMigrationService(deps, boss);
  await boss.work<StorageMigrateJobData>(
    STORAGE_MIGRATE_JOB,
    { includeMetadata: true, pollingIntervalSeconds: 1 },
    async ([job]) => {
      if (job) await runBatchJob(service, deps.logger, job);
    },
  );
}

/**
 * At start, once the schema is current (server.ts): the runs a stopped process left queued or running
 * get their job again. Returns how many.
 */
export async function resumeStorageMigrations(boss: PgBoss, db: Kysely<DB>): Promise<number> {
  const ids = await new StorageMigrationRepository(db).active();
  for (const id of ids) await kickStorageMigration(boss, id);
  return ids.length;
}

async function runBatchJob(
  service: StorageMigrationService,
  logger: Logger,
  job: PgBoss.JobWithMetadata<StorageMigrateJobData>,
): Promise<void> {
  const { migrationId } = job.data;
  try {
    const result = await service.runBatch(migrationId);
    if (result === 'more') await service.kick(migrationId);
    else logger.info({ migrationId, result }, 'storage migration stopped');
  } catch (err) {
    const last = job.retryCount >= job.retryLimit;
    if (last) await service.markFailed(migrationId);
    throw err;
  }
}
