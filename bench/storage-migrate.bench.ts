/**
 * npm run bench:storage-migrate — moves BENCH_SM_RECORDINGS recordings (default 1000, sizes mixed, about
 * BENCH_SM_TOTAL_MIB MiB in all, default 2048) from local storage to s3rver with the storage migration,
 * beside the raw transfer it has to keep up with, measured in the same run on the same s3rver:
 *
 *   baseline: every recording's media and thumbnail uploaded with @aws-sdk/lib-storage (8 MiB parts,
 *             2 in flight: the S3 provider's settings), as many recordings at once as the run's concurrency;
 *   ours:     one storage migration run (StorageMigrationService.start, then every batch to its end in a
 *             process of its own, as the storage-migrate job would: bench/lib/storage-migrate-child.ts),
 *             copy + read-back verify + row switch per recording, BENCH_SM_CONCURRENCY workers (default:
 *             the service's default, 4). MiB/s, recordings/s, and the ratio ours/raw (goal >= 0.8).
 *
 * Meanwhile another user (signed up on a real server process, `recorder serve`, configured with local
 * and s3) reads their own media over HTTP: Range GETs of BENCH_SM_RANGE_KIB KiB (default 256) at random
 * offsets, one at a time, for BENCH_SM_IDLE_S seconds (default 15) while nothing else runs, then for as
 * long as the baseline runs, then as the migration runs (so both transfers share the machine with the
 * same reader). p95 during the migration vs idle (goal <= 1.5x); during the baseline is printed beside it,
 * to tell what s3rver and the disk cost from what the migration adds. s3rver runs in a process of its own.
 * Afterwards every migrated row must point at s3 (the run's counts are checked: moved = all, none failed).
 *
 * Env: also BENCH_SM_VIEWER_RECORDINGS (default 10, 8 MiB each), BENCH_DATABASE_URL (bench/lib/server.ts).
 * Quick run: BENCH_SM_RECORDINGS=10 BENCH_SM_TOTAL_MIB=20 BENCH_SM_IDLE_S=3.
 * Results: stdout and bench/results/storage-migrate.json. Everything it creates is removed, also on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../src/server/db/schema.js';
import { createLogger } from '../src/server/logger.js';
import {
  DEFAULT_CONCURRENCY,
  StorageMigrationService,
} from '../src/server/storage-migration/storage-migration.service.js';
import { StorageMigrationRepository } from '../src/server/storage-migration/storage-migration.repository.js';
import { LocalStorage } from '../src/server/storage/local.js';
import { S3Storage } from '../src/server/storage/s3.js';
import { ensureWebBuild } from '../src/server/web/build.js';
import { addUser, TwoStorages } from '../test/support/storage-migrate.js';
import { apiUser, ROOT, startChildServer } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { openTarget } from './lib/server.js';
import { type S3Info, s3Env, startS3rverProcess } from './lib/s3rver-process.js';
import { envInt, fmtMs, formatTable, msSince, note, now, summarize, type Summary } from './lib/stats.js';
import { rawUpload, readFor, readMedia, type Reader } from './lib/storage-migrate-load.js';
import { mixedSizes, seedAll, type SeededFile } from './lib/storage-migrate-seed.js';
import { MiB, PART_SIZE, QUEUE_SIZE } from './lib/upload-baselines.js';

const RESULTS = path.resolve(import.meta.dirname, 'results/storage-migrate.json');
const RECORDINGS = envInt('BENCH_SM_RECORDINGS', 1000);
const TOTAL_MIB = envInt('BENCH_SM_TOTAL_MIB', 2048);
const CONCURRENCY = envInt('BENCH_SM_CONCURRENCY', DEFAULT_CONCURRENCY);
const IDLE_S = envInt('BENCH_SM_IDLE_S', 15);
const RANGE_KIB = envInt('BENCH_SM_RANGE_KIB', 256);
const VIEWER_RECORDINGS = envInt('BENCH_SM_VIEWER_RECORDINGS', 10);
const VIEWER_MIB = 8;
const GOALS = { throughputRatioMin: 0.8, p95DuringOverIdleMax: 1.5 };
const SERVER_ENV = { LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' };

interface Migrated {
  ms: number;
  bytes: number;
  mibPerSec: number;
  recordingsPerSec: number;
  counts: { total: number; moved: number; skipped: number; failed: number; movedBytes: number };
  rowsOnS3: number;
}

function s3StorageOf(s3: S3Info): S3Storage {
  // The provider's defaults (s3.ts): the settings a server configured by env gets.
  return new S3Storage({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
  });
}

/** The mover child: resolves with its { result, ms } line once it has exited cleanly. */
async function runChild(args: object, work: string): Promise<{ result: string; ms: number }> {
  const log = path.join(work, 'migrate-child.log');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/lib/storage-migrate-child.ts'), JSON.stringify(args)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', fs.openSync(log, 'a')] },
  );
  let line: string | undefined;
  readline.createInterface({ input: child.stdout! }).on('line', (l) => {
    line ??= l;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || !line) throw new Error(`the migration child exited ${code}:\n${fs.readFileSync(log, 'utf8')}`);
  return JSON.parse(line) as { result: string; ms: number };
}

