import type pg from 'pg';
import { MigrationError } from './errors.js';

/** Advisory lock key: two int4s so it cannot collide with single-bigint keys of other tools. */
const KEY = [0x7265636f, 0x6d696772] as const; // "reco" "migr"

/**
 * Takes the session-level runner lock, polling with pg_try_advisory_lock rather than blocking in
 * pg_advisory_lock: a blocked waiter holds a snapshot, and CREATE INDEX CONCURRENTLY in the lock
 * holder would then wait for the waiter forever.
 */
export async function acquireRunnerLock(client: pg.Client, mode: 'wait' | 'fail', waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [...KEY]);
    if (rows[0]?.ok) return;
    if (mode === 'fail' || Date.now() >= deadline) {
      const holder = await client.query<{ pid: number; application_name: string; backend_start: Date }>(
        `SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted`,
        [...KEY],
      );
      const h = holder.rows[0];
      const who = h
        ? ` (backend pid ${h.pid}, ${h.application_name || 'unnamed'}, connected ${h.backend_start.toISOString()})`
        : '';
      throw new MigrationError(
        'MIGRATION_LOCKED',
        mode === 'fail'
          ? `Another migration runner holds the lock${who}; nothing was run.`
          : `Another migration runner still holds the lock after ${Math.round(waitMs / 1000)} s${who}; ` +
              'nothing was run.',
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function releaseRunnerLock(client: pg.Client): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', [...KEY]);
}
