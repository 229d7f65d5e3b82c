/**
 * Gauges of the database's state, read when Prometheus scrapes: queue depth, active sessions, the latest
 * storage migration, backfill progress. A read that fails (database away, pgboss schema not made yet)
 * must not fail the scrape, nor a read that hangs (a lock, no free connection) hold it up: the failure
 * is logged, its series are left out of this scrape (reset), and everything else is still served.
 */
import { Gauge } from 'prom-client';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';
import type { MetricsRepository } from './metrics.repository.js';

type LabelledGauge = Gauge<string>;

/**
 * Longest a scrape waits for one read. Prometheus gives a whole scrape 10 s by default: a read blocked by a
 * lock or a pool with no free connection must not take the process metrics down with it.
 */
export const SCRAPE_READ_TIMEOUT_MS = 2000;

function withinTimeout(work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${SCRAPE_READ_TIMEOUT_MS} ms`)),
      SCRAPE_READ_TIMEOUT_MS,
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A gauge whose values come from `read` at each scrape; every gauge here has labels, so reset() empties it. */
function scraped(
  metrics: Metrics,
  logger: Logger,
  spec: { name: string; help: string; labelNames: string[] },
  read: (gauge: LabelledGauge) => Promise<void>,
): void {
  new Gauge({
    ...spec,
    registers: [metrics.registry],
    async collect() {
      this.reset();
      try {
        // a late answer is dropped: the reset at the next scrape clears what it sets
        await withinTimeout(read(this));
      } catch (err) {
        this.reset();
        logger.warn({ metric: spec.name, err: (err as Error).message }, 'a metric could not be read; left out');
      }
    },
  });
}

export function registerScrapeGauges(metrics: Metrics, repo: MetricsRepository, logger: Logger): void {
  scraped(
    metrics,
    logger,
    {
      name: 'recorder_job_queue_depth',
      help: 'pg-boss jobs by queue and state (created, retry, active, failed)',
      labelNames: ['queue', 'state'],
    },
    async (gauge) => {
      for (const row of await repo.queueDepth()) gauge.set({ queue: row.queue, state: row.state }, row.jobs);
    },
  );
  scraped(
    metrics,
    logger,
    { name: 'recorder_recording_sessions', help: 'Recording sessions by status (active)', labelNames: ['status'] },
    async (gauge) => gauge.set({ status: 'active' }, await repo.activeSessions()),
  );
  registerStorageMigration(metrics, repo, logger);
  registerBackfills(metrics, repo, logger);
}

function registerStorageMigration(metrics: Metrics, repo: MetricsRepository, logger: Logger): void {
  const latest = () => repo.latestStorageMigration();
  scraped(
    metrics,
    logger,
    {
      name: 'recorder_storage_migration_objects',
      help: 'The latest storage migration: recordings to move (total), moved, skipped, failed',
      labelNames: ['state'],
    },
    async (gauge) => {
      const run = await latest();
      if (!run) return;
      gauge.set({ state: 'total' }, run.totalCount);
      gauge.set({ state: 'moved' }, run.movedCount);
      gauge.set({ state: 'skipped' }, run.skippedCount);
      gauge.set({ state: 'failed' }, run.failedCount);
    },
  );
  scraped(
    metrics,
    logger,
    {
      name: 'recorder_storage_migration_bytes',
      help: 'The latest storage migration: bytes to move (total) and moved',
      labelNames: ['state'],
    },
    async (gauge) => {
      const run = await latest();
      if (!run) return;
      gauge.set({ state: 'total' }, run.totalBytes);
      gauge.set({ state: 'moved' }, run.movedBytes);
    },
  );
  scraped(
    metrics,
    logger,
    {
      name: 'recorder_storage_migration_status',
      help: 'The latest storage migration: 1 for its status',
      labelNames: ['status'],
    },
    async (gauge) => {
      const run = await latest();
      if (run) gauge.set({ status: run.status }, 1);
    },
  );
}

function registerBackfills(metrics: Metrics, repo: MetricsRepository, logger: Logger): void {
  scraped(
    metrics,
    logger,
    {
      name: 'recorder_backfill_rows',
      help: 'Declared backfills: rows to fill (total), filled, rejected',
      labelNames: ['backfill', 'state'],
    },
    async (gauge) => {
      for (const b of await repo.backfills()) {
        gauge.set({ backfill: b.name, state: 'total' }, b.rowsTotal);
        gauge.set({ backfill: b.name, state: 'filled' }, b.rowsFilled);
        gauge.set({ backfill: b.name, state: 'rejected' }, b.rowsRejected);
      }
    },
  );
  scraped(
    metrics,
    logger,
    {
      name: 'recorder_backfill_finished',
      help: 'Declared backfills: 1 when finished, 0 while running',
      labelNames: ['backfill'],
    },
    async (gauge) => {
      for (const b of await repo.backfills()) gauge.set({ backfill: b.name }, b.state === 'finished' ? 1 : 0);
    },
  );
}
