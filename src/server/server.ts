import type { FastifyInstance } from 'fastify';
import path from 'node:path';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrationBackup } from './db/backup/for-migrations.js';
import type { Progress } from './db/backup/manifest.js';
import { Migrator, type ProgressEvent } from './db/migrator/engine.js';
import type { Logger } from './logger.js';
import { closeHttp } from './http/shutdown.js';
import { AuthRepository } from './auth/auth.repository.js';
import { AuthService } from './auth/auth.service.js';
import { systemClock } from './clock.js';
import { startBoss, type Boss } from './jobs/boss.js';
import { startSessionSweep, type SessionSweep } from './jobs/session-sweep.js';
import { startBackfills, type BackgroundBackfills } from './jobs/backfill.js';
import { ensureStorageMigrateQueue, resumeStorageMigrations, storageMigrationService } from './jobs/storage-migrate.js';
import { AccessRepository } from './access/access.repository.js';
import { AnalyticsRepository } from './analytics/analytics.repository.js';
import { AnalyticsService } from './analytics/analytics.service.js';
import { MetricsRepository } from './metrics/metrics.repository.js';
import { requeueProcessing, startWorkers } from './jobs/workers.js';
import { describeTools, detectTools, resolveTools } from './media/ffmpeg.js';
import { ProjectsRepository } from './projects/projects.repository.js';
import { ProjectsService } from './projects/projects.service.js';
import { RecordingsRepository } from './recordings/recordings.repository.js';
import { RecordingsService } from './recordings/recordings.service.js';
import { SessionsRepository } from './sessions/sessions.repository.js';
import { SessionsService } from './sessions/sessions.service.js';
import { createStorageRegistry } from './storage/factory.js';
import { MediaRedirects } from './storage/media-urls.js';
import type { StorageRegistry } from './storage/registry.js';
import type { Storage } from './storage/storage.js';
import { ImportsService } from './imports/imports.service.js';
import { createComments } from './comments/comments-setup.js';
import { EditsRepository } from './edits/edits.repository.js';
import { EditsService } from './edits/edits.service.js';
import { createShares } from './shares/shares-setup.js';
import { VersionsRepository } from './versions/versions.repository.js';
import { VersionsService } from './versions/versions.service.js';
import { createTusServer } from './uploads/uploads.routes.js';
import { createSinks } from './uploads/sinks.js';
import { UploadsRepository } from './uploads/uploads.repository.js';
import { UploadsService } from './uploads/uploads.service.js';
import { createMetrics, type MetricsListener, startMetricsListener } from './metrics/setup.js';
import { instrumentUploadFinish } from './metrics/instrument.js';

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  /** The primary storage: where new uploads go (STORAGE_PROVIDER). */
  storage: Storage;
  /** Every configured storage; reads and deletes follow each row's storage columns through it. */
  storages: StorageRegistry;
  boss: Boss;
  /** The stale-session sweep; undefined when JOBS_ENABLED=false. */
  sessionSweep: SessionSweep | undefined;
  /** Declared backfills, run in batches after `migrate up`; undefined when JOBS_ENABLED=false. */
  backfills: BackgroundBackfills | undefined;
  url: string;
  /** METRICS_PORT's listener (http://host:port); undefined when METRICS_PORT is not set. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

export function createMigrator(
  config: Config,
  url: string,
  logger: Logger,
  extra: { runnerLock?: 'wait' | 'fail'; onProgress?: (e: ProgressEvent) => void; backupProgress?: Progress } = {},
) {
  return new Migrator({
    url,
    dir: config.migrationsDir,
    logger,
    lockTimeout: config.migration.lockTimeout,
    lockRetries: config.migration.lockRetries,
    runnerLock: extra.runnerLock ?? 'wait',
    runnerLockWaitMs: config.migration.runnerLockWaitMs,
    backupDir: path.join(config.dataDir, 'backups'),
    onProgress: extra.onProgress,
    // a full backup first when a pending migration is destructive, or always (BACKUP_BEFORE_MIGRATE)
    backupBeforeUp: config.backupBeforeMigrate,
    fullBackup: migrationBackup(config, url, logger, extra.backupProgress),
  });
}

/**
 * Opens the database, migrates when asked, starts the job queue (and workers), finishes what a crash
 * interrupted (complete uploads, recordings left processing), listens, then sweeps stale recording
 * sessions every few seconds. stop() drains HTTP first, then the sweep and the jobs, then the database.
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const database = await openDatabase(config, logger);
  let boss: Boss | undefined;
  let sessionSweep: SessionSweep | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    const migrator = createMigrator(config, database.url, logger);
    await migrator.migrations(); // malformed files stop the start here, with the file named
    if (config.migrateOnStart) {
      const applied = await migrator.up();
      logger.info({ applied: applied.length }, applied.length ? 'migrations applied' : 'schema up to date');
    }
    const { db } = database;
    const metrics = createMetrics(config.metrics, database, logger);
    const storages = createStorageRegistry(config, logger);
    const storage = storages.primary;
    const redirects = new MediaRedirects(config.storage, storages);
    const report = await detectTools();
    logger.info({ ffmpeg: report.ffmpeg.available, ffprobe: report.ffprobe.available }, describeTools(report));
    const tools = report.ffmpeg.available && report.ffprobe.available ? resolveTools() : undefined;

    boss = await startBoss(database.url, logger, { connectTimeoutMs: config.dbConnectTimeoutMs });
    await ensureStorageMigrateQueue(boss.boss);
    const authRepo = new AuthRepository(db);
    const uploadsRepo = new UploadsRepository(db);
    const sinks = createSinks(storages, uploadsRepo, logger);
    const imports = new ImportsService({ db, storage, queue: boss, logger });
    const storagePercent = config.databaseStoragePercent;
    const uploads = new UploadsService({ db, storage, sinks, queue: boss, logger, storagePercent, metrics });
    if (metrics) instrumentUploadFinish(uploads, metrics);
    const recoverFinished = () => uploads.recoverFinished();
    const edits = new EditsService(new EditsRepository(db));
    const versionsRepo = new VersionsRepository(db);
    const versions = new VersionsService({ repo: versionsRepo, edits, storages, tools, queue: boss, logger });
    const { tus, files } = createTusServer({ uploads, sinks, maxUploadBytes: config.maxUploadBytes, logger, metrics });
    const recordings = new RecordingsService(new RecordingsRepository(db), { storages, redirects, logger }, boss);
    const shares = createShares(db, recordings);
    if (config.jobsEnabled)
      await startWorkers(boss, {
        db,
        storage: storages,
        tools,
        logger,
        expireSignIns: async (now) => {
          await shares.shares.forgetPasswordFailures(now); // the share links' wrong-password counters too
          return Number((await authRepo.deleteExpiredSessions(now)).numDeletedRows);
        },
        expireUploads: (before) => uploads.expire(before),
        recoverFinished,
        metrics,
      });
    const services = {
      auth: new AuthService(authRepo, systemClock),
      projects: new ProjectsService(new ProjectsRepository(db), boss),
      recordings,
      shares,
      sessions: new SessionsService(new SessionsRepository(db), files, logger, metrics),
      tus,
      uploads,
      imports,
      edits,
      versions,
      // Comments through links: their visitor is resolved as the share routes resolve it.
      comments: createComments(db, shares.shares),
      storageMigrations: {
        migrations: storageMigrationService({ db, storages, logger }, boss.boss),
        access: new AccessRepository(db),
        adminEmails: config.adminEmails,
      },
      analytics: new AnalyticsService(
        new AnalyticsRepository(db),
        new AccessRepository(db),
        new MetricsRepository(db),
        config.adminEmails,
        logger,
      ),
    };
    const app = await buildApp({
      logger,
      probe: { pendingMigrations: () => migrator.pendingCount(database.pool) },
      services,
      publicUrl: config.publicUrl,
      signInLimits: config.signInLimits,
      trustProxy: config.trustProxy,
      databaseStoragePercent: config.databaseStoragePercent,
      mediaOrigins: await redirects.origins(),
      metrics,
      metricsToken: config.metrics.token,
    });
    if (config.migrateOnStart || (await migrator.pendingCount(database.pool)) === 0) {
      const recovered = await recoverFinished();
      const requeued = await requeueProcessing(boss, db);
      await resumeStorageMigrations(boss.boss, db);
      if (recovered || requeued) logger.info({ recovered, requeued }, 'resumed work a previous run left unfinished');
    }
    const url = await app.listen({ port: config.port, host: config.host });
    if (metrics && config.metrics.port !== undefined) {
      const { port, token } = config.metrics;
      metricsListener = await startMetricsListener({ metrics, host: config.host, port, token, logger });
    }
    const metricsServer = metricsListener;
    sessionSweep = config.jobsEnabled
      ? startSessionSweep({ db, logger, staleSeconds: config.sessionStaleSeconds, metrics })
      : undefined;
    const sweep = sessionSweep;
    const backfills = config.jobsEnabled
      ? startBackfills({ url: database.url, logger, migrations: () => migrator.migrations() })
      : undefined;
    let stopping: Promise<void> | undefined;
    const jobs = boss;
    return {
      app,
      database,
      storage,
      storages,
      boss: jobs,
      sessionSweep: sweep,
      backfills,
      url,
      metricsUrl: metricsServer?.url,
      stop: () =>
        (stopping ??= (async () => {
          await closeHttp(app, config.shutdownGraceMs, logger);
          await metricsServer?.close();
          await sweep?.stop();
          await backfills?.stop();
          await jobs.stop();
          await database.close();
        })()),
    };
  } catch (err) {
    await metricsListener?.close().catch(() => undefined);
    await sessionSweep?.stop();
    await boss?.stop().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw err;
  }
}
