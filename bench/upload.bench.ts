/**
 * npm run bench:upload — uploads through tus (tus-js-client → real server processes, each with its own
 * RSS) into each storage provider, next to the raw transfer it has to beat, measured in the same run:
 *
 *   local: baseline = Node stream copy of the file to disk, fsync'd (what the local provider must do);
 *   s3:    baseline = @aws-sdk/lib-storage multipart upload straight to s3rver (8 MiB parts, 2 in
 *          flight: the S3 provider's settings); s3rver runs in a process of its own.
 *
 * Ours runs on two app servers on one database and one storage (test/support/cluster.ts, as
 * docs/scaling.md deploys them: a shared DATA_DIR for local, one bucket for s3), warmed up by a 1 MiB
 * upload each. Measured:
 *   1. one upload of BENCH_UPLOAD_MB through server 0: end to end (first request to the last PATCH's
 *      response, which carries Recording-Id: the object is stored and the row written), the transfer
 *      alone (to the last byte handed to the socket), and the finish between the two — nothing polled;
 *   2. BENCH_CONCURRENT_N uploads of BENCH_CONCURRENT_MB at once, alternately on server 0 and 1:
 *      aggregate MiB/s beside as many raw transfers at once;
 *   3. each server's RSS growth during each run (VmHWM reset before, read after: peak minus before).
 * Every upload is verified: the server's sha256 of the stored object equals the source's.
 *
 * Env: BENCH_UPLOAD_MB (1024), BENCH_CONCURRENT_N (20), BENCH_CONCURRENT_MB (100), BENCH_UPLOAD_CHUNK_MB
 * (tus chunkSize; default: a whole file in one PATCH, tus-js-client's default), BENCH_DATABASE_URL
 * (bench/lib/server.ts). Quick run: BENCH_UPLOAD_MB=64 BENCH_CONCURRENT_MB=16.
 * Results: stdout and bench/results/upload.json. Everything it creates is removed, also on Ctrl-C.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/server/logger.js';
import { ensureWebBuild } from '../src/server/web/build.js';
import { type Cluster, startCluster } from '../test/support/cluster.js';
import { apiUser, peakRssDuring } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { openTarget } from './lib/server.js';
import { type S3Info, startS3rverProcess } from './lib/s3rver-process.js';
import { envInt, formatTable, msSince, note, now, summarize } from './lib/stats.js';
import { timedTusUpload, verifyStored } from './lib/tus-client.js';
import {
  copyBaseline,
  MiB,
  makeSource,
  PART_SIZE,
  QUEUE_SIZE,
  type SourceFile,
  s3Baseline,
  type Timed,
  timed,
} from './lib/upload-baselines.js';
import {
  type ConcurrentRun,
  GOALS,
  goalsMet,
  type ProviderRun,
  providerRows,
  type SingleRun,
  TABLE_HEADER,
} from './lib/upload-report.js';

const RESULTS = path.resolve(import.meta.dirname, 'results/upload.json');
const SIZE_MB = envInt('BENCH_UPLOAD_MB', 1024);
const CONCURRENT_N = envInt('BENCH_CONCURRENT_N', 20);
const CONCURRENT_MB = envInt('BENCH_CONCURRENT_MB', 100);
const CHUNK_MB = envInt('BENCH_UPLOAD_CHUNK_MB', undefined);
const SERVERS = 2;
const SERVER_ENV = { LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' };
// The duration is given: the server does not probe a file of filler at finish.
const METADATA = { title: 'benchmark upload', recordingType: 'screen', duration: '600', filename: 'source.webm' };

interface Sources {
  warmup: SourceFile;
  single: SourceFile;
  concurrent: SourceFile;
}

interface Provider {
  name: 'local' | 's3';
  s3?: S3Info;
  /** The raw transfer of `src`, `n` at once. */
  baseline(src: SourceFile, n: number): Promise<Timed>;
}

type Headers = Record<string, string>;

function upload(url: string, headers: Headers, src: SourceFile) {
  return timedTusUpload({
    endpoint: `${url}/api/uploads`,
    headers,
    file: src.file,
    size: src.size,
    chunkSize: CHUNK_MB ? CHUNK_MB * MiB : undefined,
    metadata: METADATA,
  });
}

async function single(cluster: Cluster, headers: Headers, src: SourceFile, baseline: Timed): Promise<SingleRun> {
  const url = cluster.url(0);
  const { result, rss } = await peakRssDuring([cluster.process(0)], () => upload(url, headers, src));
  await verifyStored(url, headers, result.recordingId, src);
  const { ms, sentMs, finishMs, recordingId } = result;
  return {
    sizeMiB: src.size / MiB,
    baseline,
    ours: { ...timed(src.size, ms), sentMs, finishMs, recordingId },
    rss: rss[0]!,
  };
}

