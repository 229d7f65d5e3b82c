/**
 * Migration 0031 (timestamped comments, issue 13) on a database that holds users, a recording and a share:
 *  - up: the constraints hold what the comments code relies on (a member or a guest, never both; text
 *    1..5000 while it stands and emptied when deleted; a reply of the same recording only; only threads
 *    resolve); every change can take a fresh revision from the sequence; comments go with their recording,
 *    replies with their thread; a deleted account or link leaves the comment;
 *  - listing a page of 100 of 10,000 comments and the changes since a revision are index scans;
 *  - down gives back the schema of 30 exactly, refuses while comments exist unless forced.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogSnapshot } from './support/catalog.js';
import { seedComments } from './support/comments-seed.js';
import { connect, freshDatabase, migrator, pgTargets, violationOf } from './support/db.js';

const KEY = 'b'.repeat(64);

async function seed(c: pg.Client): Promise<{ recordingId: string; otherId: string; shareId: string }> {
  await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'a@example.test', 'Ada'),
    ('u2', 'b@example.test', 'Bea')`);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration, storage_key)
     VALUES ('u1', 'Take', 'camera', 30, 'k1'), ('u1', 'Other', 'camera', 30, 'k2') RETURNING id::text`,
  );
  const share = await c.query<{ id: string }>(
    `INSERT INTO recording_shares (recording_id, token_hash) VALUES ($1, $2) RETURNING id::text`,
    [rows[0]!.id, 'c'.repeat(64)],
  );
  return { recordingId: rows[0]!.id, otherId: rows[1]!.id, shareId: share.rows[0]!.id };
}

type Fields = Record<string, string | number | null>;

/** A comment row; its id, or PostgreSQL's error code and constraint. */
async function comment(c: pg.Client, fields: Fields): Promise<string> {
  const names = Object.keys(fields);
  try {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO recording_comments (${names.join(', ')})
       VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id::text`,
      Object.values(fields),
    );
    return rows[0]!.id;
  } catch (err) {
    return violationOf(err);
  }
}

const count = async (c: pg.Client, where = 'true') =>
  (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM recording_comments WHERE ${where}`)).rows[0]!.n;

