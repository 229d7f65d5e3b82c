import type { FastifyInstance } from 'fastify';
import path from 'node:path';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { Migrator, type ProgressEvent } from './db/migrator/engine.js';
import type { Logger } from './logger.js';

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  stop(): Promise<void>;
}

export function createMigrator(config: Config, url: string, logger: Logger, extra: { runnerLock?: 'wait' | 'fail'; onProgress?: (e: ProgressEvent) => void } = {}) {
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
  });
}

/** Opens the database, migrates when asked, listens. stop() drains HTTP first, then the database. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const database = await openDatabase(config, logger);
  try {
    const migrator = createMigrator(config, database.url, logger);
    await migrator.migrations(); // malformed files stop the start here, with the file named
    if (config.migrateOnStart) {
      const applied = await migrator.up();
      logger.info({ applied: applied.length }, applied.length ? 'migrations applied' : 'schema up to date');
    }
    const app = await buildApp({ logger, probe: { pendingMigrations: () => migrator.pendingCount(database.pool) } });
    const url = await app.listen({ port: config.port, host: config.host });
    let stopping: Promise<void> | undefined;
    return {
      app,
      database,
      url,
      stop: () =>
        (stopping ??= (async () => {
          await app.close();
          await database.close();
        })()),
    };
  } catch (err) {
    await database.close().catch(() => undefined);
    throw err;
  }
}
