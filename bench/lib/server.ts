/**
 * The benchmark's database: a fresh `bench_<random>` database, migrated with the project's own
 * Migrator, on BENCH_DATABASE_URL's server or on a throwaway embedded PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/server/db/embedded.js';
import { Migrator } from '../../src/server/db/migrator/engine.js';
import { createLogger, safeUrl } from '../../src/server/logger.js';
import type { Cleanup } from './cleanup.js';
import { note } from './stats.js';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');

export interface BenchTarget {
  /** Where the server came from, for the report (password removed). */
  server: string;
  url: string;
  database: string;
  /** Drops the database, stops and deletes an embedded server. Idempotent; never throws. */
  cleanup(): Promise<void>;
  /**
   * Embedded only: stops PostgreSQL (fast shutdown: every connection is cut), then starts it again on the
   * same port and data after `resumeAfter` resolves, like an operator restarting it. Undefined on
   * BENCH_DATABASE_URL's server, which is not ours to restart.
   */
  restart?: (resumeAfter: () => Promise<void>) => Promise<{ stoppedAt: number; startedAt: number }>;
}

/** A client that never crashes the process when the server goes away under it (Ctrl-C cleanup). */
export async function connect(url: string, opts: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'recorder-bench', ...opts });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function openTarget(): Promise<BenchTarget> {
  const logger = createLogger('warn');
  // Cleanups run last-registered-first: drop the database, then stop the server, then delete its files.
  const steps: { what: string; run: () => Promise<void> }[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const s of steps.reverse()) {
        try {
          await s.run();
        } catch (err) {
          note(`cleanup: ${s.what} failed: ${(err as Error).message}`);
        }
      }
    })());

  try {
    let adminUrl = process.env.BENCH_DATABASE_URL?.trim();
    let server: string;
    let restart: BenchTarget['restart'];
    if (adminUrl) {
      server = `BENCH_DATABASE_URL ${safeUrl(adminUrl)}`;
    } else {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-pg-'));
      // As root the server runs as `postgres`, which must be able to enter the directory.
      fs.chmodSync(dataDir, 0o755);
      steps.push({ what: `delete ${dataDir}`, run: () => fs.promises.rm(dataDir, { recursive: true, force: true }) });
      note(`starting embedded PostgreSQL in ${dataDir}`);
      let embedded = await startEmbeddedPostgres({ dataDir, port: 0, logger });
      steps.push({ what: 'stop embedded PostgreSQL', run: () => embedded.stop() });
      restart = async (resumeAfter) => {
        const stoppedAt = Date.now();
        await embedded.stop();
        await resumeAfter();
        embedded = await startEmbeddedPostgres({ dataDir, port: embedded.port, logger });
        return { stoppedAt, startedAt: Date.now() };
      };
      adminUrl = embedded.url;
      server = `embedded PostgreSQL (port ${embedded.port})`;
    }

    const database = `bench_${randomBytes(6).toString('hex')}`;
    const admin = await connect(adminUrl);
    try {
      await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    const dropUrl = adminUrl;
    steps.push({
      what: `drop database ${database}`,
      run: async () => {
        const c = await connect(dropUrl);
        try {
          // FORCE: a Ctrl-C can leave benchmark connections open.
          await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    });
    const u = new URL(adminUrl);
    u.pathname = `/${database}`;
    const url = u.toString();

    const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-backups-'));
    steps.push({ what: `delete ${backupDir}`, run: () => fs.promises.rm(backupDir, { recursive: true, force: true }) });
    // Same options as the test suite's migrator (test/support/db.ts), with a visible logger.
    const migrator = new Migrator({
      url,
      dir: MIGRATIONS_DIR,
      logger,
      lockTimeout: '2s',
      lockRetries: 3,
      runnerLock: 'wait',
      runnerLockWaitMs: 10_000,
      backupDir,
      retryBaseMs: 50,
    });
    const applied = await migrator.up();
    note(`database ${database}: ${applied.length} migrations applied`);
    return { server, url, database, cleanup, restart };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The bench database and a client on it, each undone by the bench's cleanups (the client closed first). */
export async function openTargetAndClient(cleanups: Cleanup[]): Promise<{ target: BenchTarget; client: pg.Client }> {
  const target = await openTarget();
  cleanups.push({ what: 'bench database', run: () => target.cleanup() });
  const client = await connect(target.url);
  cleanups.push({ what: 'close client', run: () => client.end() });
  return { target, client };
}
