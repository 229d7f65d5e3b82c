/**
 * recording_session_events in SQL (migration 0032): a take's timeline, written where the session changes
 * (sessions.service.ts, jobs/session-sweep.ts, the upload's finish) and read by the analytics drill-down.
 * An event is written after its change committed, on its own: a lost event (the process died in between)
 * leaves a gap in a timeline, never a wrong session.
 */
import { sql, type Kysely } from 'kysely';
import type { DB, SessionEventDetail, SessionEventKind } from '../db/schema.js';

export class SessionEventsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async record(sessionId: string, kind: SessionEventKind, detail?: SessionEventDetail): Promise<void> {
    await this.recordMany([sessionId], kind, detail);
  }

  /** One event of the same kind for each session (the sweep interrupts many at once): one INSERT. */
  async recordMany(sessionIds: readonly string[], kind: SessionEventKind, detail?: SessionEventDetail): Promise<void> {
    if (sessionIds.length === 0) return;
    const json = detail ? JSON.stringify(detail) : null;
    await sql`
      INSERT INTO recording_session_events (session_id, kind, detail)
      SELECT unnest(${sessionIds}::bigint[]), ${kind}, ${json}::jsonb`.execute(this.db);
  }
}