async function concurrent(
  cluster: Cluster,
  headers: Headers,
  src: SourceFile,
  baseline: Timed,
): Promise<ConcurrentRun> {
  const servers = Array.from({ length: cluster.size }, (_, i) => cluster.process(i));
  const urlOf = (i: number) => cluster.url(i % cluster.size);
  const t0 = now();
  const { result, rss } = await peakRssDuring(servers, () =>
    Promise.all(Array.from({ length: CONCURRENT_N }, (_, i) => upload(urlOf(i), headers, src))),
  );
  const ms = msSince(t0);
  await Promise.all(result.map((r, i) => verifyStored(urlOf(i), headers, r.recordingId, src)));
  const finish = summarize(result.map((r) => r.finishMs));
  return {
    uploads: CONCURRENT_N,
    sizeMiB: src.size / MiB,
    baseline,
    ours: { ...timed(src.size * CONCURRENT_N, ms), finishP50Ms: finish.p50, finishMaxMs: finish.max },
    rss,
  };
}

/** Baselines first, then ours on a fresh two-server cluster of this provider, stopped at the end. */
async function runProvider(p: Provider, src: Sources, databaseUrl: string): Promise<ProviderRun> {
  note(`${p.name}: baselines (one ${SIZE_MB} MiB, then ${CONCURRENT_N} x ${CONCURRENT_MB} MiB at once)`);
  const singleBase = await p.baseline(src.single, 1);
  const concurrentBase = await p.baseline(src.concurrent, CONCURRENT_N);
  const cluster = await startCluster({ databaseUrl, provider: p.name, s3: p.s3, size: SERVERS, env: SERVER_ENV });
  try {
    const { headers } = await apiUser(cluster.url(0), 'bench');
    for (let i = 0; i < cluster.size; i++) await upload(cluster.url(i), headers, src.warmup);
    note(`${p.name}: ours, one upload (server 0, pid ${cluster.pid(0)})`);
    const one = await single(cluster, headers, src.single, singleBase);
    note(`${p.name}: ours, ${CONCURRENT_N} uploads at once over ${cluster.size} servers`);
    return { single: one, concurrent: await concurrent(cluster, headers, src.concurrent, concurrentBase) };
  } finally {
    await cluster.close();
  }
}

function printTable(local: ProviderRun, s3: ProviderRun, database: string, runtimeMs: number): void {
  const chunk = CHUNK_MB ? `${CHUNK_MB} MiB chunks` : 'one PATCH per file';
  const s3Parts = `${PART_SIZE / MiB} MiB parts x ${QUEUE_SIZE}`;
  const rows = [
    ...providerRows(
      `Local provider, shared DATA_DIR. baseline: copies to disk, fsync'd; ours: tus, ${chunk}`,
      local,
      SERVERS,
    ),
    ...providerRows(`S3 on s3rver (own process). baseline: lib-storage, ${s3Parts}; ours: tus, ${chunk}`, s3, SERVERS),
  ];
  console.log(`\nRecorder upload benchmark — node ${process.version}, ${os.cpus().length} CPUs, ${database}`);
  console.log("Every upload verified: the server's sha256 of the stored object equals the source's.\n");
  console.log(formatTable(TABLE_HEADER, rows));
  console.log(`\nRuntime ${(runtimeMs / 1000).toFixed(1)} s. Results: ${path.relative(process.cwd(), RESULTS)}`);
}

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-upload-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  try {
    const target = await openTarget();
    cleanups.push({ what: 'bench database', run: () => target.cleanup() });
    // Built here, once: a server that had to build it at start would begin the runs with Vite's memory.
    await ensureWebBuild({ logger: createLogger('warn') });
    note(`writing the source files (${SIZE_MB} MiB, ${CONCURRENT_MB} MiB)`);
    const src: Sources = {
      warmup: await makeSource(work, 'warmup.webm', MiB),
      single: await makeSource(work, 'single.webm', SIZE_MB * MiB),
      concurrent: await makeSource(work, 'concurrent.webm', CONCURRENT_MB * MiB),
    };
    const local = await runProvider({ name: 'local', baseline: (s, n) => copyBaseline(s, work, n) }, src, target.url);
    const s3rver = await startS3rverProcess();
    cleanups.push({ what: 'stop s3rver', run: () => s3rver.stop() });
    const s3 = await runProvider(
      { name: 's3', s3: s3rver.info, baseline: (s, n) => s3Baseline(s3rver.info, s, n) },
      src,
      target.url,
    );
    const runtimeMs = msSince(started);
    printTable(local, s3, target.server, runtimeMs);
    writeResults(RESULTS, {
      ...machine(),
      database: target.server,
      config: {
        sizeMiB: SIZE_MB,
        concurrent: { uploads: CONCURRENT_N, sizeMiB: CONCURRENT_MB, servers: SERVERS },
        tusChunk: CHUNK_MB ? CHUNK_MB * MiB : 'whole file (one PATCH)',
        s3PartSize: PART_SIZE,
        s3QueueSize: QUEUE_SIZE,
        serverEnv: SERVER_ENV,
      },
      goals: GOALS,
      local: { ...local, goalsMet: goalsMet(local) },
      s3: { ...s3, goalsMet: goalsMet(s3) },
      runtimeMs,
    });
  } finally {
    await cleanup();
  }
}

runBench(main);