async function migrate(
  db: Kysely<DB>,
  service: StorageMigrationService,
  userId: string,
  childArgs: { dbUrl: string; mediaDir: string; s3: S3Info },
  work: string,
): Promise<Migrated> {
  const run = await service.start({ to: 's3', filters: { userId }, concurrency: CONCURRENCY, startedBy: 'cli' });
  const { result, ms } = await runChild({ ...childArgs, migrationId: run.id }, work);
  if (result !== 'done') throw new Error(`the migration ended '${result}', not 'done'`);
  const row = await service.find(run.id);
  const counts = {
    total: Number(row.total_count),
    moved: Number(row.moved_count),
    skipped: Number(row.skipped_count),
    failed: Number(row.failed_count),
    movedBytes: Number(row.moved_bytes),
  };
  const onS3 = await db
    .selectFrom('recordings')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('storage_provider', '=', 's3')
    .executeTakeFirstOrThrow();
  return {
    ms,
    bytes: counts.movedBytes,
    mibPerSec: counts.movedBytes / MiB / (ms / 1000),
    recordingsPerSec: counts.moved / (ms / 1000),
    counts,
    rowsOnS3: Number(onS3.n),
  };
}

function readsOf(reader: Reader): Summary & { errors: string[] } {
  return { ...summarize(reader.latencies), errors: reader.errors.slice(0, 10) };
}

