/**
 * For the storage migration tests: a migrated fresh database, a local storage in a temp directory and an
 * s3rver bucket, a registry of the two (as a server configured with both builds it), and recordings
 * seeded straight into them: a row with its size, sha256 and thumbnail key, and its objects on local
 * storage under the keys keys.ts makes. The service runs batches inline (no queue) unless a test asks.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/server/db/schema.js';
import { createLogger } from '../../src/server/logger.js';
import { StorageMigrationRepository } from '../../src/server/storage-migration/storage-migration.repository.js';
import {
  type StorageMigrationDeps,
  StorageMigrationService,
} from '../../src/server/storage-migration/storage-migration.service.js';
import { VerifyService } from '../../src/server/storage-migration/verify.service.js';
import { recordingKey, thumbnailKey } from '../../src/server/storage/keys.js';
import { LocalStorage } from '../../src/server/storage/local.js';
import {
  type StorageLocation,
  StorageNotConfiguredError,
  type StorageRegistry,
} from '../../src/server/storage/registry.js';
import { S3Storage } from '../../src/server/storage/s3.js';
import type { Storage, StorageProviderName } from '../../src/server/storage/storage.js';
import { freshDatabase, migrator } from './db.js';
import type { PgTarget } from './global-setup.js';
import type { S3rverHandle } from './s3rver.js';

/** Local always, s3 when given; a row names its storage by provider and (s3) bucket. */
export class TwoStorages implements StorageRegistry {
  constructor(
    readonly primary: Storage,
    private readonly other?: Storage,
  ) {}

  byProvider(provider: StorageProviderName): Storage | undefined {
    return this.all().find((s) => s.provider === provider);
  }

  forLocation(location: StorageLocation): Storage {
    const storage = this.byProvider(location.provider);
    if (!storage || (location.bucket !== null && (storage.bucket ?? null) !== location.bucket)) {
      throw new StorageNotConfiguredError(location);
    }
    return storage;
  }

  all(): Storage[] {
    return this.other ? [this.primary, this.other] : [this.primary];
  }
}

export function s3StorageOf(s3: S3rverHandle): S3Storage {
  return new S3Storage({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    // small parts, so a copy of a few hundred KB goes up in several (multipart, as a large file does)
    partSize: 5 * 1024 * 1024,
    multipartThreshold: 64 * 1024,
  });
}

export interface Seeded {
  id: string;
  key: string;
  thumbnail: string;
  sha256: string;
  size: number;
}

export interface MigrationRig {
  dbUrl: string;
  db: Kysely<DB>;
  local: LocalStorage;
  s3: S3Storage;
  storages: TwoStorages;
  repo: StorageMigrationRepository;
  userId: string;
  dataDir: string;
  /** Recordings with random media of these sizes (bytes) and a small thumbnail each, on local storage. */
  seed(sizes: number[], userId?: string): Promise<Seeded[]>;
  service(over?: Partial<StorageMigrationDeps>): StorageMigrationService;
  verifier(): VerifyService;
  close(): Promise<void>;
}

export async function migrationRig(target: PgTarget, s3rver: S3rverHandle): Promise<MigrationRig> {
  const database = await freshDatabase(target);
  await migrator(database.url).up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-migrate-'));
  const pool = new pg.Pool({ connectionString: database.url, max: 6 });
  // Dropping the database at the end terminates connections (57P01); an idle client's error is expected
  // then, and unheard it would be an uncaught exception that fails the whole run.
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const local = new LocalStorage({ dir: path.join(dataDir, 'media') });
  const s3 = s3StorageOf(s3rver);
  const storages = new TwoStorages(local, s3);
  const repo = new StorageMigrationRepository(db);
  const userId = await addUser(db);
  return {
    dbUrl: database.url,
    db,
    local,
    s3,
    storages,
    repo,
    userId,
    dataDir,
    seed: (sizes, owner = userId) => seedRecordings(db, local, owner, sizes),
    service: (over = {}) =>
      new StorageMigrationService({
        repo,
        storages,
        logger: createLogger('silent'),
        kick: async () => undefined,
        graceMs: 0,
        ...over,
      }),
    verifier: () => new VerifyService(repo, storages),
    async close() {
      await db.destroy();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function addUser(db: Kysely<DB>): Promise<string> {
  const id = `u${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await db
    .insertInto('users')
    .values({ id, email: `${id}@example.com`, display_name: id })
    .execute();
  return id;
}

async function seedRecordings(db: Kysely<DB>, local: Storage, userId: string, sizes: number[]): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const title = `take ${seeded.length + 1}`;
    seeded.push(await seedStoredRecording(db, local, userId, { title, body: Readable.from([bytes]), size, sha256 }));
  }
  return seeded;
}

/**
 * One recording as an upload leaves it (also the bench's seed): the row inserted, then its media and a
 * thumbnail put under keys.ts's keys, then storage_provider/key, file_size, mime_type and
 * metadata.sha256/upload_sha256/thumbnail_key set, as the uploads service writes them.
 */
export async function seedStoredRecording(
  db: Kysely<DB>,
  local: Storage,
  userId: string,
  media: { title: string; body: Readable; size: number; sha256: string | (() => string) },
): Promise<Seeded> {
  const { id } = await db
    .insertInto('recordings')
    .values({ user_id: userId, title: media.title, recording_type: 'screen', duration: 3 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const key = recordingKey(userId, id, 'webm');
  const thumbnail = thumbnailKey(userId, id);
  await local.put(key, media.body, { size: media.size });
  // a generated stream's hash is known only once it has been read
  const sha256 = typeof media.sha256 === 'string' ? media.sha256 : media.sha256();
  await local.put(thumbnail, Readable.from([randomBytes(2000)]));
  await db
    .updateTable('recordings')
    .set({
      storage_provider: 'local',
      storage_key: key,
      file_size: media.size,
      mime_type: 'video/webm',
      metadata: JSON.stringify({ sha256, upload_sha256: sha256, thumbnail_key: thumbnail }),
    })
    .where('id', '=', id)
    .execute();
  return { id, key, thumbnail, sha256, size: media.size };
}

/** Runs every batch of the run inline, as the job would one after the other. */
export async function runToEnd(service: StorageMigrationService, id: string): Promise<string> {
  for (;;) {
    const result = await service.runBatch(id);
    if (result !== 'more') return result;
  }
}

/** The bytes of an object, read through the storage. */
export async function bytesOf(storage: Storage, key: string): Promise<Buffer> {
  const { body } = await storage.get(key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
