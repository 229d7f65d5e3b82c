/**
 * npm run bench:upload — one large upload through tus (tus-js-client → the real server, run as a child
 * process so its RSS is its own) into each storage provider, next to the raw copy it has to beat:
 *
 *   local: baseline = Node stream copy of the same file to disk (fsync'd, as the local provider does);
 *          ours     = tus PATCH over loopback → DATA_DIR/uploads, then finish copies it into
 *                     DATA_DIR/media (sha256 while copying, fsync, rename).
 *   s3:    baseline = @aws-sdk/lib-storage multipart upload of the same file straight to s3rver
 *                     (8 MiB parts, 2 in flight: the S3 provider's settings); s3rver runs in a
 *                     process of its own, so neither side shares its CPU with it;
 *          ours     = tus → DATA_DIR/uploads, then the S3 provider's multipart upload to the same s3rver.
 *
 * Both "ours" are end to end: from the client's first byte to the response of the last PATCH, which
 * comes after the finish (the object is stored and the row written). Also printed: when the last byte
 * was sent (the transfer alone), and the server's peak RSS during the upload (VmHWM, reset before).
 *
 * Env: BENCH_UPLOAD_MB (1024), BENCH_UPLOAD_CHUNK_MB (tus chunkSize; default: the whole file in one
 * PATCH, tus-js-client's default), BENCH_DATABASE_URL (see bench/lib/server.ts).
 * Results: stdout and bench/results/upload.json. Everything it creates is removed, also on Ctrl-C.
 */
import { S3Client, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as tus from 'tus-js-client';
import { apiUser, startChildServer, peakRssDuring, type ChildServer } from './lib/child-server.js';
import { startS3rverProcess, type S3Info } from './lib/s3rver-process.js';
import { openTarget, type BenchTarget } from './lib/server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { envInt, fmtMb, formatTable, msSince, note, now } from './lib/stats.js';
import { machine, runBench, writeResults } from './lib/report.js';

const MiB = 1024 * 1024;
const PART_SIZE = 8 * MiB; // the S3 provider's defaults (src/server/storage/s3.ts)
const QUEUE_SIZE = 2;
const RESULTS = path.resolve(import.meta.dirname, 'results/upload.json');

const SIZE_MB = envInt('BENCH_UPLOAD_MB', 1024)!;
const CHUNK_MB = envInt('BENCH_UPLOAD_CHUNK_MB', undefined);

interface Timed {
  ms: number;
  mibPerSec: number;
}

interface OursResult extends Timed {
  /** When tus-js-client had sent the last byte. */
  sentMs: number;
  finishMs: number;
  rssBefore: number;
  rssPeak: number;
  rssGrowth: number;
  peakFromKernel: boolean;
  recordingId: string;
}

const timed = (bytes: number, ms: number): Timed => ({ ms, mibPerSec: bytes / MiB / (ms / 1000) });

/** The source: the first 4 KiB of a real WebM (the server's sniff must pass), then incompressible filler. */
async function makeSource(dir: string, bytes: number): Promise<{ file: string; sha256: string }> {
  const webm = path.join(dir, 'header.webm');
  try {
    await promisify(execFile)('ffmpeg', [
      '-nostdin',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=15:duration=1',
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      webm,
    ]);
  } catch (err) {
    throw new Error(`ffmpeg is needed to make the WebM header of the benchmark file: ${(err as Error).message}`);
  }
  const header = fs.readFileSync(webm).subarray(0, 4096);
  fs.rmSync(webm);
  const file = path.join(dir, 'source.webm');
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  function* chunks() {
    hash.update(header);
    yield header;
    for (let left = bytes - header.length; left > 0; ) {
      const piece = left >= block.length ? block : block.subarray(0, left);
      left -= piece.length;
      hash.update(piece);
      yield piece;
    }
  }
  await pipeline(chunks, fs.createWriteStream(file));
  return { file, sha256: hash.digest('hex') };
}

async function copyBaseline(src: string, dir: string, bytes: number): Promise<Timed> {
  const dst = path.join(dir, 'copy.bin');
  const t0 = now();
  await pipeline(fs.createReadStream(src), fs.createWriteStream(dst, { flush: true }));
  const ms = msSince(t0);
  fs.rmSync(dst);
  return timed(bytes, ms);
}

async function s3Baseline(s3: S3Info, src: string, bytes: number): Promise<Timed> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // As the S3 provider does: s3rver does not decode aws-chunked bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const Key = 'baseline/source.webm';
    const t0 = now();
    await new S3Upload({
      client,
      params: { Bucket: s3.bucket, Key, Body: fs.createReadStream(src) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    }).done();
    const ms = msSince(t0);
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key }));
    return timed(bytes, ms);
  } finally {
    client.destroy();
  }
}

