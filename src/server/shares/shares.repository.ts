/**
 * All SQL of share links (issue 13, migration 0030): recording_shares, share_tombstones (filled by the
 * table's AFTER DELETE trigger, never written here) and share_password_failures.
 */
import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { DB, RecordingSharesTable } from '../db/schema.js';
import { isBigintId } from '../ids.js';

export type ShareRow = Selectable<RecordingSharesTable>;
export type ShareChanges = Pick<
  Updateable<RecordingSharesTable>,
  'label' | 'password_hash' | 'allow_comment' | 'allow_download' | 'expires_at'
>;

export interface NewShare {
  recordingId: string;
  createdBy: string;
  tokenHash: string;
  label: string | null;
  passwordHash: string | null;
  allowComment: boolean;
  allowDownload: boolean;
  expiresAt: Date | null;
}

export class SharesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Who made the recording and userId's role in its project (undefined: no such recording). */
  standing(recordingId: string, userId: string) {
    return this.db
      .selectFrom('recordings as r')
      .leftJoin('project_members as m', (j) =>
        j.onRef('m.project_id', '=', 'r.project_id').on('m.user_id', '=', userId),
      )
      .select(['r.user_id', 'm.role'])
      .where('r.id', '=', recordingId)
      .executeTakeFirst();
  }

  byTokenHash(tokenHash: string): Promise<ShareRow | undefined> {
    return this.db.selectFrom('recording_shares').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  /** Whether a link with this hash existed and went with its recording (or its creator's account). */
  async tombstoned(tokenHash: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('share_tombstones')
      .select('token_hash')
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row !== undefined;
  }

  create(share: NewShare): Promise<ShareRow> {
    return this.db
      .insertInto('recording_shares')
      .values({
        recording_id: share.recordingId,
        created_by: share.createdBy,
        token_hash: share.tokenHash,
        label: share.label,
        password_hash: share.passwordHash,
        allow_comment: share.allowComment,
        allow_download: share.allowDownload,
        expires_at: share.expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Every link of the recording, newest first (revoked and expired ones too). */
  listFor(recordingId: string): Promise<ShareRow[]> {
    return this.db
      .selectFrom('recording_shares')
      .selectAll()
      .where('recording_id', '=', recordingId)
      .orderBy('id', 'desc')
      .execute();
  }

  get(recordingId: string, shareId: string): Promise<ShareRow | undefined> {
    if (!isBigintId(shareId)) return Promise.resolve(undefined);
    return this.db
      .selectFrom('recording_shares')
      .selectAll()
      .where('id', '=', shareId)
      .where('recording_id', '=', recordingId)
      .executeTakeFirst();
  }

  update(recordingId: string, shareId: string, changes: ShareChanges): Promise<ShareRow | undefined> {
    return this.db
      .updateTable('recording_shares')
      .set(changes)
      .where('id', '=', shareId)
      .where('recording_id', '=', recordingId)
      .returningAll()
      .executeTakeFirst();
  }

  /** Revoking twice keeps the first time. */
  revoke(recordingId: string, shareId: string, now: Date): Promise<ShareRow | undefined> {
    return this.db
      .updateTable('recording_shares')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', sql<Date>`${now}::timestamptz`) }))
      .where('id', '=', shareId)
      .where('recording_id', '=', recordingId)
      .returningAll()
      .executeTakeFirst();
  }

  async countView(shareId: string, now: Date): Promise<void> {
    await this.db
      .updateTable('recording_shares')
      .set({ view_count: sql`view_count + 1`, last_viewed_at: now })
      .where('id', '=', shareId)
      .execute();
  }

  /** The start of the oldest window of these keys that has reached `max` failures since `since`. */
  async lockedSince(keys: string[], since: Date, max: number): Promise<Date | undefined> {
    const row = await this.db
      .selectFrom('share_password_failures')
      .select((eb) => eb.fn.max('window_started_at').as('started'))
      .where('key', 'in', keys)
      .where('window_started_at', '>', since)
      .where('failures', '>=', max)
      .executeTakeFirst();
    return row?.started ?? undefined;
  }

  /**
   * One more wrong password on the key, in one statement (concurrent servers queue on the row): the count
   * restarts when its window began at or before `since`.
   */
  async recordFailure(key: string, now: Date, since: Date): Promise<void> {
    await sql`
      INSERT INTO share_password_failures AS f (key, failures, window_started_at, updated_at)
      VALUES (${key}, 1, ${now}, ${now})
      ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN f.window_started_at > ${since} THEN f.failures + 1 ELSE 1 END,
        window_started_at = CASE WHEN f.window_started_at > ${since} THEN f.window_started_at ELSE ${now} END,
        updated_at = ${now}`.execute(this.db);
  }

  /** Housekeeping: counters nobody has failed on since `before`. */
  async deleteOldFailures(before: Date): Promise<number> {
    const result = await this.db
      .deleteFrom('share_password_failures')
      .where('updated_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
