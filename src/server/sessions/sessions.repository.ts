/**
 * recording_sessions in SQL. Every read and write names the user: another user's session is simply not
 * found. State changes are single conditional UPDATEs (… WHERE status/recording/discard allow it
 * RETURNING *), so two requests racing on one take (a heartbeat and a discard, an interrupt and the
 * upload's finish) serialise on the row lock and the loser changes nothing.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB, RecordingType, SessionStatus, UploadStatus } from '../db/schema.js';
import { AccessRepository } from '../access/access.repository.js';
import type { ParsedDevice } from './device.js';
import { SessionEventsRepository } from './session-events.repository.js';

export type SessionRow = Awaited<ReturnType<SessionsRepository['get']>> & {};

/** The integer columns' maximum: a duration is clamped to it rather than failing its row's update. */
const MAX_SECONDS = 2 ** 31 - 1;
/**
 * Whole seconds between the session's start and `end` (a SQL expression), never negative and never more
 * than an integer holds: a row started in 1900 (stored before startedAt was bounded) must not make the
 * sweep's UPDATE fail with "integer out of range" for every session.
 */
const secondsSinceStart = (end: RawBuilder<unknown>) =>
  sql<number>`least(${sql.lit(MAX_SECONDS)}, greatest(0, round(extract(epoch from (${end} - started_at)))))::int`;
/** A session's last sign of life: its last heartbeat, or its start when it never beat. */
const LAST_SEEN = sql`coalesce(last_heartbeat_at, started_at)`;
/** An end time that satisfies chk_session_ended_after_started even when the client's start was ahead of our clock. */
const endAt = (t: RawBuilder<unknown>) => sql<Date>`greatest(started_at, ${t})`;

export interface NewSession {
  userId: string;
  recordingType: RecordingType;
  projectId: string | null;
  deviceInfo: unknown;
  settings: unknown;
  startedAt: Date | undefined;
  /** Parsed from deviceInfo's user agent (device.ts); absent: unknown. */
  device?: ParsedDevice;
}

