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

/** How long the app's pool waits for PostgreSQL; migrations and pg-boss use their own connections. */
export interface PoolTimeouts {
  /** Longest wait for a connection (a free one from the pool, or a new one), ms. */
  connectTimeoutMs: number;
  /** statement_timeout of every session in the pool, ms; 0: none. */
  statementTimeoutMs: number;
}

/**
 * The app's pool. Timeouts bound every request: a dead or stuck server fails the query (503 through
 * db/outage.ts) instead of holding the request open. The client-side query timeout is a little longer
 * than statement_timeout so the server's own cancel (57014) normally wins and the connection stays usable;
 * it only fires when the server does not answer at all.
 */
export function createPool(url: string, poolSize: number, timeouts: PoolTimeouts, logger: Logger): pg.Pool {
  const { connectTimeoutMs, statementTimeoutMs } = timeouts;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: 'recorder',
    connectionTimeoutMillis: connectTimeoutMs,
    ...(statementTimeoutMs > 0
      ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + connectTimeoutMs }
      : {}),
    // A half-open TCP connection (server host gone) is noticed within about a minute.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle database connection lost'));
  // Neither may a checked-out one: pg-pool listens only while a client is idle, and a connection that
  // dies between two statements of a transaction emits 'error' with nobody listening (an uncaught
  // exception). The statement that follows fails and is answered (and logged) as a 503; an idle client's
  // loss is logged above, so this listener only keeps the process up.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Connects to DATABASE_URL, or starts/joins the embedded server under DATA_DIR when it is unset. */
export async function openDatabase(config: Config, logger: Logger, poolSize = 10): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, logger });
    url = embedded.url;
  }
  const timeouts = { connectTimeoutMs: config.dbConnectTimeoutMs, statementTimeoutMs: config.dbStatementTimeoutMs };
  const pool = createPool(url, poolSize, timeouts, logger);
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