const loadavg = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-sm-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  try {
    const loadBefore = loadavg();
    const target = await openTarget();
    cleanups.push({ what: 'bench database', run: () => target.cleanup() });
    await ensureWebBuild({ logger: createLogger('warn') });
    const s3rver = await startS3rverProcess();
    cleanups.push({ what: 'stop s3rver', run: () => s3rver.stop() });
    const dataDir = path.join(work, 'data');
    const mediaDir = path.join(dataDir, 'media');
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: 4 }) }),
    });
    cleanups.push({ what: 'close the pool', run: () => db.destroy() });
    const local = new LocalStorage({ dir: mediaDir });
    const service = new StorageMigrationService({
      repo: new StorageMigrationRepository(db),
      storages: new TwoStorages(local, s3StorageOf(s3rver.info)),
      logger: createLogger('warn'),
      kick: async () => undefined,
    });
    const server = await startChildServer({
      name: 'server',
      dir: work,
      env: {
        DATABASE_URL: target.url,
        DATA_DIR: dataDir,
        ...SERVER_ENV,
        ...s3Env(s3rver.info),
        STORAGE_PROVIDER: 'local',
      },
    });
    cleanups.push({ what: 'stop the server', run: () => server.stop() });

    const viewer = await apiUser(server.url, 'viewer');
    const viewerSizes = Array.from({ length: VIEWER_RECORDINGS }, () => VIEWER_MIB * MiB);
    const viewed = await seedAll(db, local, mediaDir, viewer.userId, viewerSizes);
    const owner = await addUser(db);
    const sizes = mixedSizes(RECORDINGS, TOTAL_MIB * MiB);
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    note(`seeding ${RECORDINGS} recordings, ${(totalBytes / MiB).toFixed(0)} MiB`);
    let lastNote = Date.now();
    const files: SeededFile[] = await seedAll(db, local, mediaDir, owner, sizes, (done) => {
      if (Date.now() - lastNote < 5000) return;
      lastNote = Date.now();
      note(`  ${done}/${RECORDINGS}`);
    });

    const read = { url: server.url, headers: viewer.headers, recordings: viewed, rangeBytes: RANGE_KIB * 1024 };
    note(`idle reads for ${IDLE_S} s`);
    const idle = await readFor(IDLE_S * 1000, read);
    note(`baseline: raw lib-storage upload of the same files, ${CONCURRENCY} at once`);
    let uploading = true;
    const duringRawReader = readMedia({ ...read, stop: () => !uploading, seed: 9 });
    const raw = await rawUpload(s3rver.info, files, CONCURRENCY).finally(() => {
      uploading = false;
    });
    const duringRaw = readsOf(await duringRawReader);
    note(`ours: storage migration local -> s3, concurrency ${CONCURRENCY}, with reads`);
    let migrating = true;
    const during = readMedia({ ...read, stop: () => !migrating, seed: 11 });
    let ours: Migrated;
    try {
      ours = await migrate(db, service, owner, { dbUrl: target.url, mediaDir, s3: s3rver.info }, work);
    } finally {
      migrating = false;
    }
    const duringReads = await during;
    if (ours.counts.moved !== RECORDINGS || ours.counts.failed || ours.rowsOnS3 !== RECORDINGS) {
      throw new Error(`not every recording moved: ${JSON.stringify(ours.counts)}, ${ours.rowsOnS3} rows on s3`);
    }
    const loadAfter = loadavg();
    const runtimeMs = msSince(started);

    const idleReads = readsOf(idle);
    const readsDuring = readsOf(duringReads);
    const ratio = ours.mibPerSec / raw.mibPerSec;
    const p95Ratio = readsDuring.p95 / idleReads.p95;
    const rows = [
      ['raw lib-storage upload (baseline)', `${raw.mibPerSec.toFixed(1)} MiB/s`, '-', fmtMs(raw.ms), '-'],
      [
        'storage migration (ours)',
        `${ours.mibPerSec.toFixed(1)} MiB/s`,
        `${ours.recordingsPerSec.toFixed(1)} rec/s`,
        fmtMs(ours.ms),
        `${ratio.toFixed(2)}x (goal >= ${GOALS.throughputRatioMin})`,
      ],
      [`media GET p95, idle (n=${idleReads.n})`, `${fmtMs(idleReads.p95)} ms`, `p50 ${fmtMs(idleReads.p50)}`, '-', '-'],
      [
        `media GET p95, during baseline (n=${duringRaw.n})`,
        `${fmtMs(duringRaw.p95)} ms`,
        `p50 ${fmtMs(duringRaw.p50)}`,
        '-',
        `${(duringRaw.p95 / idleReads.p95).toFixed(2)}x`,
      ],
      [
        `media GET p95, during ours (n=${readsDuring.n})`,
        `${fmtMs(readsDuring.p95)} ms`,
        `p50 ${fmtMs(readsDuring.p50)}`,
        '-',
        `${p95Ratio.toFixed(2)}x (goal <= ${GOALS.p95DuringOverIdleMax})`,
      ],
    ];
    console.log(`\nRecorder storage migration benchmark — node ${process.version}, ${os.cpus().length} CPUs`);
    console.log(
      `${RECORDINGS} recordings, ${(totalBytes / MiB).toFixed(0)} MiB, local -> s3rver (own process), ` +
        `${target.server}; load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}`,
    );
    console.log(
      `Read errors: idle ${idleReads.errors.length}, during baseline ${duringRaw.errors.length}, ` +
        `during ours ${readsDuring.errors.length}\n`,
    );
    console.log(formatTable(['', 'throughput / p95', 'rate / p50', 'ms', 'ratio'], rows));
    console.log(`\nRuntime ${(runtimeMs / 1000).toFixed(1)} s. Results: ${path.relative(process.cwd(), RESULTS)}`);
    writeResults(RESULTS, {
      ...machine(),
      database: target.server,
      loadAverage: { before: loadBefore, after: loadAfter },
      config: {
        recordings: RECORDINGS,
        totalMiB: totalBytes / MiB,
        largestMiB: Math.max(...sizes) / MiB,
        smallestKiB: Math.min(...sizes) / 1024,
        concurrency: CONCURRENCY,
        s3PartSize: PART_SIZE,
        s3QueueSize: QUEUE_SIZE,
        reads: { rangeKiB: RANGE_KIB, idleSeconds: IDLE_S, viewerRecordings: VIEWER_RECORDINGS, viewerMiB: VIEWER_MIB },
        serverEnv: SERVER_ENV,
      },
      goals: GOALS,
      raw,
      ours,
      throughputRatio: ratio,
      reads: { idle: idleReads, duringBaseline: duringRaw, during: readsDuring, p95Ratio },
      goalsMet: {
        throughput: ratio >= GOALS.throughputRatioMin,
        p95: p95Ratio <= GOALS.p95DuringOverIdleMax,
      },
      runtimeMs,
    });
  } finally {
    await cleanup();
  }
}

runBench(main);
