/**
 * npm run bench:backfill — the storage-columns backfill (migration 0021) on 1,000,000 rows from before
 * Phase 2 (only storage_url), beside a writer that keeps inserting and updating recordings:
 *  - the writer alone first (baseline), then the same writer while the backfill runs;
 *  - the backfill runs in `recorder migrate backfills --run` (a child process), is killed with SIGKILL
 *    part-way, and a second run resumes at its cursor and finishes;
 *  - rows/s, total time, the writer's longest and p99 stall with and without the backfill, and a check
 *    that every row holds what its URL says.
 *
 * Env: BENCH_DATABASE_URL (default: a throwaway embedded PostgreSQL), BENCH_ROWS (1000000), BENCH_USERS
 * (10000), BENCH_BASELINE_MS (15000), BENCH_KILL_AT (0.4: the share of the scan after which the first run
 * is killed). Results: stdout and bench/results/backfill.json.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { BackfillRunner } from '../src/server/db/backfill/runner.js';
import { loadMigrations } from '../src/server/db/migrator/files.js';
import { copyRows, recordingColumns, recordingRows, seedUsersAndProjects, type Dataset } from './lib/data.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { connect, MIGRATIONS_DIR, openTarget } from './lib/server.js';
import { envInt, fmtInt, fmtMs, formatTable, msSince, note, now, summarize, type Summary } from './lib/stats.js';

const ROWS = envInt('BENCH_ROWS', 1_000_000);
const USERS = envInt('BENCH_USERS', 10_000);
const BASELINE_MS = envInt('BENCH_BASELINE_MS', 15_000);
const KILL_AT = Number(process.env.BENCH_KILL_AT ?? 0.4);
const SEED = 20240601;
const NAME = '0021_phase2_backfill_storage_columns';
const BIN = path.resolve(import.meta.dirname, '../bin/recorder.js');
const RESULTS = path.resolve(import.meta.dirname, 'results/backfill.json');
/** The Phase 2 columns an old row lacks (storage_provider reads its default, 'local'). */
const PHASE2 = new Set(['storage_provider', 'storage_key', 'storage_region', 'storage_bucket', 'cdn_url']);

/** A writer like the app's: alternately inserts a new (complete) recording and renames an old one. */
function startWriter(url: string, oldRows: number) {
  const latencies: number[] = [];
  let running = true;
  const done = (async () => {
    const c = await connect(url);
    try {
      for (let n = 0; running; n++) {
        const t0 = now();
        if (n % 2)
          await c.query(`UPDATE recordings SET title = title || '.' WHERE id = $1`, [1 + ((n * 7919) % oldRows)]);
        else
          await c.query(
            `INSERT INTO recordings (user_id, title, recording_type, duration, storage_key)
             VALUES ('u000001', 'new', 'camera', 3, 'new/' || gen_random_uuid())`,
          );
        latencies.push(msSince(t0));
      }
    } finally {
      await c.end();
    }
  })();
  return {
    async stop(): Promise<Summary> {
      running = false;
      await done;
      return summarize(latencies);
    },
  };
}

async function backfillRow(c: pg.Client) {
  const { rows } = await c.query<{ cursor: string | null; end_key: string | null; batches: string; state: string }>(
    `SELECT cursor::text, end_key::text, batches::text, state FROM schema_backfills WHERE name = $1`,
    [NAME],
  );
  return rows[0];
}