describe.each(pgTargets())('0031 recording comments, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let at30: Record<string, string[]>;
  let ids: Awaited<ReturnType<typeof seed>>;
  const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 30 });
    c = await connect(db.url);
    at30 = await catalogSnapshot(c);
    ids = await seed(c);
    const steps = await migrator(db.url).up({ to: 31 });
    expect(steps.map((s) => [s.version, s.transactional])).toEqual([[31, true]]);
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('a comment is by a member or a guest (named, keyed), never both; text and times are checked', async () => {
    const rec = ids.recordingId;
    const member = { recording_id: rec, author_id: 'u1', body: 'Nice cut', at_ms: 1500 };
    const guest = { recording_id: rec, share_id: ids.shareId, guest_name: 'Zoe', guest_key_hash: KEY, body: 'Hi' };
    expect(await comment(c, member)).toMatch(/^\d+$/);
    expect(await comment(c, guest)).toMatch(/^\d+$/);
    expect(await comment(c, { ...guest, author_id: 'u1' })).toBe('23514 chk_comment_author');
    expect(await comment(c, { ...guest, guest_key_hash: null })).toBe('23514 chk_comment_guest');
    expect(await comment(c, { ...guest, guest_name: '' })).toBe('23514 chk_comment_guest_name');
    expect(await comment(c, { ...guest, guest_name: 'x'.repeat(81) })).toBe('23514 chk_comment_guest_name');
    expect(await comment(c, { ...guest, guest_key_hash: 'nope' })).toBe('23514 chk_comment_guest_key');
    expect(await comment(c, { ...member, body: '' })).toBe('23514 chk_comment_body');
    expect(await comment(c, { ...member, body: '€'.repeat(5000) })).toMatch(/^\d+$/);
    expect(await comment(c, { ...member, body: '€'.repeat(5001) })).toBe('23514 chk_comment_body');
    expect(await comment(c, { ...member, at_ms: -1 })).toBe('23514 chk_comment_at');
    expect(await comment(c, { ...member, author_id: 'nobody' })).toBe('23503 fk_comments_author');
    expect(await comment(c, { ...member, body: 'x', deleted_at: '2026-01-01' })).toBe('23514 chk_comment_body');
    expect(await comment(c, { ...member, body: '', deleted_at: '2026-01-01' })).toMatch(/^\d+$/);
  });

  it('a reply is of the same recording; only a thread is resolved, by someone', async () => {
    const thread = await comment(c, { recording_id: ids.recordingId, author_id: 'u1', body: 'Thread' });
    const reply = { recording_id: ids.recordingId, author_id: 'u2', body: 'Reply', parent_id: thread };
    expect(await comment(c, reply)).toMatch(/^\d+$/);
    expect(await comment(c, { ...reply, recording_id: ids.otherId })).toBe('23503 fk_comments_parent');
    const resolved = { resolved_at: '2026-01-01', resolved_by: 'u1' };
    expect(await comment(c, { ...reply, ...resolved })).toBe('23514 chk_comment_resolved');
    expect(await comment(c, { ...reply, parent_id: null, resolved_by: 'u1' })).toBe('23514 chk_comment_resolved_by');
    expect(await comment(c, { ...reply, parent_id: null, ...resolved })).toMatch(/^\d+$/);
  });

  it('every insert and change takes a larger revision from the sequence', async () => {
    const id = await comment(c, { recording_id: ids.recordingId, author_id: 'u1', body: 'Rev' });
    const rev = async () =>
      BigInt((await c.query('SELECT revision FROM recording_comments WHERE id = $1', [id])).rows[0].revision);
    const first = await rev();
    await c.query(
      `UPDATE recording_comments SET body = 'Rev 2', revision = nextval('recording_comment_revisions') WHERE id = $1`,
      [id],
    );
    expect(await rev()).toBeGreaterThan(first);
  });

  it('a deleted account or link leaves comments; replies go with their thread, all with their recording', async () => {
    const thread = await comment(c, { recording_id: ids.recordingId, author_id: 'u2', body: 'By Bea' });
    await comment(c, { recording_id: ids.recordingId, author_id: 'u1', body: 'Re', parent_id: thread });
    await c.query(`DELETE FROM users WHERE id = 'u2'`);
    expect(await count(c, `id = ${thread} AND author_id IS NULL`)).toBe(1);
    await c.query('DELETE FROM recording_shares');
    expect(await count(c, 'share_id IS NOT NULL')).toBe(0);
    expect(await count(c, 'guest_name IS NOT NULL')).toBeGreaterThan(0);
    await c.query('DELETE FROM recording_comments WHERE id = $1', [thread]);
    expect(await count(c, `parent_id = ${thread}`)).toBe(0);
    await c.query('DELETE FROM recordings WHERE id = $1', [ids.recordingId]);
    expect(await count(c)).toBe(0);
  });

  it('a page of 100 of 10,000 comments, and the changes since a revision, are read by index scans', async () => {
    const recordingId = await seedComments(c, { userId: 'u1', count: 10_000, replies: 100 });
    // Among the comments of other recordings, written at the same time, as in a real database (ids interleave).
    await c.query(
      `INSERT INTO recordings (user_id, title, recording_type, duration, storage_key)
       SELECT 'u1', 'Busy', 'camera', 30, 'busy/' || g FROM generate_series(1, 4) AS g`,
    );
    await c.query(
      `INSERT INTO recording_comments (recording_id, author_id, body)
       SELECT r.id, 'u1', 'elsewhere' FROM generate_series(1, 5000) AS g,
         LATERAL (SELECT id FROM recordings WHERE id <> $1 ORDER BY id LIMIT 4) AS r ORDER BY g`,
      [recordingId],
    );
    await c.query(`UPDATE recording_comments SET body = body || '.' WHERE recording_id = $1 AND id % 2 = 0`, [
      recordingId,
    ]);
    expect(await count(c, `recording_id = ${recordingId}`)).toBe(10_100);
    await c.query('VACUUM ANALYZE recording_comments');
    const plan = async (query: string) =>
      (await c.query(`EXPLAIN ${query}`, [recordingId])).rows.map((r) => r['QUERY PLAN']).join('\n');
    const page = await plan(
      'SELECT * FROM recording_comments WHERE recording_id = $1 AND id > 5000 ORDER BY id LIMIT 101',
    );
    expect(page).toMatch(/Index Scan using uq_recording_comments_recording_id/);
    expect(page).not.toMatch(/Seq Scan|Sort/);
    const changes = await plan(
      'SELECT * FROM recording_comments WHERE recording_id = $1 AND revision > 9990 ORDER BY revision LIMIT 500',
    );
    expect(changes).toMatch(/Index Scan using idx_recording_comments_revision/);
    const live = await plan('SELECT count(*) FROM recording_comments WHERE recording_id = $1 AND deleted_at IS NULL');
    expect(live).toMatch(/Index Only Scan using idx_recording_comments_live/);
  });

  it('down gives back the schema of 30, refusing while comments exist unless forced (and backed up)', async () => {
    const err = await migrator(db.url, { backupDir })
      .down({ to: 30 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    const result = await migrator(db.url, { backupDir }).down({ to: 30 }, true);
    expect(result.map((s) => s.version)).toEqual([31]);
    expect(result.backupPath).toBeTruthy();
    expect(await catalogSnapshot(c)).toEqual(at30);
    await migrator(db.url).up({ to: 31 });
    expect(await count(c)).toBe(0);
  });
});
