/**
 * `recorder storage migrate …` and `recorder storage verify`. migrate queues a run for the servers' job
 * workers (jobs/storage-migrate.ts) and follows its row with a progress bar; Ctrl-C leaves the run going.
 */
import cliProgress from 'cli-progress';
import type { Config } from '../server/config.js';
import { openDatabase } from '../server/db/database.js';
import type { StorageMigrationFilters } from '../server/db/schema.js';
import { AppError } from '../server/errors.js';
import { startBoss } from '../server/jobs/boss.js';
import { ensureStorageMigrateQueue, storageMigrationService } from '../server/jobs/storage-migrate.js';
import type { Logger } from '../server/logger.js';
import { StorageMigrationRepository } from '../server/storage-migration/storage-migration.repository.js';
import { presentMigration } from '../server/storage-migration/storage-migration.service.js';
import { VerifyService } from '../server/storage-migration/verify.service.js';
import { createStorageRegistry } from '../server/storage/factory.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** How often the bar reads the run's row. */
const FOLLOW_EVERY_MS = 500;
/** A run still queued after this: no server works the queue (JOBS_ENABLED=false, or none running). */
const NO_WORKER_WARNING_MS = 15_000;

export interface FilterOptions {
  user?: string;
  project?: string;
  createdBefore?: string;
}

export interface MigrateOptions extends FilterOptions {
  to: 's3' | 'local';
  batch?: number;
  concurrency?: number;
  maxMibPerS?: number;
  dryRun?: boolean;
  follow?: boolean;
}

export interface VerifyOptions extends FilterOptions {
  sample?: string;
  concurrency?: number;
}

type Setup = () => { config: Config; logger: Logger };
type Presented = ReturnType<typeof presentMigration>;

function filtersOf(o: FilterOptions): StorageMigrationFilters {
  const filters: StorageMigrationFilters = {};
  if (o.user) filters.userId = o.user;
  if (o.project) {
    if (!/^[1-9]\d{0,18}$/.test(o.project)) throw new AppError('VALIDATION_FAILED', '--project must be a project id');
    filters.projectId = o.project;
  }
  if (o.createdBefore) {
    const date = new Date(o.createdBefore);
    if (Number.isNaN(date.getTime())) {
      throw new AppError('VALIDATION_FAILED', '--created-before must be a date (e.g. 2026-01-31 or an ISO time)');
    }
    filters.createdBefore = date.toISOString();
  }
  return filters;
}

/** Opens what the commands need, runs `work`, closes everything again. */
async function withServices<T>(setup: Setup, work: (s: Awaited<ReturnType<typeof open>>) => Promise<T>) {
  const services = await open(setup);
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

async function open(setup: Setup) {
  const { config, logger } = setup();
  const database = await openDatabase(config, logger, 2);
  const storages = createStorageRegistry(config, logger);
  const boss = await startBoss(database.url, logger, { connectTimeoutMs: config.dbConnectTimeoutMs });
  await ensureStorageMigrateQueue(boss.boss);
  const migrations = storageMigrationService({ db: database.db, storages, logger }, boss.boss);
  const verifier = new VerifyService(new StorageMigrationRepository(database.db), storages);
  return {
    migrations,
    verifier,
    close: async () => {
      await boss.stop();
      await database.close();
    },
  };
}

function line(run: Presented): string {
  const { counts, bytes } = run;
  const where = `${run.target.provider}${run.target.bucket ? ` (${run.target.bucket})` : ''}`;
  const moved = `${counts.moved}/${counts.total} moved, ${counts.skipped} skipped, ${counts.failed} failed`;
  const size = `${(bytes.moved / GiB).toFixed(2)}/${(bytes.total / GiB).toFixed(2)} GiB`;
  const error = run.lastError ? `; last error: ${run.lastError}` : '';
  return `run ${run.id} to ${where}: ${run.status}; ${moved}; ${size}${error}`;
}

/** Follows the run's row until it is over (or Ctrl-C: the run goes on without us). */
async function follow(read: () => Promise<Presented>): Promise<Presented> {
  const bar = new cliProgress.SingleBar(
    { format: '{bar} {value}/{total} recordings | {gib} GiB | {rate} MiB/s | ETA {eta_formatted} | {status}' },
    cliProgress.Presets.shades_classic,
  );
  let run = await read();
  const started = { at: Date.now(), bytes: run.bytes.moved };
  bar.start(run.counts.total, 0, { gib: '0.00', rate: '0.0', status: run.status });
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  try {
    while (!interrupted && ['queued', 'running'].includes(run.status)) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      run = await read();
      const seconds = (Date.now() - started.at) / 1000;
      if (run.status === 'queued' && Date.now() - started.at > NO_WORKER_WARNING_MS) {
        run = { ...run, lastError: 'no worker has picked it up: is a server running with JOBS_ENABLED=true?' };
      }
      const done = run.counts.moved + run.counts.skipped + run.counts.failed;
      bar.setTotal(Math.max(run.counts.total, done));
      bar.update(done, {
        gib: (run.bytes.moved / GiB).toFixed(2),
        rate: ((run.bytes.moved - started.bytes) / MiB / Math.max(seconds, 0.001)).toFixed(1),
        status: run.lastError ? `${run.status}: ${run.lastError}` : run.status,
      });
    }
  } finally {
    process.off('SIGINT', onSigint);
    bar.stop();
  }
  if (interrupted) out('stopped following; the migration goes on (recorder storage migrate status)');
  return run;
}

