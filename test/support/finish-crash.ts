/**
 * For the tests of an upload finish that a crash cut short: a migrated fresh database with one user
 * (signed up through a short-lived server, stopped again), the parts an UploadsService is built from so
 * the test drives create()/fill()/finish() itself, upload sinks whose assemble() makes the object exist
 * under its final key and then throws — the process dying right after, before the recording's row —
 * and a real WebM in DATA_DIR as the upload's bytes.
 *
 * fill() puts the bytes into an upload the way a PATCH does, without HTTP: through the tus DataStore
 * (RecordingUploadStore) under a lease on the row, so the offset, hash state, sniffed type and final key
 * are committed exactly as the server commits them.
 */
import { randomUUID } from 'node:crypto';
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
import { createSinks } from '../../src/server/uploads/sinks.js';
import type { UploadLeaseLocker } from '../../src/server/uploads/upload-lease.js';
import type { UploadSink } from '../../src/server/uploads/upload-sink.js';
import { RecordingUploadStore, type Sinks } from '../../src/server/uploads/upload-store.js';
import { UploadsRepository } from '../../src/server/uploads/uploads.repository.js';
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
  repo: UploadsRepository;
  /** The upload sinks over that storage, as the server builds them. */
  sinks: Sinks;
  /** The same sinks, but assemble() throws right after the object exists under its final key. */
  crashing: Sinks;
  /** The jobs the services queued (nothing runs them). */
  sent: unknown[];
  /** An UploadsService over these parts (the crashing sinks, or others), as a (re)started process builds it. */
  uploads(sinks?: Sinks): UploadsService;
  /** Writes the whole file into the upload from offset 0, as one PATCH would; resolves to the new offset. */
  fill(uploadId: string): Promise<number>;
  /** Where an unfinished upload's bytes are: DATA_DIR/media/.uploads/<id>. */
  uploadPath(uploadId: string): string;
  /** The upload's bytes on disk and their size. */
  file: string;
  size: number;
  /** Closes the pool, drops the database, removes DATA_DIR. */
  close(): Promise<void>;
}

/** Sinks whose assemble() does its work and then throws, as a process killed right after it would. */
export function crashingAfterAssemble(sinks: Sinks): Sinks {
  const wrap = (sink: UploadSink): UploadSink => ({
    head: (row, size) => sink.head(row, size),
    write: (ctx) => sink.write(ctx),
    discard: (row) => sink.discard(row),
    assemble: async (row) => {
      await sink.assemble(row);
      throw new Error('simulated crash after assemble');
    },
  });
  return Object.fromEntries(Object.entries(sinks).map(([provider, sink]) => [provider, wrap(sink)])) as Sinks;
}

/**
 * Writes `file` into the upload from `offset` through the tus DataStore, holding the upload's lease as a
 * request would; resolves to the committed offset.
 */
export async function fillUpload(
  deps: { repo: UploadsRepository; sinks: Sinks; logger: Logger },
  uploadId: string,
  file: string,
  offset = 0,
): Promise<number> {
  const token = randomUUID();
  if (!(await deps.repo.tryLease(uploadId, token, 60_000))) throw new Error(`upload ${uploadId} is leased`);
  try {
    const locker = { tokenOf: () => token } as unknown as UploadLeaseLocker;
    const store = new RecordingUploadStore(deps.repo, locker, deps.sinks, new Map(), deps.logger);
    return await store.write(fs.createReadStream(file, { start: offset }), uploadId, offset);
  } finally {
    await deps.repo.releaseLease(uploadId, token);
  }
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
    const repo = new UploadsRepository(kysely);
    const sinks = createSinks(storage, repo);
    const sent: unknown[] = [];
    const queue = { send: async (...args: unknown[]) => void sent.push(args) } as unknown as JobQueue;
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
      repo,
      sinks,
      crashing: crashingAfterAssemble(sinks),
      sent,
      uploads: (s = sinks) => new UploadsService({ db: kysely, storage, sinks: s, queue, logger }),
      fill: (uploadId) => fillUpload({ repo, sinks, logger }, uploadId, file),
      uploadPath: (uploadId) => storage.uploadPath(uploadId),
      file,
      size,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