export class SessionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The take's timeline (analytics drill-down), in the same connection or transaction. */
  get events(): SessionEventsRepository {
    return new SessionEventsRepository(this.db);
  }

  create(s: NewSession) {
    const started = s.startedAt ?? new Date();
    return this.db
      .insertInto('recording_sessions')
      .values({
        user_id: s.userId,
        recording_type: s.recordingType,
        project_id: s.projectId,
        device_info: s.deviceInfo === undefined ? undefined : JSON.stringify(s.deviceInfo),
        settings: s.settings === undefined ? undefined : JSON.stringify(s.settings),
        started_at: started,
        status: 'active',
        last_heartbeat_at: new Date(),
        browser: s.device?.browser ?? null,
        os: s.device?.os ?? null,
        device_kind: s.device?.deviceKind ?? null,
        quality: s.device?.quality ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  get(id: string, userId: string) {
    return this.db
      .selectFrom('recording_sessions')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /**
   * The user's sessions, newest first (idx_sessions_user_started). `unfinished`: takes the app should
   * offer to recover — interrupted, or active but silent for `quietSeconds` — that became no recording
   * and were not discarded.
   */
  list(userId: string, state: SessionStatus | 'unfinished' | undefined, limit: number, quietSeconds: number) {
    let q = this.db.selectFrom('recording_sessions').selectAll().where('user_id', '=', userId);
    if (state === 'unfinished') {
      q = q
        .where('recording_id', 'is', null)
        .where('discarded_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb('status', '=', 'interrupted'),
            eb.and([
              eb('status', '=', 'active'),
              eb(
                sql`coalesce(last_heartbeat_at, started_at)`,
                '<',
                sql<Date>`now() - make_interval(secs => ${quietSeconds})`,
              ),
            ]),
          ]),
        );
    } else if (state) {
      q = q.where('status', '=', state);
    }
    return q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** An UPDATE of the user's take while it is still open: neither kept as a recording nor discarded. */
  private updateOpen(id: string, userId: string) {
    return this.db
      .updateTable('recording_sessions')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('recording_id', 'is', null)
      .where('discarded_at', 'is', null);
  }

  /**
   * A sign of life. An active session notes it; an interrupted one (the sweep gave up on it, or the tab
   * said it was closing, and then the tab came back) is active again. Kept, discarded: nothing changes.
   */
  heartbeat(id: string, userId: string, durationSeconds: number | undefined) {
    return this.updateOpen(id, userId)
      .set({
        status: 'active',
        last_heartbeat_at: sql<Date>`now()`,
        ended_at: null,
        error_message: null,
        ...(durationSeconds !== undefined ? { duration: durationSeconds } : {}),
      })
      .where('status', 'in', ['active', 'interrupted'])
      .returningAll()
      .executeTakeFirst();
  }

  /** The tab says the take stopped (closing, a device failed, permission denied). Again: the reason is updated. */
  interrupt(id: string, userId: string, reason: string) {
    return this.updateOpen(id, userId)
      .set({
        status: 'interrupted',
        error_message: reason,
        ended_at: sql<Date>`coalesce(ended_at, ${endAt(sql`now()`)})`,
        duration: sql<number>`coalesce(duration, ${secondsSinceStart(sql`now()`)})`,
      })
      .where('status', 'in', ['active', 'interrupted'])
      .returningAll()
      .executeTakeFirst();
  }

  /** The details the user gave when keeping the take; merged over earlier ones. */
  setTake(id: string, userId: string, take: Record<string, unknown>, projectId: string | null | undefined) {
    return this.updateOpen(id, userId)
      .set({
        take: sql`coalesce(take, '{}'::jsonb) || ${JSON.stringify(take)}::jsonb`,
        ...(projectId !== undefined ? { project_id: projectId } : {}),
      })
      .returningAll()
      .executeTakeFirst();
  }

  /** Thrown away: completed without a recording, never offered for recovery. Its uploads go too. */
  discard(id: string, userId: string) {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .updateTable('recording_sessions')
        .set({
          status: 'completed',
          discarded_at: sql<Date>`coalesce(discarded_at, now())`,
          ended_at: sql<Date>`coalesce(ended_at, ${endAt(sql`now()`)})`,
          duration: sql<number>`coalesce(duration, ${secondsSinceStart(sql`now()`)})`,
        })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('recording_id', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      const uploads = await tx
        .updateTable('uploads')
        .set({ status: 'terminated' })
        .where('session_id', '=', id)
        .where('status', '=', 'uploading')
        .returning('id')
        .execute();
      return { row, terminated: uploads.map((u) => u.id) };
    });
  }

  /** The latest upload of each session, in one query (idx_uploads_session_id). */
  async latestUploads(sessionIds: string[]) {
    if (sessionIds.length === 0) return new Map<string, UploadRow>();
    const rows = await this.db
      .selectFrom('uploads')
      .distinctOn('session_id')
      .select(['id', 'session_id', 'upload_offset', 'upload_length', 'status'])
      .where('session_id', 'in', sessionIds)
      .orderBy('session_id')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return new Map(rows.map((r) => [r.session_id!, r]));
  }

  /**
   * Active sessions silent for `staleSeconds` become interrupted, ended at their last sign of life. One
   * idempotent UPDATE (idx_sessions_active_heartbeat): several server processes may run it side by side,
   * and a session a heartbeat revived in between is no longer matched.
   */
  interruptSilent(staleSeconds: number, message: string): Promise<{ id: string; user_id: string }[]> {
    return this.updateSilent(staleSeconds, message).returning(['id', 'user_id']).execute();
  }

  /** The same for one session: the sweep's way round a row whose update fails (jobs/session-sweep.ts). */
  interruptSilentOne(id: string, staleSeconds: number, message: string) {
    return this.updateSilent(staleSeconds, message)
      .where('id', '=', id)
      .returning(['id', 'user_id'])
      .executeTakeFirst();
  }

  /** Ids of active sessions silent for `staleSeconds`, oldest sign of life first, at most `limit`. */
  async silentIds(staleSeconds: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('recording_sessions')
      .select('id')
      .where('status', '=', 'active')
      .where(LAST_SEEN, '<', sql<Date>`now() - make_interval(secs => ${staleSeconds})`)
      .orderBy(LAST_SEEN)
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  private updateSilent(staleSeconds: number, message: string) {
    return this.db
      .updateTable('recording_sessions')
      .set({
        status: 'interrupted',
        ended_at: endAt(LAST_SEEN),
        duration: sql<number>`coalesce(duration, ${secondsSinceStart(LAST_SEEN)})`,
        error_message: message,
      })
      .where('status', '=', 'active')
      .where(LAST_SEEN, '<', sql<Date>`now() - make_interval(secs => ${staleSeconds})`);
  }

  roleIn(projectId: string, userId: string) {
    return new AccessRepository(this.db).projectRole(projectId, userId);
  }

  // ---- what an upload's finish asks of its take (uploads.service.ts) ----

  /** The take's link and discard, its row locked until the finishing transaction ends. */
  lockForFinish(id: string) {
    return this.db
      .selectFrom('recording_sessions')
      .select(['recording_id', 'discarded_at'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  }

  /** The take became this recording; an unknown length leaves what the heartbeats said. */
  async markKept(id: string, recordingId: string, durationSeconds: number | undefined): Promise<void> {
    await this.db
      .updateTable('recording_sessions')
      .set({
        status: 'completed',
        recording_id: recordingId,
        ended_at: sql<Date>`coalesce(ended_at, greatest(started_at, now()))`,
        ...(durationSeconds === undefined ? {} : { duration: durationSeconds }),
      })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Bytes arriving for a take's upload are a sign of life, like a heartbeat. Written at most every 5 s
   * per session (the WHERE skips it otherwise); only an active take is touched.
   */
  async noteUploadActivity(uploadId: string): Promise<void> {
    await this.db
      .updateTable('recording_sessions')
      .set({ last_heartbeat_at: sql<Date>`now()` })
      .where('id', '=', (eb) => eb.selectFrom('uploads').select('session_id').where('id', '=', uploadId))
      .where('status', '=', 'active')
      .where((eb) =>
        eb.or([
          eb('last_heartbeat_at', 'is', null),
          eb('last_heartbeat_at', '<', sql<Date>`now() - interval '5 seconds'`),
        ]),
      )
      .execute();
  }
}

export type UploadRow = {
  id: string;
  session_id: string | null;
  upload_offset: string;
  upload_length: string | null;
  status: UploadStatus;
};
