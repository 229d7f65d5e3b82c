/**
 * The stale-session sweep: a take whose tab died without a word (crash, killed browser, lost network)
 * stops beating; after SESSION_STALE_SECONDS its session becomes `interrupted`, ended at its last sign
 * of life, so the app offers it for recovery. A timer, not a pg-boss job: the work is one idempotent
 * UPDATE every few seconds, which any number of server processes may run side by side, and a missed
 * run is made up by the next. A crash mid-run changes nothing (the UPDATE commits or not).
 *
 * One bad row must not stop the sweep for everyone: when the one UPDATE fails, the silent sessions are
 * interrupted one by one, and a row that still fails is logged and skipped (the next pass tries again).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { SessionMetrics } from '../metrics/metrics.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { interruptStaleSessions, staleMessage } from '../sessions/sessions.service.js';

export interface SessionSweep {
  /** One pass now; resolves to the sessions it interrupted. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Most sessions one row-by-row pass takes on (the next pass takes the rest). */
const ROW_BY_ROW_LIMIT = 1000;

/** Every 15 s, or a third of the threshold when that is shorter (at least 1 s). */
export function sweepIntervalMs(staleSeconds: number): number {
  return Math.max(1000, Math.min(15_000, Math.round((staleSeconds * 1000) / 3)));
}

export function startSessionSweep(o: {
  db: Kysely<DB>;
  logger: Logger;
  staleSeconds: number;
  intervalMs?: number;
  metrics?: SessionMetrics;
}): SessionSweep {
  const sessions = new SessionsRepository(o.db);
  let running: Promise<number> | undefined;
  const runOnce = () =>
    (running ??= (async () => {
      try {
        const rows = await interruptStaleSessions(sessions, o.staleSeconds).catch((err: Error) => {
          o.logger.warn({ err: err.message }, 'stale-session sweep failed as a whole; sweeping row by row');
          return sweepRowByRow(sessions, o.staleSeconds, o.logger);
        });
        if (rows.length) o.metrics?.interrupted('stale', rows.length);
        await sessions.events
          .recordMany(
            rows.map((r) => r.id),
            'interrupted',
            { reason: staleMessage(o.staleSeconds), by: 'sweep' },
          )
          .catch((err: Error) => o.logger.warn({ err: err.message }, 'session events of the sweep not written'));
        // one line per take, with its sessionId: one grep follows a take (docs/monitoring.md)
        for (const r of rows)
          o.logger.info(
            { sessionId: r.id, userId: r.user_id, staleSeconds: o.staleSeconds },
            'recording session interrupted: silent',
          );
        return rows.length;
      } finally {
        running = undefined;
      }
    })());
  const timer = setInterval(() => {
    runOnce().catch((err: Error) =>
      o.logger.warn({ err: err.message }, 'stale-session sweep failed; retrying at the next tick'),
    );
  }, o.intervalMs ?? sweepIntervalMs(o.staleSeconds));
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** Each silent session in its own UPDATE: a row that fails is logged and skipped, the others are swept. */
async function sweepRowByRow(sessions: SessionsRepository, staleSeconds: number, logger: Logger) {
  const swept: { id: string; user_id: string }[] = [];
  for (const id of await sessions.silentIds(staleSeconds, ROW_BY_ROW_LIMIT)) {
    try {
      const row = await sessions.interruptSilentOne(id, staleSeconds, staleMessage(staleSeconds));
      if (row) swept.push(row);
    } catch (err) {
      logger.error(
        { sessionId: id, err: (err as Error).message },
        'a silent session could not be interrupted; skipped',
      );
    }
  }
  return swept;
}
