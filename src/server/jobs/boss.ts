/**
 * pg-boss on our own database: jobs survive restarts and share PostgreSQL's durability. pg-boss keeps
 * its tables in its own schema (`pgboss`), which it creates and migrates itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import { isDatabaseUnavailable } from '../db/outage.js';
import type { Logger } from '../logger.js';
import { JOBS, type JobName, type JobQueue } from './queue.js';

export interface Boss extends JobQueue {
  boss: PgBoss;
  stop(): Promise<void>;
}

/**
 * 'stately': at most one queued and one active job per queue and singletonKey (pg-boss's default
 * 'standard' policy ignores singletonKey). A recording is processed once at a time, and the many
 * "drain the outbox" nudges collapse into one.
 */
const QUEUE_OPTIONS: Record<JobName, PgBoss.Queue> = {
  // ffprobe/ffmpeg work: a few tries with growing delays, then the recording is marked failed.
  [JOBS.processRecording]: {
    name: JOBS.processRecording,
    policy: 'stately',
    retryLimit: 3,
    retryDelay: 5,
    retryBackoff: true,
    expireInSeconds: 3600,
  },
  // ffmpeg renders (issue 12): ffmpeg refusing is recorded at once; storage or database trouble is retried.
  // Each job sets its own expiry from the recording's length (versions.service.ts renderExpirySeconds).
  [JOBS.renderVersion]: {
    name: JOBS.renderVersion,
    policy: 'stately',
    retryLimit: 2,
    retryDelay: 10,
    retryBackoff: true,
    expireInSeconds: 4 * 3600,
  },
  [JOBS.deleteMedia]: {
    name: JOBS.deleteMedia,
    policy: 'stately',
    retryLimit: 10,
    retryDelay: 10,
    retryBackoff: true,
    expireInSeconds: 900,
  },
  [JOBS.sweepStorage]: {
    name: JOBS.sweepStorage,
    policy: 'stately',
    retryLimit: 1,
    retryDelay: 60,
    expireInSeconds: 3600,
  },
  [JOBS.housekeeping]: {
    name: JOBS.housekeeping,
    policy: 'stately',
    retryLimit: 1,
    retryDelay: 60,
    expireInSeconds: 900,
  },
};

/**
 * Creates a queue unless it exists. Servers starting at the same moment on a fresh database race here:
 * pg-boss's createQueue then fails one of them (a deadlock, or the queue existing by then). Looking again
 * after a short, random wait settles it: the other server's queue is there, or this one's attempt wins.
 */
async function ensureQueue(boss: PgBoss, queue: Parameters<PgBoss['createQueue']>[1] & { name: string }) {
  for (let attempt = 1; ; attempt++) {
    if (await boss.getQueue(queue.name)) return;
    try {
      await boss.createQueue(queue.name, queue);
      return;
    } catch (err) {
      if (attempt >= 6) throw err;
      await sleep(25 + Math.random() * 100 * attempt);
    }
  }
}

/** Outage reports are said at most this often: pg-boss reports every failed poll of every worker. */
const OUTAGE_LOG_EVERY_MS = 30_000;

/**
 * pg-boss keeps polling through a database outage (its workers, maintenance and cron loops catch and
 * report), and its pool reconnects: the queue pauses and resumes by itself. An outage is a warning, said
 * once in a while; anything else stays an error.
 */
function queueErrorLogger(logger: Logger): (err: Error) => void {
  let lastOutageLog = 0;
  return (err) => {
    if (!isDatabaseUnavailable(err)) {
      logger.error({ err: err.message }, 'job queue error');
      return;
    }
    if (Date.now() - lastOutageLog < OUTAGE_LOG_EVERY_MS) return;
    lastOutageLog = Date.now();
    logger.warn({ err: err.message }, 'job queue paused: the database does not answer; it resumes by itself');
  };
}

/** connectTimeoutMs bounds pg-boss's wait for a connection too; its statements get no timeout (maintenance). */
export async function startBoss(
  connectionString: string,
  logger: Logger,
  opts: { connectTimeoutMs?: number } = {},
): Promise<Boss> {
  const boss = new PgBoss({
    connectionString,
    schema: 'pgboss',
    application_name: 'recorder-jobs',
    max: 4,
    ...(opts.connectTimeoutMs ? { connectionTimeoutMillis: opts.connectTimeoutMs } : {}),
  });
  boss.on('error', queueErrorLogger(logger));
  await boss.start();
  for (const q of Object.values(QUEUE_OPTIONS)) await ensureQueue(boss, q);
  return {
    boss,
    async send(name, data, opts) {
      await boss.send(name, data, {
        ...(opts?.singletonKey ? { singletonKey: opts.singletonKey } : {}),
        ...(opts?.expireInSeconds ? { expireInSeconds: opts.expireInSeconds } : {}),
      });
    },
    async stop() {
      await boss.stop({ graceful: true, timeout: 15_000, wait: true });
    },
  };
}
