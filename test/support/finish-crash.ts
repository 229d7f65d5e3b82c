/**
 * For the tests of an upload finish that a crash cut short: a migrated fresh database with one user
 * (signed up through a short-lived server, stopped again), the parts an UploadsService is built from so
 * the test drives create()/finish() itself, a storage whose put() stores the object and then throws —
 * the process dying right after — and a real WebM in DATA_DIR as the upload's bytes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/server/config.js';
import type { DB } from '../../src/server/db/schema.js';
import type { JobQueue } from '../../src/server/jobs/queue.js';
import { createLogger, type Logger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { LocalStorage } from '../../src/server/storage/local.js';
import type { Storage } from '../../src/server/storage/storage.js';
import { UploadsService } from '../../src/server/uploads/uploads.service.js';
import { signUp } from './app.js';
import { freshDatabase } from './db.js';
import type { PgTarget } from './global-setup.js';

type User = Awaited<ReturnType<typeof signUp>>;

export interface FinishCrashRig<T> {
  dbUrl: string;
  kysely: Kysely<DB>;
  logger: Logger;
  user: User;
  /** What `prepare` returned; it ran while the short-lived server was up. */
  prepared: T;
  /** The local storage provider over DATA_DIR/media, as the server uses it. */
  storage: LocalStorage;
  /** The same storage, but put() throws right after the object is stored. */
  crashing: Storage;
  /** The jobs the services queued (nothing runs them). */
  sent: unknown[];
  /** An UploadsService over these parts, as a (re)started process builds it. */
  uploads(storage?: Storage): UploadsService;
  /** The upload's bytes on disk and their size. */
  file: string;
  size: number;
  /** Closes the pool, drops the database, removes DATA_DIR. */
  close(): Promise<void>;
}

export async function finishCrashRig<T = undefined>(
  target: PgTarget,
  webm: string,
  prepare?: (url: string, user: User) => Promise<T>,
): Promise<FinishCrashRig<T>> {
  const db = await freshDatabase(target);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-finish-crash-'));
  const kysely = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 2 }) }),
  });
  const close = async () => {
    await kysely.destroy();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // The server only migrates and makes the user; the test plays the process that crashes.
    const server = await startServer(
      loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', JOBS_ENABLED: 'false' }),
      createLogger('silent'),
    );
    let user: User;
    let prepared: T;
    try {
      user = await signUp(server.url, 'crashy');
      prepared = (await prepare?.(server.url, user)) as T;
    } finally {
      await server.stop();
    }
    const logger = createLogger('silent');
    const storage = new LocalStorage({ dir: path.join(dataDir, 'media') });
    const sent: unknown[] = [];
    const queue = { send: async (...args: unknown[]) => void sent.push(args) } as unknown as JobQueue;
    const crashing: Storage = Object.assign(Object.create(storage) as Storage, {
      put: async (...args: Parameters<Storage['put']>) => {
        await storage.put(...args);
        throw new Error('simulated crash after put');
      },
    });
    const file = path.join(dataDir, 'upload.webm');
    fs.copyFileSync(webm, file);
    const size = fs.statSync(file).size;
    return {
      dbUrl: db.url,
      kysely,
      logger,
      user,
      prepared,
      storage,
      crashing,
      sent,
      uploads: (s = storage) => new UploadsService(kysely, s, queue, logger),
      file,
      size,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