/** The first run: the CLI in a child process, SIGKILLed once the scan is KILL_AT of the way. */
async function runAndKill(url: string, c: pg.Client): Promise<{ ms: number; cursor: string; batches: number }> {
  const env = { ...process.env, DATABASE_URL: url, DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'bf-')) };
  const t0 = now();
  const child = spawn(process.execPath, [BIN, 'migrate', 'backfills', '--run', NAME], { env, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (;;) {
      const row = await backfillRow(c);
      if (row?.end_key && row.cursor && Number(row.cursor) >= KILL_AT * Number(row.end_key)) break;
      if (child.exitCode !== null) throw new Error(`the backfill CLI exited early (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const ms = msSince(t0);
  const row = (await backfillRow(c))!;
  note(`killed the backfill (SIGKILL) at key ${row.cursor} of ${row.end_key}, after ${row.batches} batches`);
  return { ms, cursor: row.cursor!, batches: Number(row.batches) };
}

async function main(): Promise<void> {
  const target = await openTarget();
  const client = await connect(target.url);
  try {
    const columns = (await recordingColumns(client)).filter((col) => !PHASE2.has(col));
    const ds: Dataset = {
      seed: SEED,
      users: USERS,
      rows: ROWS,
      start: Date.now() - 730 * 86_400_000,
      spanMs: 730 * 86_400_000,
      projectOf: [],
      columns,
    };
    await seedUsersAndProjects(client, ds);
    const load = await copyRows(client, 'recordings', columns, recordingRows(ds, ROWS), ROWS, 'recordings (old shape)');
    await client.query('ANALYZE recordings');
    const { rows: todo } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM recordings WHERE storage_key IS NULL AND storage_url IS NOT NULL`,
    );
    note(`${fmtInt(Number(todo[0]!.n))} of ${fmtInt(ROWS)} rows need the backfill`);

    note(`baseline: the writer alone for ${BASELINE_MS / 1000} s`);
    const alone = startWriter(target.url, ROWS);
    await new Promise((r) => setTimeout(r, BASELINE_MS));
    const baseline = await alone.stop();

    note('the backfill beside the same writer: first run (killed part-way), then the resumed run');
    const writer = startWriter(target.url, ROWS);
    const first = await runAndKill(target.url, client);
    const decl = (await loadMigrations(MIGRATIONS_DIR)).find((f) => f.backfill?.name === NAME)!.backfill!;
    const runner = new BackfillRunner(target.url);
    const t1 = now();
    const last = await runner.run(decl);
    const resumedMs = msSince(t1);
    await runner.close();
    const during = await writer.stop();
    const row = (await backfillRow(client))!;

    const check = await client.query<{ wrong: string; missing: string }>(
      `SELECT count(*) FILTER (WHERE right(storage_url, length(storage_key)) <> storage_key
                 OR (storage_url LIKE 's3://%') <> (storage_provider = 's3' AND storage_bucket = 'recorder-media'))
                AS wrong,
              count(*) FILTER (WHERE storage_key IS NULL AND storage_url IS NOT NULL) AS missing
         FROM recordings WHERE title <> 'new'`,
    );
    const activeMs = first.ms + resumedMs;
    const report = {
      ...machine(),
      server: target.server,
      rows: ROWS,
      rowsNeedingBackfill: last.total,
      load: { rowsPerSec: Math.round(load.rowsPerSec), ms: Math.round(load.ms) },
      declaration: { batchSize: decl.batchSize, pauseMs: decl.pauseMs, lockTimeout: decl.lockTimeout },
      backfill: {
        filled: last.filled,
        rejected: last.rejected,
        batches: Number(row.batches),
        totalMs: Math.round(activeMs),
        rowsPerSec: Math.round(last.done / (activeMs / 1000)),
        firstRun: { ms: Math.round(first.ms), killedAtKey: first.cursor, batches: first.batches },
        resumedRun: { ms: Math.round(resumedMs), batches: Number(row.batches) - first.batches },
      },
      writerStallMs: { baseline, duringBackfill: during },
      check: { wrongKeys: Number(check.rows[0]!.wrong), unfilled: Number(check.rows[0]!.missing) },
    };
    writeResults(RESULTS, report);
    console.log(
      formatTable(
        ['', 'writes', 'p50', 'p99', 'longest'],
        [
          ['writer alone', fmtInt(baseline.n), fmtMs(baseline.p50), fmtMs(baseline.p99), fmtMs(baseline.max)],
          ['beside backfill', fmtInt(during.n), fmtMs(during.p50), fmtMs(during.p99), fmtMs(during.max)],
        ],
      ),
    );
    console.log(
      `backfill: ${fmtInt(last.filled)} filled, ${fmtInt(last.rejected)} rejected, ${row.batches} batches, ` +
        `${fmtMs(activeMs)} in all (${fmtInt(report.backfill.rowsPerSec)} rows/s), killed once at key ` +
        `${first.cursor} and resumed; rows checked: ${report.check.wrongKeys} wrong, ${report.check.unfilled} unfilled`,
    );
    console.log(`results: ${RESULTS}`);
  } finally {
    await client.end();
    await target.cleanup();
  }
}

runBench(main);
