/**
 * The SQL of comments (issue 13): recording_comments rows with their authors' display names, the recording
 * facts a comment is checked against, and the guests' rate-limit counters. Every change runs in
 * `inTransaction`, which first locks the recording's row: the changes of one recording take their
 * revisions one at a time, so revisions commit in order per recording and a poller asking for
 * "revision > n" never skips a change that commits later with a smaller number.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB, MemberRole } from '../db/schema.js';
import type { RecordingMetadata } from '../recordings/metadata.js';

/** What a comment is checked against: who may see the recording, and how long it plays. */
export interface CommentRecording {
  id: string;
  user_id: string;
  duration: number;
  metadata: RecordingMetadata | null;
  /** The current version's exact length (issue 12), when one plays. */
  current_duration_ms: number | null;
  role: MemberRole | null;
}

export interface CommentRow {
  id: string;
  recording_id: string;
  parent_id: string | null;
  author_id: string | null;
  author_name: string | null;
  guest_name: string | null;
  guest_key_hash: string | null;
  at_ms: number | null;
  body: string;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
  resolved_at: Date | null;
  resolved_by_name: string | null;
  revision: string;
}

export interface NewComment {
  recordingId: string;
  parentId: string | null;
  authorId: string | null;
  shareId: string | null;
  guestName: string | null;
  guestKeyHash: string | null;
  atMs: number | null;
  body: string;
}

/** A change of one comment: its text, a soft delete, resolve or reopen. */
export type CommentChange =
  | { kind: 'edit'; body: string }
  | { kind: 'delete' }
  | { kind: 'resolve'; by: string }
  | { kind: 'reopen' };

/** Changes answered per poll; a client further behind gets the rest on its next poll. */
export const CHANGES_LIMIT = 500;

export class CommentsRepository {
  constructor(private readonly db: Kysely<DB> | Transaction<DB>) {}

  /** The recording with userId's role in its project (null: none); undefined when there is no such recording. */
  recording(recordingId: string, userId: string | null, lock = false): Promise<CommentRecording | undefined> {
    const query = this.db
      .selectFrom('recordings as r')
      .leftJoin('project_members as m', (j) =>
        j.onRef('m.project_id', '=', 'r.project_id').on('m.user_id', '=', userId ?? ''),
      )
      .leftJoin('recording_versions as cv', 'cv.id', 'r.current_version_id')
      .select(['r.id', 'r.user_id', 'r.duration', 'r.metadata', 'cv.duration_ms as current_duration_ms', 'm.role'])
      .where('r.id', '=', recordingId);
    return (lock ? query.forNoKeyUpdate('r') : query).executeTakeFirst();
  }

  /**
   * Runs fn in one transaction holding the recording row's lock (FOR NO KEY UPDATE: it queues behind other
   * comment writers, edits and deletes of the recording, not behind readers or comment inserts' key checks).
   */
  inTransaction<T>(
    recordingId: string,
    userId: string | null,
    fn: (repo: CommentsRepository, recording: CommentRecording | undefined) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      const repo = new CommentsRepository(tx);
      return fn(repo, await repo.recording(recordingId, userId, true));
    });
  }

  private comments() {
    return this.db
      .selectFrom('recording_comments as c')
      .leftJoin('users as a', 'a.id', 'c.author_id')
      .leftJoin('users as rb', 'rb.id', 'c.resolved_by')
      .select([
        'c.id',
        'c.recording_id',
        'c.parent_id',
        'c.author_id',
        'a.display_name as author_name',
        'c.guest_name',
        'c.guest_key_hash',
        'c.at_ms',
        'c.body',
        'c.created_at',
        'c.edited_at',
        'c.deleted_at',
        'c.resolved_at',
        'rb.display_name as resolved_by_name',
        'c.revision',
      ]);
  }

  /** A page of the recording's comments in id order (uq_recording_comments_recording_id). */
  page(recordingId: string, after: string | undefined, limit: number): Promise<CommentRow[]> {
    let query = this.comments().where('c.recording_id', '=', recordingId);
    if (after) query = query.where('c.id', '>', after);
    return query.orderBy('c.id').limit(limit).execute();
  }

  /** The comments changed after revision `since` up to `upTo`, in revision order (idx_recording_comments_revision). */
  changes(recordingId: string, since: string, upTo: string): Promise<CommentRow[]> {
    return this.comments()
      .where('c.recording_id', '=', recordingId)
      .where('c.revision', '>', since)
      .where('c.revision', '<=', upTo)
      .orderBy('c.revision')
      .limit(CHANGES_LIMIT)
      .execute();
  }

  /** The recording's latest revision ('0' before its first comment). */
  async latestRevision(recordingId: string): Promise<string> {
    const row = await this.db
      .selectFrom('recording_comments')
      .select('revision')
      .where('recording_id', '=', recordingId)
      .orderBy('revision', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.revision ?? '0';
  }

  /** One comment of this recording, as the API shows it. */
  comment(recordingId: string, commentId: string): Promise<CommentRow | undefined> {
    return this.comments().where('c.recording_id', '=', recordingId).where('c.id', '=', commentId).executeTakeFirst();
  }

  async insert(comment: NewComment): Promise<string> {
    const row = await this.db
      .insertInto('recording_comments')
      .values({
        recording_id: comment.recordingId,
        parent_id: comment.parentId,
        author_id: comment.authorId,
        share_id: comment.shareId,
        guest_name: comment.guestName,
        guest_key_hash: comment.guestKeyHash,
        at_ms: comment.atMs,
        body: comment.body,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Applies the change and takes a new revision for the comment. */
  async change(commentId: string, change: CommentChange): Promise<void> {
    const revision = sql<string>`nextval('recording_comment_revisions')`;
    const now = sql<Date>`now()`;
    const set =
      change.kind === 'edit'
        ? { body: change.body, edited_at: now }
        : change.kind === 'delete'
          ? { body: '', deleted_at: now, resolved_at: null, resolved_by: null }
          : change.kind === 'resolve'
            ? { resolved_at: now, resolved_by: change.by }
            : { resolved_at: null, resolved_by: null };
    await this.db
      .updateTable('recording_comments')
      .set({ ...set, revision })
      .where('id', '=', commentId)
      .execute();
  }

  /**
   * One more guest comment for this key (sha256 of link and address) in the current minute: the count
   * within the minute and when that minute began. Also forgets keys quiet for a day.
   */
  async countGuestComment(key: string): Promise<{ comments: number; windowStartedAt: Date }> {
    await this.db
      .deleteFrom('guest_comment_limits')
      .where('window_started_at', '<', sql<Date>`now() - interval '1 day'`)
      .execute();
    const expired = sql<boolean>`guest_comment_limits.window_started_at <= now() - interval '1 minute'`;
    const row = await this.db
      .insertInto('guest_comment_limits')
      .values({ key, window_started_at: sql`now()`, comments: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          comments: sql`CASE WHEN ${expired} THEN 1 ELSE guest_comment_limits.comments + 1 END`,
          window_started_at: sql`CASE WHEN ${expired} THEN now() ELSE guest_comment_limits.window_started_at END`,
        }),
      )
      .returning(['comments', 'window_started_at'])
      .executeTakeFirstOrThrow();
    return { comments: row.comments, windowStartedAt: row.window_started_at };
  }
}
