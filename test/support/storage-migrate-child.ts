/**
 * A process that runs one storage migration run to its end (every batch, as the job would), for the
 * kill -9 tests: STORAGE_MIGRATE_CRASH_AT makes it SIGKILL itself at that step (mover.ts). Run with tsx:
 *   node --import tsx test/support/storage-migrate-child.ts '<json: dbUrl, mediaDir, s3, migrationId>'
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/server/db/schema.js';
import { crashPointFromEnv } from '../../src/server/jobs/storage-migrate.js';
import { createLogger } from '../../src/server/logger.js';
import { StorageMigrationRepository } from '../../src/server/storage-migration/storage-migration.repository.js';
import { StorageMigrationService } from '../../src/server/storage-migration/storage-migration.service.js';
import { LocalStorage } from '../../src/server/storage/local.js';
import type { S3rverHandle } from './s3rver.js';
import { runToEnd, s3StorageOf, TwoStorages } from './storage-migrate.js';

interface ChildArgs {
  dbUrl: string;
  mediaDir: string;
  s3: S3rverHandle;
  migrationId: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: args.dbUrl }) }) });
const service = new StorageMigrationService({
  repo: new StorageMigrationRepository(db),
  storages: new TwoStorages(new LocalStorage({ dir: args.mediaDir }), s3StorageOf(args.s3)),
  logger: createLogger('silent'),
  kick: async () => undefined,
  graceMs: 0,
  crashAt: crashPointFromEnv(),
});
const result = await runToEnd(service, args.migrationId);
process.stdout.write(`${result}\n`);
await db.destroy();
