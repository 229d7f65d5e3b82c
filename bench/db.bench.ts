/**
 * npm run bench:db — loads a realistic recordings table and measures the schema's choices:
 * COPY vs multi-row INSERT, the library page with and without the recordings indexes, the
 * idx_recordings_user_id the schema leaves out, and writer stalls during CREATE INDEX [CONCURRENTLY].
 *
 * Env: BENCH_DATABASE_URL (server to create the bench database on; default: a throwaway embedded
 * PostgreSQL), BENCH_ROWS (1000000), BENCH_USERS (10000), BENCH_INSERT_ROWS (min(200000, rows)),
 * BENCH_QUERIES (500), BENCH_BASELINE_BUDGET_MS (60000). Results: stdout and bench/results/db.json.
 */
import path from 'node:path';
import {
  copyRows,
  insertRows,
  recordingColumns,
  recordingRows,
  seedUsersAndProjects,
  type Dataset,
} from './lib/data.js';
import { runIndexBuild, type BuildResult } from './lib/index-build.js';
import {
  LIBRARY_FIRST,
  LIBRARY_NEXT,
  rawTimestamps,
  recordingIndexes,
  runLibrary,
  type LibraryResult,
} from './lib/library.js';
import { connect, openTarget } from './lib/server.js';
import { envInt, fmtInt, fmtMb, fmtMs, formatTable, msSince, note, now } from './lib/stats.js';
import { ROUNDS, runUserIndex } from './lib/user-index.js';
import { runBench, writeResults } from './lib/report.js';

const ROWS = envInt('BENCH_ROWS', 1_000_000);
const USERS = envInt('BENCH_USERS', 10_000);
const INSERT_ROWS = Math.min(envInt('BENCH_INSERT_ROWS', 200_000), ROWS);
const QUERIES = envInt('BENCH_QUERIES', 500);
const BASELINE_BUDGET_MS = envInt('BENCH_BASELINE_BUDGET_MS', 60_000);
const INSERT_BATCH = 1000;
const SEED = 20240601;
const RESULTS = path.resolve(import.meta.dirname, 'results/db.json');

