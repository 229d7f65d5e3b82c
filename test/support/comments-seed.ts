/**
 * Many comments on one recording, fast: one INSERT … SELECT generate_series (10,000 rows in well under a
 * second), for the schema test's plans and the share bench (bench/share.bench.ts: listing 10,000 comments
 * through the API). Rows are as the API writes them: member comments by userId, spread over the recording
 * (at_ms), every tenth on the whole recording; with `replies`, that many more rows answering the first
 * threads (a second INSERT).
 */
import type pg from 'pg';

export interface SeedComments {
  /** The author (a users.id); also the owner of the recording made when recordingId is not given. */
  userId: string;
  /** Default: a new 60 s recording of userId. */
  recordingId?: string;
  /** Top-level comments; default 10,000. */
  count?: number;
  /** Replies to the first threads, one each; default none. */
  replies?: number;
}

/** Anything that runs a query: a pg.Client or a pg.Pool. */
type Queryable = Pick<pg.Client, 'query'>;

/** Inserts the comments; returns the recording's id. */
export async function seedComments(db: Queryable, opts: SeedComments): Promise<string> {
  const recordingId = opts.recordingId ?? (await newRecording(db, opts.userId));
  await db.query(
    `INSERT INTO recording_comments (recording_id, author_id, at_ms, body)
     SELECT r.id, $2, CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 997) % (r.duration * 1000) END,
            'Seeded comment ' || g
       FROM recordings r, generate_series(1, $3::int) AS g
      WHERE r.id = $1`,
    [recordingId, opts.userId, opts.count ?? 10_000],
  );
  if (opts.replies) {
    await db.query(
      `INSERT INTO recording_comments (recording_id, parent_id, author_id, body)
       SELECT recording_id, id, author_id, 'Seeded reply to ' || id
         FROM recording_comments WHERE recording_id = $1 AND parent_id IS NULL ORDER BY id LIMIT $2`,
      [recordingId, opts.replies],
    );
  }
  return recordingId;
}

async function newRecording(db: Queryable, userId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration, storage_key)
     VALUES ($1, 'Seeded for comments', 'camera', 60, 'seed/' || gen_random_uuid()) RETURNING id::text`,
    [userId],
  );
  return rows[0]!.id;
}
