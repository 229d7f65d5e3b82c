/**
 * The SQL read at every scrape (metrics/metrics.ts). Each read is one small aggregate: the job table by
 * queue and state, active sessions through their partial index (0015), the latest storage migration,
 * the backfills' bookkeeping. Tables outside the app's typed schema (pgboss.job, schema_backfills) are
 * read through sql`` with no interpolated values.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';

export interface QueueDepth {
  queue: string;
  state: string;
  jobs: number;
}

export interface LatestStorageMigration {
  status: string;
  totalCount: number;
  movedCount: number;
  skippedCount: number;
  failedCount: number;
  totalBytes: number;
  movedBytes: number;
}

export interface BackfillProgress {
  name: string;
  state: string;
  rowsTotal: number;
  rowsFilled: number;
  rowsRejected: number;
}

/** Jobs waiting or running or given up: completed ones are history, not depth. */
export const QUEUE_STATES = ['created', 'retry', 'active', 'failed'] as const;

export class MetricsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async queueDepth(): Promise<QueueDepth[]> {
    const { rows } = await sql<{ queue: string; state: string; jobs: string }>`
      SELECT name AS queue, state::text AS state, count(*) AS jobs
      FROM pgboss.job
      WHERE state IN ('created', 'retry', 'active', 'failed')
      GROUP BY name, state`.execute(this.db);
    return rows.map((r) => ({ queue: r.queue, state: r.state, jobs: Number(r.jobs) }));
  }

  /** The same predicate as idx_sessions_active_heartbeat, so the count reads that small index. */
  async activeSessions(): Promise<number> {
    const row = await this.db
      .selectFrom('recording_sessions')
      .select((eb) => eb.fn.countAll<string>().as('sessions'))
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    return Number(row.sessions);
  }

  async latestStorageMigration(): Promise<LatestStorageMigration | undefined> {
    const row = await this.db
      .selectFrom('storage_migrations')
      .select(['status', 'total_count', 'moved_count', 'skipped_count', 'failed_count', 'total_bytes', 'moved_bytes'])
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      status: row.status,
      totalCount: Number(row.total_count),
      movedCount: Number(row.moved_count),
      skippedCount: Number(row.skipped_count),
      failedCount: Number(row.failed_count),
      totalBytes: Number(row.total_bytes),
      movedBytes: Number(row.moved_bytes),
    };
  }

  async backfills(): Promise<BackfillProgress[]> {
    const { rows } = await sql<{
      name: string;
      state: string;
      rows_total: string;
      rows_filled: string;
      rows_rejected: string;
    }>`SELECT name, state, rows_total, rows_filled, rows_rejected FROM schema_backfills ORDER BY name`.execute(this.db);
    return rows.map((r) => ({
      name: r.name,
      state: r.state,
      rowsTotal: Number(r.rows_total),
      rowsFilled: Number(r.rows_filled),
      rowsRejected: Number(r.rows_rejected),
    }));
  }
}