async function main(): Promise<void> {
  const started = now();
  const target = await openTarget();
  // A Ctrl-C must not leave a postmaster or a bench database behind.
  let exiting = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    note(`\n${sig}: cleaning up`);
    void target.cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const client = await connect(target.url, { types: rawTimestamps });
  try {
    const version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    const settings = Object.fromEntries(
      (
        await client.query<{ name: string; setting: string; unit: string | null }>(
          `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem',
             'maintenance_work_mem', 'max_parallel_workers_per_gather', 'fsync', 'synchronous_commit', 'max_wal_size')`,
        )
      ).rows.map((s) => [s.name, s.unit ? `${s.setting} (${s.unit})` : s.setting]),
    );
    // Best effort (needs superuser or pg_checkpoint): each timed load starts without a pending checkpoint.
    const checkpoint = () => client.query('CHECKPOINT').catch(() => undefined);
    // CASCADE: every table referencing recordings (edits, uploads, ...) is empty here anyway.
    const truncate = () => client.query('TRUNCATE recordings RESTART IDENTITY CASCADE');

    const columns = await recordingColumns(client);
    const ds: Dataset = {
      seed: SEED,
      users: USERS,
      rows: ROWS,
      start: Date.now() - 730 * 86_400_000,
      spanMs: 730 * 86_400_000,
      projectOf: [],
      columns,
    };
    const shape = (
      await client.query<{ idx: number; fks: number }>(
        `SELECT (SELECT count(*)::int FROM pg_index WHERE indrelid = 'recordings'::regclass) AS idx,
                (SELECT count(*)::int FROM pg_constraint
                  WHERE conrelid = 'recordings'::regclass AND contype = 'f') AS fks`,
      )
    ).rows[0]!;
    const seeded = await seedUsersAndProjects(client, ds);

    // Both loaders on the same slice into the same empty, fully indexed table with its foreign keys.
    await checkpoint();
    const insertLoad = await insertRows(
      client,
      'recordings',
      columns,
      recordingRows(ds, INSERT_ROWS),
      INSERT_ROWS,
      INSERT_BATCH,
      `multi-row INSERT (${INSERT_BATCH}/stmt)`,
    );
    await truncate();
    await checkpoint();
    const copySlice = await copyRows(
      client,
      'recordings',
      columns,
      recordingRows(ds, INSERT_ROWS),
      INSERT_ROWS,
      'COPY (slice)',
    );
    await truncate();
    await checkpoint();
    const copyFull = await copyRows(client, 'recordings', columns, recordingRows(ds, ROWS), ROWS, 'COPY (full)');

    // Autovacuum would get here on its own; without it count(*) could not use index-only scans.
    let t = now();
    await client.query('VACUUM (ANALYZE) recordings');
    await client.query('ANALYZE users');
    await client.query('ANALYZE projects');
    const vacuumMs = msSince(t);
    const perUser = (
      await client.query<{ users_with: string; min: number; median: number; max: number; table_bytes: string }>(
        `SELECT count(*) AS users_with, min(n) AS min,
                percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS median, max(n) AS max,
                pg_table_size('recordings') AS table_bytes
         FROM (SELECT count(*)::int AS n FROM recordings GROUP BY user_id) c`,
      )
    ).rows[0]!;
    note(
      `per user: min ${perUser.min}, median ${perUser.median}, max ${perUser.max} recordings; ` +
        `table ${fmtMb(Number(perUser.table_bytes))}`,
    );

    // Library page: baseline without any idx_recordings_* index, then with migration 0003's.
    const { indexes, files: indexFiles } = await recordingIndexes(client);
    for (const i of indexes) await client.query(`DROP INDEX ${i.name}`);
    await client.query('ANALYZE recordings');
    const libOpts = { users: USERS, queries: QUERIES, pagesPerUser: 3, seed: SEED + 1 };
    note(`library page without indexes (up to ${QUERIES} queries or ${BASELINE_BUDGET_MS / 1000} s)`);
    const libBase: LibraryResult = await runLibrary(client, { ...libOpts, budgetMs: BASELINE_BUDGET_MS });
    t = now();
    for (const i of indexes) await client.query(i.def);
    const recreateMs = msSince(t);
    await client.query('ANALYZE recordings');
    note(`recreated ${indexes.length} indexes in ${(recreateMs / 1000).toFixed(1)} s; library page with indexes`);
    const libOurs: LibraryResult = await runLibrary(client, { ...libOpts, budgetMs: 10 * BASELINE_BUDGET_MS });

    note('user_id lookups: schema as is vs with idx_recordings_user_id, interleaved');
    const userIdx = await runUserIndex(client, ds, {
      users: USERS,
      lookups: QUERIES,
      deletes: Math.min(200, QUERIES),
      insertRows: Math.min(10_000, ROWS),
      seed: SEED + 2,
    });

    note('index build with a concurrent writer: plain CREATE INDEX');
    const plain: BuildResult = await runIndexBuild(target.url, {
      users: USERS,
      concurrently: false,
      maxWriterMs: 180_000,
      seed: SEED + 3,
    });
    note('index build with a concurrent writer: CREATE INDEX CONCURRENTLY');
    const conc: BuildResult = await runIndexBuild(target.url, {
      users: USERS,
      concurrently: true,
      maxWriterMs: 180_000,
      seed: SEED + 3,
    });

    const runtimeMs = msSince(started);
    const pq = (s: { p50: number; p95: number }) => `${fmtMs(s.p50)} / ${fmtMs(s.p95)}`;
    const range = (m: { insertRowsPerSec: number; insertRowsPerSecRange: [number, number] }) =>
      `${fmtInt(m.insertRowsPerSec)} (${fmtInt(m.insertRowsPerSecRange[0])}-${fmtInt(m.insertRowsPerSecRange[1])})`;
    const n = (r: LibraryResult) => `${r.all.n}${r.timeBounded ? ' (time-bounded)' : ''}`;
    const rows: string[][] = [
      [
        `Load ${fmtInt(INSERT_ROWS)}-row slice into empty recordings (${shape.idx} indexes + ${shape.fks} FKs). ` +
          `baseline: multi-row INSERT, ${INSERT_BATCH} rows/stmt; ours: COPY FROM STDIN`,
      ],
      ['  rows/s', fmtInt(insertLoad.rowsPerSec), fmtInt(copySlice.rowsPerSec)],
      ['  seconds', (insertLoad.ms / 1000).toFixed(1), (copySlice.ms / 1000).toFixed(1)],
      [
        `  full load, COPY only: ${fmtInt(copyFull.rows)} rows in ${(copyFull.ms / 1000).toFixed(1)} s = ` +
          `${fmtInt(copyFull.rowsPerSec)} rows/s`,
      ],
      [
        'Library page (keyset, LIMIT 50). baseline: no idx_recordings_* indexes; ' +
          `ours: the ${indexes.length} from ${indexFiles.map((f) => f.slice(0, 4)).join(' + ')}`,
      ],
      ['  queries', n(libBase), n(libOurs)],
      ['  first page p50 / p95 ms', pq(libBase.first), pq(libOurs.first)],
      ['  next page p50 / p95 ms', pq(libBase.next), pq(libOurs.next)],
      ['  all pages p50 / p95 ms', pq(libBase.all), pq(libOurs.all)],
      [
        `user_id lookups, modes interleaved over ${ROUNDS} rounds. baseline: spec (+ idx_recordings_user_id); ` +
          'ours: schema as is (user_id leads idx_recordings_user_created and _user_type)',
      ],
      ['  count(*) WHERE user_id p50 / p95 ms', pq(userIdx.spec.count), pq(userIdx.ours.count)],
      ['  SELECT id WHERE user_id p50 / p95 ms', pq(userIdx.spec.ids), pq(userIdx.ours.ids)],
      ['  DELETE user (cascade) p50 / p95 ms', pq(userIdx.spec.deleteCascade), pq(userIdx.ours.deleteCascade)],
      [
        `  INSERT ${fmtInt(userIdx.insertRows)} rows: WAL bytes/row`,
        fmtInt(userIdx.spec.insertWalBytesPerRow),
        fmtInt(userIdx.ours.insertWalBytesPerRow),
      ],
      [`  ... rows/s median (range of ${ROUNDS})`, range(userIdx.spec), range(userIdx.ours)],
      [
        '  size of indexes led by user_id',
        fmtMb(userIdx.sizes.userCreatedBytes + userIdx.sizes.userTypeBytes + userIdx.sizes.userIdBytes),
        fmtMb(userIdx.sizes.userCreatedBytes + userIdx.sizes.userTypeBytes),
      ],
      [
        'Index on recordings(title) built under a single-row insert loop. ' +
          'baseline: CREATE INDEX; ours: CREATE INDEX CONCURRENTLY',
      ],
      ['  build s', (plain.buildMs / 1000).toFixed(1), (conc.buildMs / 1000).toFixed(1)],
      [
        '  inserts during build (per s)',
        `${fmtInt(plain.during.n)} (${fmtInt(plain.insertsPerSecDuring)})`,
        `${fmtInt(conc.during.n)} (${fmtInt(conc.insertsPerSecDuring)})`,
      ],
      [
        '  insert p50 / p99 ms during build',
        `${fmtMs(plain.during.p50)} / ${fmtMs(plain.during.p99)}`,
        `${fmtMs(conc.during.p50)} / ${fmtMs(conc.during.p99)}`,
      ],
      ['  longest insert stall ms', fmtMs(plain.longestStallMs), fmtMs(conc.longestStallMs)],
      [
        '  insert p50 / p99 ms before build',
        `${fmtMs(plain.before.p50)} / ${fmtMs(plain.before.p99)}`,
        `${fmtMs(conc.before.p50)} / ${fmtMs(conc.before.p99)}`,
      ],
    ];

    console.log(`\nRecorder DB benchmark — ${version.split(',')[0]} (${target.server}), node ${process.version}`);
    console.log(
      `${fmtInt(seeded.users)} users, ${fmtInt(seeded.projects)} projects, ${fmtInt(copyFull.rows)} recordings ` +
        `(per user min ${perUser.min} / median ${perUser.median} / max ${perUser.max}), ` +
        `table ${fmtMb(Number(perUser.table_bytes))}\n`,
    );
    console.log(formatTable(['', 'baseline', 'ours'], rows));
    console.log('\nPlans (EXPLAIN ANALYZE, one query each):');
    console.log(
      `  library next page, no indexes:   ${libBase.explain.plan} (${fmtMs(libBase.explain.executionMs)} ms)`,
    );
    console.log(
      `  library next page, with indexes: ${libOurs.explain.plan} (${fmtMs(libOurs.explain.executionMs)} ms)`,
    );
    console.log(`  count(*) by user, composite only:  ${userIdx.ours.plans.count.plan}`);
    console.log(`  count(*) by user, + user_id index: ${userIdx.spec.plans.count.plan}`);
    console.log(`  SELECT id by user, composite only:  ${userIdx.ours.plans.ids.plan}`);
    console.log(`  SELECT id by user, + user_id index: ${userIdx.spec.plans.ids.plan}`);
    console.log(
      `  index sizes: idx_recordings_user_created ${fmtMb(userIdx.sizes.userCreatedBytes)}, ` +
        `idx_recordings_user_type ${fmtMb(userIdx.sizes.userTypeBytes)}, ` +
        `idx_recordings_user_id ${fmtMb(userIdx.sizes.userIdBytes)} ` +
        `(built in ${(userIdx.userIdBuildMs / 1000).toFixed(1)} s); table ${fmtMb(userIdx.sizes.tableBytes)}`,
    );
    console.log(`\nVerdict on idx_recordings_user_id: ${userIdx.verdict}`);
    console.log(
      `Index builds valid: plain ${plain.valid}, concurrent ${conc.valid}. ` +
        `Recreating the ${indexes.length} recordings indexes took ${(recreateMs / 1000).toFixed(1)} s; ` +
        `VACUUM ANALYZE ${(vacuumMs / 1000).toFixed(1)} s.`,
    );
    console.log(`Runtime ${(runtimeMs / 1000).toFixed(1)} s. Results: ${path.relative(process.cwd(), RESULTS)}`);

    const report = {
      date: new Date().toISOString(),
      node: process.version,
      postgres: { version, server: target.server, settings },
      config: {
        rows: ROWS,
        users: USERS,
        insertSliceRows: INSERT_ROWS,
        insertBatch: INSERT_BATCH,
        queries: QUERIES,
        baselineBudgetMs: BASELINE_BUDGET_MS,
        seed: SEED,
      },
      schema: {
        recordingColumnsLoaded: columns,
        recordingIndexes: shape.idx,
        recordingForeignKeys: shape.fks,
        migrationsDeclaringRecordingIndexes: indexFiles,
      },
      counts: {
        users: seeded.users,
        projects: seeded.projects,
        recordings: copyFull.rows,
        recordingsPerUser: { min: perUser.min, median: perUser.median, max: perUser.max },
        tableBytes: Number(perUser.table_bytes),
      },
      load: {
        note:
          `multi-row INSERT measured on a ${INSERT_ROWS}-row slice; COPY on the same slice and on all ` +
          `${copyFull.rows} rows; each into an empty recordings table with its indexes and foreign keys`,
        multiRowInsertSlice: insertLoad,
        copySlice,
        copyFull,
        vacuumAnalyzeMs: vacuumMs,
      },
      library: {
        queries: { first: LIBRARY_FIRST, next: LIBRARY_NEXT },
        withoutIndexes: libBase,
        withIndexes: libOurs,
        recreateIndexesMs: recreateMs,
        indexes,
      },
      userIdIndex: userIdx,
      indexBuild: { plain, concurrently: conc },
      runtimeMs,
    };
    writeResults(RESULTS, report);
  } finally {
    await client.end().catch(() => undefined);
    await target.cleanup();
  }
}

runBench(main);
