/**
 * The storage migration bench's two measurements beside ours: the raw multipart upload of the same files
 * to the same s3rver (lib-storage Upload with the S3 provider's part settings, as many files at once as
 * the run's concurrency), and a reader of another user's media over HTTP (Range GETs, one at a time).
 */
import fs from 'node:fs';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pLimit from 'p-limit';
import type { SeededFile } from './storage-migrate-seed.js';
import type { S3Info } from './s3rver-process.js';
import { msSince, now, rng } from './stats.js';
import { MiB, PART_SIZE, QUEUE_SIZE } from './upload-baselines.js';

export interface RawUpload {
  ms: number;
  bytes: number;
  mibPerSec: number;
  objects: number;
}

function s3Client(s3: S3Info): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // As the S3 provider does: s3rver does not decode aws-chunked bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Every file's media and thumbnail uploaded under baseline/ keys, `concurrency` recordings at once
 * (PART_SIZE parts, QUEUE_SIZE in flight each), then deleted again. Counted: media bytes (as the run's
 * moved_bytes counts them; both move the thumbnails too).
 */
export async function rawUpload(s3: S3Info, files: SeededFile[], concurrency: number): Promise<RawUpload> {
  const client = s3Client(s3);
  const limit = pLimit(concurrency);
  const put = (Key: string, file: string) =>
    new Upload({
      client,
      params: { Bucket: s3.bucket, Key, Body: fs.createReadStream(file) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    }).done();
  let bytes = 0;
  const t0 = now();
  await Promise.all(
    files.map((f, i) =>
      limit(async () => {
        await put(`baseline/${i}/media.webm`, f.file);
        await put(`baseline/${i}/thumbnail.jpg`, f.thumbnailFile);
        bytes += f.size;
      }),
    ),
  );
  const ms = msSince(t0);
  await Promise.all(
    files.map((_, i) =>
      limit(async () => {
        for (const name of ['media.webm', 'thumbnail.jpg']) {
          await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `baseline/${i}/${name}` }));
        }
      }),
    ),
  );
  client.destroy();
  return { ms, bytes, mibPerSec: bytes / MiB / (ms / 1000), objects: files.length * 2 };
}

export interface Reader {
  /** Each GET's time to its last byte, ms. */
  latencies: number[];
  errors: string[];
}

export interface ReadOptions {
  url: string;
  headers: Record<string, string>;
  /** The reader's recordings, id and size. */
  recordings: { id: string; size: number }[];
  rangeBytes: number;
  /** Reads until this resolves true (checked before each GET). */
  stop: () => boolean;
  seed?: number;
}

/** Range GETs of /api/recordings/:id/media, one after the other, each read to its end and checked. */
export async function readMedia(opts: ReadOptions): Promise<Reader> {
  const random = rng(opts.seed ?? 7);
  const out: Reader = { latencies: [], errors: [] };
  while (!opts.stop()) {
    const r = opts.recordings[Math.floor(random() * opts.recordings.length)]!;
    const length = Math.min(opts.rangeBytes, r.size);
    const start = Math.floor(random() * (r.size - length + 1));
    const end = start + length - 1;
    const t0 = now();
    try {
      const res = await fetch(`${opts.url}/api/recordings/${r.id}/media`, {
        headers: { ...opts.headers, range: `bytes=${start}-${end}` },
      });
      const body = await res.arrayBuffer();
      const ms = msSince(t0);
      if (res.status !== 206 || body.byteLength !== length) {
        out.errors.push(`${r.id} bytes=${start}-${end}: ${res.status}, ${body.byteLength} bytes`);
      } else {
        out.latencies.push(ms);
      }
    } catch (err) {
      out.errors.push(`${r.id}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Reads for `ms` milliseconds. */
export function readFor(ms: number, opts: Omit<ReadOptions, 'stop'>): Promise<Reader> {
  const until = Date.now() + ms;
  return readMedia({ ...opts, stop: () => Date.now() >= until });
}
