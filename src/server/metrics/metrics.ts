/**
 * The process's Prometheus metrics (docs/monitoring.md). One Registry per started server, never
 * prom-client's global one, so two servers in one process (tests) never share or double-register series.
 * Counters and histograms move where things happen (HTTP hook, job wrapper, sessions, upload finish);
 * gauges of the database's state are read at scrape time (scrape-gauges.ts).
 */
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What sessions.service.ts, the stale sweep and the upload finish report; absent where metrics are off. */
export interface SessionMetrics {
  /** A session changed status (to: active, interrupted, completed, discarded). */
  transition(to: string): void;
  /** Who ended a take early: the browser said so (client) or the stale sweep heard nothing (stale). */
  interrupted(reason: 'client' | 'stale', sessions?: number): void;
}

/** Seconds: from a 5 ms health check to a 2-minute finish of a large take. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
/** Seconds: a job runs from milliseconds (a sweep) to hours (a long render). */
const JOB_BUCKETS = [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400];

export class Metrics implements SessionMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'recorder_http_request_duration_seconds',
    help: 'HTTP requests by method, route template (unmatched: no route) and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  readonly uploadsInProgress = new Gauge({
    name: 'recorder_uploads_in_progress',
    help: 'tus requests carrying upload bytes into this process right now',
    registers: [this.registry],
  });
  readonly uploadBytes = new Counter({
    name: 'recorder_upload_bytes_received_total',
    help: 'Upload bytes stored by this process (the Upload-Offset each tus request advanced)',
    registers: [this.registry],
  });
  readonly uploadFinish = new Histogram({
    name: 'recorder_upload_finish_duration_seconds',
    help: 'Turning a complete upload into its recording (assemble, hash, commit), by outcome',
    labelNames: ['outcome'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'recorder_job_duration_seconds',
    help: 'Job handler runs in this process by queue and outcome (completed, failed)',
    labelNames: ['queue', 'outcome'] as const,
    buckets: JOB_BUCKETS,
    registers: [this.registry],
  });
  readonly jobFailures = new Counter({
    name: 'recorder_job_failures_total',
    help: 'Job handler runs that threw (each is a pg-boss retry, or the last attempt)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  readonly sessionTransitions = new Counter({
    name: 'recorder_recording_session_transitions_total',
    help: 'Recording sessions entering a status (active, interrupted, completed, discarded)',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });
  readonly sessionInterruptions = new Counter({
    name: 'recorder_recording_session_interruptions_total',
    help: 'Recording sessions interrupted, by who said so: client (the browser) or stale (the sweep)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(pool?: pg.Pool) {
    collectDefaultMetrics({ register: this.registry });
    if (pool) this.watchPool(pool);
  }

  transition(to: string): void {
    this.sessionTransitions.inc({ to });
  }

  interrupted(reason: 'client' | 'stale', sessions = 1): void {
    this.sessionInterruptions.inc({ reason }, sessions);
    this.sessionTransitions.inc({ to: 'interrupted' }, sessions);
  }

  /** Times a job handler; a throw is counted as a failure and rethrown for pg-boss to retry. */
  timeJob<T extends unknown[]>(queue: string, handler: (...args: T) => Promise<void>) {
    return async (...args: T): Promise<void> => {
      const end = this.jobDuration.startTimer({ queue });
      try {
        await handler(...args);
        end({ outcome: 'completed' });
      } catch (err) {
        end({ outcome: 'failed' });
        this.jobFailures.inc({ queue });
        throw err;
      }
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private watchPool(pool: pg.Pool): void {
    new Gauge({
      name: 'recorder_db_pool_connections',
      help: "The app's PostgreSQL pool: connections open (total), idle, and requests waiting for one",
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }
}
