/**
 * pg-boss on our own database: jobs survive restarts and share PostgreSQL's durability. pg-boss keeps
 * its tables in its own schema (`pgboss`), which it creates and migrates itself.
 */
import PgBoss from 'pg-boss';
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

export async function startBoss(connectionString: string, logger: Logger): Promise<Boss> {
  const boss = new PgBoss({ connectionString, schema: 'pgboss', application_name: 'recorder-jobs', max: 4 });
  boss.on('error', (err) => logger.error({ err: err.message }, 'job queue error'));
  await boss.start();
  for (const q of Object.values(QUEUE_OPTIONS)) {
    if (!(await boss.getQueue(q.name))) await boss.createQueue(q.name, q);
  }
  return {
    boss,
    async send(name, data, opts) {
      await boss.send(name, data, { ...(opts?.singletonKey ? { singletonKey: opts.singletonKey } : {}) });
    },
    async stop() {
      await boss.stop({ graceful: true, timeout: 15_000, wait: true });
    },
  };
}