/**
 * tus-js-client's file source, plus the moment the last byte was read into the request (the transfer's
 * end, give or take a socket buffer): its progress events are throttled and its final one comes only
 * with the response, after the server's finish.
 */
function fileReaderTiming(
  file: string,
  size: number,
  onLastByte: () => void,
): NonNullable<tus.UploadOptions['fileReader']> {
  return {
    async openFile() {
      return {
        size,
        async slice(start: number, end: number) {
          const stop = Math.min(end, size);
          const value = fs.createReadStream(file, { start, end: stop - 1 }) as fs.ReadStream & { size: number };
          value.size = stop - start;
          if (stop >= size) value.once('end', onLastByte);
          return { value, done: stop >= size };
        },
        close() {},
      };
    },
  };
}

async function tusThroughServer(server: ChildServer, src: string, bytes: number, sha256: string): Promise<OursResult> {
  const user = await apiUser(server.url, 'bench');
  let sentMs = NaN;
  const t0 = now();
  const { result, rss } = await peakRssDuring(
    [server],
    () =>
      new Promise<string>((resolve, reject) => {
        const upload = new tus.Upload(Buffer.alloc(0), {
          fileReader: fileReaderTiming(src, bytes, () => (sentMs = msSince(t0))),
          endpoint: `${server.url}/api/uploads`,
          headers: user.headers,
          // duration given: the server does not probe 1 GB of filler at finish.
          metadata: { title: 'benchmark upload', recordingType: 'screen', duration: '600', filename: 'source.webm' },
          ...(CHUNK_MB ? { chunkSize: CHUNK_MB * MiB } : {}),
          retryDelays: null,
          onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Recording-Id') ?? ''),
          onError: reject,
        });
        upload.start();
      }),
  );
  const ms = msSince(t0);
  const { before, peak, peakFromKernel: hwmReset } = rss[0]!;
  // The upload must have arrived whole: the server's sha256 (computed while storing) against ours.
  const rec = await fetch(`${server.url}/api/recordings/${result}`, { headers: user.headers });
  const body = (await rec.json()) as { fileSize?: number; metadata?: { sha256?: string } };
  if (rec.status !== 200 || body.fileSize !== bytes || body.metadata?.sha256 !== sha256) {
    throw new Error(
      `the stored recording does not match the source: HTTP ${rec.status}, ${JSON.stringify(body).slice(0, 300)}`,
    );
  }
  return {
    ...timed(bytes, ms),
    sentMs,
    finishMs: ms - sentMs,
    rssBefore: before,
    rssPeak: peak,
    rssGrowth: peak - before,
    peakFromKernel: hwmReset,
    recordingId: result,
  };
}

