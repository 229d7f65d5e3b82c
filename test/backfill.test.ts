/**
 * The storage-columns backfill (migration 0021's declaration) and the batched runner that runs it:
 * rows from before Phase 2 (only storage_url) get storage_provider/key/bucket/region, unreadable URLs are
 * refused and reported, `migrate up` returns with the backfill pending, a kill or a failed batch resumes
 * where it stopped with the result of an uninterrupted run, and writers to `recordings` never wait long.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillRunner } from '../src/server/db/backfill/runner.js';
import { loadMigrations } from '../src/server/db/migrator/files.js';
import { startBackfills } from '../src/server/jobs/backfill.js';
import { createLogger } from '../src/server/logger.js';
import type { BackfillDeclaration } from '../src/server/db/backfill/declaration.js';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

const BIN = path.resolve(import.meta.dirname, '../bin/recorder.js');
const ROWS = 3000;
const NAME = '0021_phase2_backfill_storage_columns';

type Expected = { provider: string; key: string | null; bucket: string | null; region: string | null };

/** The storage_url of old row i (1-based), and what the backfill must make of it (null: refused). */
function oldRow(i: number): { url: string | null; expect: Expected | null } {
  const local = (key: string) => ({ provider: 'local', key, bucket: null, region: null });
  const s3 = (bucket: string, key: string, region: string | null = null) => ({ provider: 's3', key, bucket, region });
  switch (i % 10) {
    case 0:
      return {
        url: `file:///var/lib/recorder/media/users/u1/recordings/${i}/original.webm`,
        expect: local(`users/u1/recordings/${i}/original.webm`),
      };
    case 1:
      return { url: `/srv/media/data/media/recordings/u1/${i}.mp4`, expect: local(`recordings/u1/${i}.mp4`) };
    case 2:
      return {
        url: `s3://recorder-media/users/u1/recordings/${i}/original.webm`,
        expect: s3('recorder-media', `users/u1/recordings/${i}/original.webm`),
      };
    case 3:
      return {
        url: `https://rec.media.s3.eu-west-1.amazonaws.com/r/${i}.webm`,
        expect: s3('rec.media', `r/${i}.webm`, 'eu-west-1'),
      };
    case 4:
      return {
        url: `https://s3-us-gov-west-1.amazonaws.com/old-bucket/k/${i}.ogg`,
        expect: s3('old-bucket', `k/${i}.ogg`, 'us-gov-west-1'),
      };
    case 5:
      return { url: `https://legacy.s3.amazonaws.com/a/${i}.webm`, expect: s3('legacy', `a/${i}.webm`) };
    case 6:
      return { url: null, expect: { provider: 'local', key: null, bucket: null, region: null } };
    case 7: {
      // Never guessed: another host, a climbing path, an encoded key, a signed URL, a website endpoint.
      const bad = [
        `https://cdn.example.com/${i}.webm`,
        `file:///var/media/../etc/${i}`,
        `s3://bucket/has%20space/${i}.webm`,
        `https://bkt.s3.eu-west-1.amazonaws.com/${i}.webm?X-Amz-Signature=abc`,
        `https://bkt.s3-website-us-east-1.amazonaws.com/${i}.webm`,
      ];
      return { url: bad[Math.floor(i / 10) % bad.length]!, expect: null };
    }
    case 8:
      // The same URL on two rows (i and i + 10): the lower id keeps it, whatever the batches.
      return i % 20 === 8
        ? { url: `s3://dup/${i}.webm`, expect: s3('dup', `${i}.webm`) }
        : { url: `s3://dup/${i - 10}.webm`, expect: null };
    default:
      return {
        url: `https://s3.ap-southeast-2.amazonaws.com/syd/${i}/original.webm`,
        expect: s3('syd', `${i}/original.webm`, 'ap-southeast-2'),
      };
  }
}

