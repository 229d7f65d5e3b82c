import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import type { DB } from './schema.js';

/** The database connection the whole process shares: one pg pool, one Kysely over it. */
export interface Database {
  db: Kysely<DB>;
  pool: pg.Pool;
  /** Connection string (holds the password: never log it; see safeUrl). */
  url: string;
  embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts/joins the embedded server under DATA_DIR when it is unset. */
export async function openDatabase(config: Config, logger: Logger, poolSize = 10): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, logger });
    url = embedded.url;
  }
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'recorder' });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle database connection lost'));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    url,
    embedded,
    async close() {
      await db.destroy();
      await embedded?.stop();
    },
  };
}