async function main(): Promise<void> {
  const started = now();
  const bytes = SIZE_MB * MiB;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-upload-'));
  const { cleanups, cleanup } = cleanupOnExit(work);

  try {
    const target: BenchTarget = await openTarget();
    cleanups.push({ what: 'bench database', run: () => target.cleanup() });
    note(`writing a ${SIZE_MB} MiB source file`);
    const src = await makeSource(work, bytes);

    // --- local
    note('local: baseline (stream copy + fsync)');
    const localBase = await copyBaseline(src.file, work, bytes);
    const localDir = path.join(work, 'server-local');
    fs.mkdirSync(localDir);
    const common = { DATABASE_URL: target.url, LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' };
    const server = await startChildServer({
      name: 'server-local',
      dir: work,
      env: { ...common, DATA_DIR: localDir, STORAGE_PROVIDER: 'local' },
    });
    cleanups.push({ what: 'stop server-local', run: () => server.stop() });
    note(`local: ours (tus → ${server.url}, pid ${server.pid})`);
    const localOurs = await tusThroughServer(server, src.file, bytes, src.sha256);
    await server.stop();
    fs.rmSync(localDir, { recursive: true, force: true });

    // --- s3
    const s3child = await startS3rverProcess();
    cleanups.push({ what: 'stop s3rver', run: () => s3child.stop() });
    const s3 = s3child.info;
    note(`s3: baseline (lib-storage multipart to s3rver ${s3.endpoint})`);
    const s3Base = await s3Baseline(s3, src.file, bytes);
    const s3Dir = path.join(work, 'server-s3');
    fs.mkdirSync(s3Dir);
    const s3Server = await startChildServer({
      name: 'server-s3',
      dir: work,
      env: {
        ...common,
        DATA_DIR: s3Dir,
        STORAGE_PROVIDER: 's3',
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_REGION: 'us-east-1',
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      },
    });
    cleanups.push({ what: 'stop server-s3', run: () => s3Server.stop() });
    note(`s3: ours (tus → ${s3Server.url} → s3rver, pid ${s3Server.pid})`);
    const s3Ours = await tusThroughServer(s3Server, src.file, bytes, src.sha256);
    await s3Server.stop();

    const runtimeMs = msSince(started);
    const f1 = (n: number) => n.toFixed(1);
    const ratio = (ours: Timed, base: Timed) => `${(ours.mibPerSec / base.mibPerSec).toFixed(2)}x`;
    const rss = (o: OursResult) => `${fmtMb(o.rssBefore)} -> ${fmtMb(o.rssPeak)} (+${fmtMb(o.rssGrowth)})`;
    const chunk = CHUNK_MB ? `${CHUNK_MB} MiB chunks` : 'one PATCH';
    const section = (o: OursResult, b: Timed, transferRatio: boolean) => [
      ['  MiB/s, end to end', f1(b.mibPerSec), f1(o.mibPerSec), ratio(o, b)],
      ['  seconds', f1(b.ms / 1000), f1(o.ms / 1000), `${(o.ms / b.ms).toFixed(2)}x`],
      ['  ours: last byte sent / finish (store + row) s', '', `${f1(o.sentMs / 1000)} / ${f1(o.finishMs / 1000)}`, ''],
      [
        '  ours: MiB/s of the transfer alone',
        '',
        f1(bytes / MiB / (o.sentMs / 1000)),
        transferRatio ? ratio(timed(bytes, o.sentMs), b) : '',
      ],
      [`  server RSS before -> peak (growth)${o.peakFromKernel ? '' : ' [sampled]'}`, '', rss(o), ''],
    ];
    if (Number.isNaN(localOurs.sentMs) || Number.isNaN(s3Ours.sentMs))
      throw new Error('the last byte was never read: timing is broken');
    const rows: string[][] = [
      [
        `Local provider. baseline: Node stream copy of the file to disk, fsync'd; ours: tus (${chunk}) -> DATA_DIR/uploads, then copy into DATA_DIR/media (sha256, fsync)`,
      ],
      ...section(localOurs, localBase, true),
      [
        `S3 provider on s3rver (loopback, own process). baseline: lib-storage multipart, ${PART_SIZE / MiB} MiB parts x ${QUEUE_SIZE}; ours: tus (${chunk}) -> DATA_DIR/uploads, then the S3 provider's multipart (same parts)`,
      ],
      ...section(s3Ours, s3Base, false),
    ];
    console.log(
      `\nRecorder upload benchmark — ${SIZE_MB} MiB, node ${process.version}, ${os.cpus().length} CPUs, ${target.server}`,
    );
    console.log(`Every upload verified: the server's sha256 of the stored object equals the source's.\n`);
    console.log(formatTable(['', 'baseline', 'ours', 'ours/baseline'], rows));
    console.log(`\nRuntime ${(runtimeMs / 1000).toFixed(1)} s. Results: ${path.relative(process.cwd(), RESULTS)}`);

    const report = {
      ...machine(),
      database: target.server,
      config: {
        sizeMiB: SIZE_MB,
        tusChunk: CHUNK_MB ? CHUNK_MB * MiB : 'whole file (one PATCH)',
        s3PartSize: PART_SIZE,
        s3QueueSize: QUEUE_SIZE,
        serverEnv: { LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' },
      },
      local: {
        baseline: { what: 'fs stream copy, fsync', ...localBase },
        ours: localOurs,
        ratio: localOurs.mibPerSec / localBase.mibPerSec,
      },
      s3: {
        baseline: { what: 'lib-storage multipart to s3rver', ...s3Base },
        ours: s3Ours,
        ratio: s3Ours.mibPerSec / s3Base.mibPerSec,
      },
      runtimeMs,
    };
    writeResults(RESULTS, report);
  } finally {
    await cleanup();
  }
}

runBench(main);
