/**
 * The storage migration bench's mover: one run worked through to its end in a process of its own (every
 * batch, as the storage-migrate job would, the way test/support/storage-migrate-child.ts drives it), with
 * the S3 provider's production settings (s3.ts defaults: 8 MiB parts, 2 in flight, multipart above
 * 64 MiB) and the default grace. Prints one JSON line: { result, ms } (ms: the run's batches alone).
 *
 * Run: node --import tsx bench/lib/storage-migrate-child.ts '<json: dbUrl, mediaDir, s3, migrationId>'
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/server/db/schema.js';
import { createLogger } from '../../src/server/logger.js';
import { StorageMigrationRepository } from '../../src/server/storage-migration/storage-migration.repository.js';
import { StorageMigrationService } from '../../src/server/storage-migration/storage-migration.service.js';
import { LocalStorage } from '../../src/server/storage/local.js';
import { S3Storage } from '../../src/server/storage/s3.js';
import { runToEnd, TwoStorages } from '../../test/support/storage-migrate.js';
import type { S3Info } from './s3rver-process.js';
import { msSince, now } from './stats.js';

interface ChildArgs {
  dbUrl: string;
  mediaDir: string;
  s3: S3Info;
  migrationId: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: args.dbUrl }) }) });
const s3 = new S3Storage({
  endpoint: args.s3.endpoint,
  region: 'us-east-1',
  bucket: args.s3.bucket,
  accessKeyId: args.s3.accessKeyId,
  secretAccessKey: args.s3.secretAccessKey,
  forcePathStyle: true,
});
const service = new StorageMigrationService({
  repo: new StorageMigrationRepository(db),
  storages: new TwoStorages(new LocalStorage({ dir: args.mediaDir }), s3),
  logger: createLogger('warn'),
  kick: async () => undefined,
});
const t0 = now();
const result = await runToEnd(service, args.migrationId);
const ms = msSince(t0);
process.stdout.write(`${JSON.stringify({ result, ms })}\n`);
await db.destroy();