export function storageMigrateCommands(setup: Setup) {
  const act = (action: 'pause' | 'resume' | 'cancel') => async (id?: string) =>
    withServices(setup, async ({ migrations }) => out(line(presentMigration(await migrations[action](id)))));
  return {
    migrate: async (o: MigrateOptions) =>
      withServices(setup, async ({ migrations }) => {
        const filters = filtersOf(o);
        if (o.dryRun) {
          const plan = await migrations.dryRun(o.to, filters);
          out(`dry run: ${plan.count} recording(s), ${(plan.bytes / GiB).toFixed(3)} GiB would move to ${o.to}`);
          return;
        }
        const run = await migrations.start({
          to: o.to,
          filters,
          batchSize: o.batch,
          concurrency: o.concurrency,
          maxMibPerS: o.maxMibPerS,
          startedBy: 'cli',
        });
        out(`run ${run.id} queued: the servers' job workers move the recordings (JOBS_ENABLED=true)`);
        if (o.follow === false) return;
        const last = await follow(async () => presentMigration(await migrations.find(run.id)));
        out(line(last));
        if (last.status === 'failed' || last.counts.failed > 0) process.exitCode = 1;
      }),
    status: async (id?: string) =>
      withServices(setup, async ({ migrations }) => {
        const run = await migrations.find(id);
        const described = await migrations.describe(run.id);
        out(line(described));
        for (const f of described.failures) out(`  recording ${f.recordingId}: ${f.reason}`);
      }),
    pause: act('pause'),
    resume: act('resume'),
    cancel: act('cancel'),
    verify: async (o: VerifyOptions) =>
      withServices(setup, async ({ verifier }) => {
        const samplePercent = o.sample === undefined ? 100 : Number.parseFloat(o.sample);
        if (!(samplePercent > 0 && samplePercent <= 100)) {
          throw new AppError('VALIDATION_FAILED', '--sample must be a share of recordings, e.g. 10% (0 < P <= 100)');
        }
        const bar = new cliProgress.SingleBar({}, cliProgress.Presets.shades_classic);
        bar.start(1, 0);
        const report = await verifier.verify({
          filters: filtersOf(o),
          samplePercent,
          concurrency: o.concurrency,
          onProgress: (checked, total) => {
            bar.setTotal(total);
            bar.update(checked);
          },
        });
        bar.stop();
        for (const p of report.problems) out(`  recording ${p.recordingId}: ${p.key}: ${p.problem}`);
        out(`checked ${report.checked} of ${report.total} recording(s); ${report.problems.length} problem(s)`);
        if (report.problems.length) process.exitCode = 1;
      }),
  };
}