/** Rows 1..count as a Phase 1 server left them: only storage_url (storage_provider reads its default). */
async function seedOldRows(c: pg.Client, count = ROWS): Promise<void> {
  await c.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'u1@example.com', 'U')`);
  const urls = Array.from({ length: count }, (_, n) => oldRow(n + 1).url);
  await c.query(
    `INSERT INTO recordings (id, user_id, title, recording_type, duration, storage_url)
     SELECT n, 'u1', 'old ' || n, 'camera', 3, u FROM unnest($1::text[]) WITH ORDINALITY AS x(u, n)`,
    [urls],
  );
  await c.query(`SELECT setval(pg_get_serial_sequence('recordings', 'id'), $1)`, [count]);
}

async function storageColumns(c: pg.Client) {
  const { rows } = await c.query<Expected & { id: string }>(
    `SELECT id::text, storage_provider AS provider, storage_key AS key, storage_bucket AS bucket,
            storage_region AS region FROM recordings ORDER BY id`,
  );
  return rows;
}

const declaration = async (): Promise<BackfillDeclaration> =>
  (await migrator('postgres://unused').migrations()).find((f) => f.backfill?.name === NAME)!.backfill!;

async function resetBackfill(c: pg.Client): Promise<void> {
  await c.query(
    `UPDATE recordings SET storage_provider = 'local', storage_key = NULL, storage_bucket = NULL,
    storage_region = NULL WHERE id <= $1`,
    [ROWS],
  );
  await c.query(`DELETE FROM schema_backfills`);
}

/** Polls the database until check() holds (an event we wait on; no fixed sleeps). */
async function until<T>(check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cliEnv(url: string): NodeJS.ProcessEnv {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backfill-'));
  return { ...process.env, DATABASE_URL: url, DATA_DIR: dataDir, LOG_LEVEL: '' };
}

const backfillRow = async (c: pg.Client) =>
  (
    await c.query(
      `SELECT cursor::int, batches::int, rows_filled::int AS filled, rows_rejected::int AS rejected,
              rows_total::int AS total, deferred_keys::int[] AS deferred, state FROM schema_backfills`,
    )
  ).rows[0] as
    | {
        cursor: number;
        batches: number;
        filled: number;
        rejected: number;
        total: number;
        deferred: number[];
        state: string;
      }
    | undefined;

describe('backfill declarations', () => {
  const dirWith = (backfill: string, version = '0021') => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backfill-files-'));
    for (const kind of ['up', 'down']) fs.writeFileSync(path.join(dir, `${version}_phase2_a.${kind}.sql`), 'SELECT 1;');
    fs.writeFileSync(path.join(dir, `${version}_phase2_a.backfill.sql`), backfill);
    return dir;
  };
  const batch = 'SELECT $1::bigint AS last_key, $2::int AS filled';

  it('reads ours: directives, the count and the batch', async () => {
    const ours = await declaration();
    expect(ours).toMatchObject({ batchSize: 1000, pauseMs: 100, lockTimeout: '1s', version: 21 });
    expect(ours.countSql).toContain('SELECT count(*) AS total, max(id) AS end_key');
  });

  it.each([
    ['one statement', batch, /exactly two statements/],
    ['a count with parameters', `SELECT $1; ${batch}`, /takes no parameters/],
    ['a batch without its parameters', 'SELECT 1; SELECT 2', /exactly \$1 \(the cursor\) and \$2/],
    ['an unknown directive', `-- backfill:speed fast\nSELECT 1; ${batch}`, /unknown directive backfill:speed/],
    ['a bad batch size', `-- backfill:batch-size 0\nSELECT 1; ${batch}`, /batch-size must be a whole number/],
  ])('refuses %s, naming the file', async (_label, sql, message) => {
    await expect(loadMigrations(dirWith(sql))).rejects.toThrow(message);
    await expect(loadMigrations(dirWith(sql))).rejects.toThrow('0021_phase2_a.backfill.sql');
  });

  it('refuses a backfill on a migration before 0021 (nowhere to keep its place)', async () => {
    await expect(loadMigrations(dirWith(`SELECT 1; ${batch}`, '0007'))).rejects.toThrow(/need migration 21/);
  });
});

describe.each(pgTargets())('backfill of the storage columns on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let runner: BackfillRunner;
  let decl: BackfillDeclaration;
  beforeAll(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    await migrator(db.url).up({ to: 20 });
    await seedOldRows(c);
    runner = new BackfillRunner(db.url);
    decl = await declaration();
  });
  afterAll(async () => {
    await runner?.close();
    await c?.end();
    await db?.drop();
  });

  it('`migrate up` returns with the backfill pending, and the rows untouched', async () => {
    const result = await migrator(db.url).up();
    // Later migrations may declare backfills of their own (0033): this one is among the pending.
    expect(result.backfills).toContain(NAME);
    const [p] = await runner.list(await migrator(db.url).migrations());
    expect(p).toMatchObject({ name: NAME, state: 'pending', done: 0 });
    expect((await c.query(`SELECT count(*)::int AS n FROM recordings WHERE storage_key IS NOT NULL`)).rows[0].n).toBe(
      0,
    );
  });

  it('fills local and s3 shapes, refuses and reports what it cannot read, and a rerun changes nothing', async () => {
    // 250 keys a batch: the duplicate pair 248/258 straddles two batches, 228/238 shares one.
    const last = await runner.run(decl, { pauseMs: 0, batchSize: 250 });

    const rows = await storageColumns(c);
    const wrong = rows.filter((r) => {
      const want = oldRow(Number(r.id)).expect ?? { provider: 'local', key: null, bucket: null, region: null };
      return JSON.stringify({ ...r, id: undefined }) !== JSON.stringify({ ...want, id: undefined });
    });
    expect(wrong.slice(0, 3)).toEqual([]);
    const refused = Array.from({ length: ROWS }, (_, n) => n + 1).filter((i) => oldRow(i).url && !oldRow(i).expect);
    expect(last).toMatchObject({ state: 'finished', rejected: refused.length, total: ROWS - ROWS / 10, etaSeconds: 0 });
    expect(last.filled + last.rejected).toBe(last.total);
    expect(last.rejectedSample[0]).toEqual({
      key: '7',
      reason: expect.stringContaining('not a local path or an s3 URL'),
    });
    expect(last.rejectedSample.find((r) => r.key === '18')?.reason).toBe('its key is held by recording 8');
    const straddling = await c.query(`SELECT storage_key FROM recordings WHERE id IN (248, 258) ORDER BY id`);
    expect(straddling.rows.map((r) => r.storage_key)).toEqual(['248.webm', null]);

    // Idempotent: the batch over every key again changes nothing.
    const again = await c.query(decl.batchSql, ['0', ROWS]);
    expect(Number(again.rows[0].filled)).toBe(0);
    expect(await storageColumns(c)).toEqual(rows);

    // The file is frozen once its backfill started, like a migration.
    const changed = { ...decl, checksum: '0'.repeat(64) };
    await expect(runner.step(changed)).rejects.toMatchObject({ code: 'BACKFILL_DRIFT' });
  });

  it('a batch that fails is rolled back and retried; the result equals an uninterrupted run', async () => {
    const uninterrupted = await storageColumns(c);
    await resetBackfill(c);
    // A real failure inside PostgreSQL, once, in the middle of the scan.
    // A sequence, because nextval survives the rollback the exception causes.
    await c.query(`CREATE SEQUENCE fail_once`);
    await c.query(`CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = 1500 AND nextval('fail_once') = 1 THEN
          RAISE EXCEPTION 'injected failure at row 1500';
        END IF;
        RETURN NEW;
      END $$`);
    await c.query(`CREATE TRIGGER fail_once BEFORE UPDATE ON recordings FOR EACH ROW EXECUTE FUNCTION fail_once()`);
    const errors: string[] = [];
    try {
      const last = await runner.run(decl, { pauseMs: 0, batchSize: 400, onError: (e) => errors.push(e.message) });
      expect(last.state).toBe('finished');
    } finally {
      await c.query(`DROP TRIGGER fail_once ON recordings; DROP FUNCTION fail_once(); DROP SEQUENCE fail_once`);
    }
    expect(errors).toEqual([expect.stringContaining('injected failure at row 1500')]);
    const row = (
      await c.query(`SELECT failures, rows_filled + rows_rejected AS done, rows_total FROM schema_backfills`)
    ).rows[0];
    expect(row).toMatchObject({ failures: '1', done: row.rows_total });
    expect(await storageColumns(c)).toEqual(uninterrupted);
  });

  it('SIGKILL of `recorder migrate backfills --run` mid-run: a rerun resumes at the cursor, same result', async () => {
    const uninterrupted = await storageColumns(c);
    await resetBackfill(c);
    const args = [BIN, 'migrate', 'backfills', '--run', 'backfill_storage_columns', '--batch-size', '100'];
    const child = spawn(process.execPath, [...args, '--pause-ms', '100'], { env: cliEnv(db.url), stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await until(async () => {
        if (child.exitCode !== null) throw new Error(`the CLI exited early (${child.exitCode}): ${stderr}`);
        return ((await backfillRow(c))?.batches ?? 0) >= 3;
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const killed = (await backfillRow(c))!;
    expect(killed.state).toBe('running');
    expect(killed.cursor).toBeGreaterThanOrEqual(300);
    expect(killed.cursor).toBeLessThan(ROWS);
    // What the counters say is exactly what the rows hold: each batch committed with its cursor.
    const filled = await c.query(`SELECT count(*)::int AS n FROM recordings WHERE storage_key IS NOT NULL`);
    expect(filled.rows[0].n).toBe(killed.filled);
    expect(
      (
        await c.query(`SELECT count(*)::int AS n FROM recordings WHERE storage_key IS NOT NULL AND id > $1`, [
          killed.cursor,
        ])
      ).rows[0].n,
    ).toBe(0);

    const last = await runner.run(decl, { pauseMs: 0, batchSize: 100 });
    const resumed = (await backfillRow(c))!;
    expect(resumed.batches - killed.batches).toBe(Math.ceil((ROWS - killed.cursor) / 100));
    expect(last).toMatchObject({ state: 'finished', done: last.total });
    expect(await storageColumns(c)).toEqual(uninterrupted);

    if (target !== pgTargets()[0]) return; // what the CLI prints does not depend on the server's version
    const listed = spawnSync(process.execPath, [BIN, 'migrate', 'backfills'], {
      env: cliEnv(db.url),
      encoding: 'utf8',
    });
    expect(listed.stdout).toMatch(/finished\s+2700\/2700 \(100\.0%\)/);
    expect(listed.stdout).toContain('row(s) could not be filled and were left as they are');
  });
});

describe.each(pgTargets().slice(0, 1))('backfill beside writers on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase(target);
    c = await connect(db.url);
    await migrator(db.url).up({ to: 20 });
    await seedOldRows(c);
    await migrator(db.url).up();
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('writers keep flowing: a held row is skipped and retried, no write waits long', async () => {
    const writer = await connect(db.url);
    const holder = await connect(db.url);
    // A writer's transaction holds an old row for as long as the scan needs to pass it.
    await holder.query('BEGIN');
    await holder.query(`SELECT id FROM recordings WHERE id = 1234 FOR UPDATE`);
    let writing = true;
    let writes = 0;
    let longestMs = 0;
    const writes$ = (async () => {
      for (let n = 0; writing; n++) {
        const started = performance.now();
        if (n % 2)
          // Old rows the backfill is working through (not the held one: that wait would be the holder's).
          await writer.query(`UPDATE recordings SET title = title || '.' WHERE id = $1 AND id <> 1234`, [
            1 + ((n * 7919) % ROWS),
          ]);
        else
          await writer.query(
            `INSERT INTO recordings (user_id, title, recording_type, duration, storage_key)
             VALUES ('u1', 'new', 'camera', 3, 'new/' || gen_random_uuid())`,
          );
        longestMs = Math.max(longestMs, performance.now() - started);
        writes++;
      }
    })();
    const background = startBackfills({
      url: db.url,
      logger: createLogger('silent'),
      migrations: () => migrator(db.url).migrations(),
    });
    try {
      const passed = await until(async () => {
        const row = await backfillRow(c);
        return row && row.cursor >= ROWS && row.deferred.includes(1234) && row;
      });
      expect(passed.state).toBe('running');
      await holder.query('COMMIT');
      await background.idle();
    } finally {
      writing = false;
      await writes$;
      await background.stop();
      await writer.end();
      await holder.end();
    }
    const done = (await backfillRow(c))!;
    expect(done).toMatchObject({ state: 'finished', deferred: [] });
    expect(done.filled + done.rejected).toBe(done.total);
    const held = await c.query(`SELECT storage_key FROM recordings WHERE id = 1234`);
    expect(held.rows[0].storage_key).toBe(oldRow(1234).expect!.key);
    console.log(`backfill beside a writer: ${writes} writes, longest write ${longestMs.toFixed(1)} ms`);
    expect(writes).toBeGreaterThan(10);
    // Generous: on 2 shared cores a busy machine stalls a process for seconds now and then (2.4 s seen at a
    // load average of 7). "No long lock" is proven above: the scan went past a held row without waiting for
    // it; a backfill that waited would never get there. bench:backfill measures the stalls properly.
    expect(longestMs).toBeLessThan(10_000);
  });
});
