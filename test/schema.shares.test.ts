/**
 * Migration 0030 (share links, issue 13) on a database that holds users and recordings:
 *  - up: three new tables and the tombstone trigger in one transaction; the checks hold what the shares code
 *    relies on (one row per token hash, hashes are sha256 hex, labels 1..200, argon2id passwords, failure
 *    keys name a link or a hashed address);
 *  - every way a link row goes leaves its hash as a tombstone: revoked rows deleted by hand, a deleted
 *    recording's cascade, a deleted account's (its recordings cascade); a deleted account that only made a
 *    link on someone else's recording leaves the link, without its maker;
 *  - down gives back the schema of 29 exactly (function and trigger gone too), refuses while links are
 *    recorded unless forced.
 * Migrated to explicit versions: later migrations would make 'up' mean more.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogSnapshot } from './support/catalog.js';
import {
  ALL_VERSIONS,
  appliedVersions,
  connect,
  freshDatabase,
  migrator,
  pgTargets,
  violationOf,
} from './support/db.js';

const hash = (char: string) => char.repeat(64);

async function seed(c: pg.Client): Promise<{ ada: string; bob: string }> {
  await c.query(
    `INSERT INTO users (id, email, display_name)
     VALUES ('u1', 'a@example.test', 'Ada'), ('u2', 'b@example.test', 'Bob')`,
  );
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration)
     VALUES ('u1', 'Ada take', 'camera', 3), ('u2', 'Bob take', 'camera', 3) RETURNING id::text`,
  );
  return { ada: rows[0]!.id, bob: rows[1]!.id };
}

/** A link row; returns its id, or PostgreSQL's error code and constraint. */
async function share(
  c: pg.Client,
  v: { recordingId: string; hash: string; by?: string; label?: string; password?: string },
): Promise<string> {
  try {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO recording_shares (recording_id, created_by, token_hash, label, password_hash)
       VALUES ($1, $2, $3, $4, $5) RETURNING id::text`,
      [v.recordingId, v.by ?? 'u1', v.hash, v.label ?? null, v.password ?? null],
    );
    return rows[0]!.id;
  } catch (err) {
    return violationOf(err);
  }
}

const tombstones = async (c: pg.Client) =>
  (await c.query('SELECT token_hash, recording_id::text FROM share_tombstones ORDER BY 1')).rows;

describe.each(pgTargets())('0030 share links, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let ids: { ada: string; bob: string };
  let backupDir: string;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 29 });
    c = await connect(db.url);
    ids = await seed(c);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backups-'));
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
    if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('down gives back the schema of 29 exactly while no link exists; up again the same catalog', async () => {
    const at29 = await catalogSnapshot(c);
    const m = migrator(db.url, { backupDir });
    expect((await m.plan('up', { to: 30 })).map((s) => [s.version, s.transactional])).toEqual([[30, true]]);
    await m.up({ to: 30 });
    const at30 = await catalogSnapshot(c);
    expect(at30).not.toEqual(at29);
    expect((await m.down({ to: 29 })).map((s) => s.version)).toEqual([30]);
    expect(await catalogSnapshot(c)).toEqual(at29);
    const { rows } = await c.query(
      `SELECT to_regprocedure('tombstone_recording_share()') AS fn, to_regclass('share_tombstones') AS t`,
    );
    expect(rows).toEqual([{ fn: null, t: null }]);
    await m.up({ to: 30 });
    expect(await catalogSnapshot(c)).toEqual(at30);
  });

  it('checks token hashes, labels, passwords and failure keys', async () => {
    expect(await share(c, { recordingId: ids.ada, hash: hash('a') })).toMatch(/^\d+$/);
    expect(await share(c, { recordingId: ids.ada, hash: hash('a') })).toBe('23505 uq_recording_shares_token_hash');
    expect(await share(c, { recordingId: ids.ada, hash: 'sh_plain_token' })).toBe('23514 chk_share_token_hash');
    expect(await share(c, { recordingId: ids.ada, hash: hash('b'), label: '' })).toBe('23514 chk_share_label');
    expect(await share(c, { recordingId: ids.ada, hash: hash('b'), label: 'x'.repeat(201) })).toBe(
      '23514 chk_share_label',
    );
    expect(await share(c, { recordingId: ids.ada, hash: hash('b'), password: 'plain' })).toBe(
      '23514 chk_share_password_hash',
    );
    expect(await share(c, { recordingId: '999999', hash: hash('b') })).toBe('23503 fk_shares_recording');
    expect(await share(c, { recordingId: ids.ada, hash: hash('b'), by: 'nobody' })).toBe('23503 fk_shares_created_by');
    const failure = (key: string) =>
      c
        .query(`INSERT INTO share_password_failures (key, failures, window_started_at) VALUES ($1, 1, now())`, [key])
        .then(() => 'ok', violationOf);
    expect(await failure('share:12')).toBe('ok');
    expect(await failure(`address:${hash('c')}`)).toBe('ok');
    expect(await failure('address:127.0.0.1')).toBe('23514 chk_share_failure_key');
    expect(await failure('share:0')).toBe('23514 chk_share_failure_key');
    await c.query('DELETE FROM share_password_failures');
  });

  it('leaves a tombstone for every link that goes: by hand, with its recording, with its owner’s account', async () => {
    await c.query('DELETE FROM recording_shares');
    await c.query('DELETE FROM share_tombstones');
    const byHand = await share(c, { recordingId: ids.ada, hash: hash('1') });
    await share(c, { recordingId: ids.ada, hash: hash('2') });
    await share(c, { recordingId: ids.bob, hash: hash('3'), by: 'u2' });
    // Bob shared Ada's recording (as an editor of her project would): his account going leaves the link
    const bobsLinkOnAda = await share(c, { recordingId: ids.ada, hash: hash('4'), by: 'u2' });
    await c.query('DELETE FROM recording_shares WHERE id = $1', [byHand]);
    expect(await tombstones(c)).toEqual([{ token_hash: hash('1'), recording_id: ids.ada }]);

    await c.query(`DELETE FROM users WHERE id = 'u2'`); // his recording cascades, and its link
    expect(await tombstones(c)).toEqual([
      { token_hash: hash('1'), recording_id: ids.ada },
      { token_hash: hash('3'), recording_id: ids.bob },
    ]);
    const { rows } = await c.query('SELECT created_by FROM recording_shares WHERE id = $1', [bobsLinkOnAda]);
    expect(rows).toEqual([{ created_by: null }]);

    await c.query('DELETE FROM recordings WHERE id = $1', [ids.ada]);
    expect((await tombstones(c)).map((r) => r.token_hash)).toEqual([hash('1'), hash('2'), hash('3'), hash('4')]);
    expect((await c.query('SELECT count(*)::int AS n FROM recording_shares')).rows[0].n).toBe(0);
  });

  it('refuses to roll back while links are recorded, unless forced (with a backup)', async () => {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO recordings (user_id, title, recording_type, duration) VALUES ('u1', 'New', 'camera', 3)
       RETURNING id::text`,
    );
    await share(c, { recordingId: rows[0]!.id, hash: hash('9') });
    const err = await migrator(db.url, { backupDir })
      .down({ to: 29 })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'MIGRATION_DATA_LOSS' });
    const forced = await migrator(db.url, { backupDir }).down({ to: 29 }, true);
    expect(forced.map((s) => s.version)).toEqual([30]);
    expect(forced.backupPath).toBeTruthy();
    expect(await appliedVersions(c)).toEqual(ALL_VERSIONS.filter((v) => v <= 29));
  });
});
