/**
 * The upload benchmark's source files and the raw transfers ours is measured against, one or many at
 * once: a Node stream copy to disk, fsync'd (what the local provider must at least do), and a
 * lib-storage multipart upload straight to s3rver with the S3 provider's part settings.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import type { S3Info } from './s3rver-process.js';
import { msSince, now } from './stats.js';

export const MiB = 1024 * 1024;
/** The S3 provider's multipart settings (src/server/storage/s3.ts). */
export const PART_SIZE = 8 * MiB;
export const QUEUE_SIZE = 2;

export interface Timed {
  ms: number;
  mibPerSec: number;
  /** s3: the longest CompleteMultipartUpload of the run — the object store's own share of a finish. */
  completeMs?: number;
}

export const timed = (bytes: number, ms: number): Timed => ({ ms, mibPerSec: bytes / MiB / (ms / 1000) });

export interface SourceFile {
  file: string;
  size: number;
  sha256: string;
}

/** The first 4 KiB of a real WebM made by ffmpeg: enough for the server's sniff to take the file as WebM. */
async function webmHeader(dir: string): Promise<Buffer> {
  const webm = path.join(dir, 'header.webm');
  const source = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=1'];
  const vp9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'];
  try {
    await promisify(execFile)('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...source, ...vp9, webm]);
  } catch (err) {
    throw new Error(`ffmpeg is needed to make the WebM header of the benchmark file: ${(err as Error).message}`);
  }
  const header = fs.readFileSync(webm).subarray(0, 4096);
  fs.rmSync(webm);
  return header;
}

/**
 * A source of `bytes` bytes: a real WebM header, then incompressible filler (a real 1 GiB WebM would take
 * ffmpeg minutes to make). The uploads give the duration in their metadata, so nothing probes the filler.
 */
export async function makeSource(dir: string, name: string, bytes: number): Promise<SourceFile> {
  const header = await webmHeader(dir);
  const file = path.join(dir, name);
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  function* chunks() {
    const first = header.subarray(0, bytes);
    hash.update(first);
    yield first;
    for (let left = bytes - first.length; left > 0; ) {
      const piece = left >= block.length ? block : block.subarray(0, left);
      left -= piece.length;
      hash.update(piece);
      yield piece;
    }
  }
  // fsync'd: otherwise the kernel writes the source back while the first runs measure, and they pay for it.
  await pipeline(chunks, fs.createWriteStream(file, { flush: true }));
  return { file, size: bytes, sha256: hash.digest('hex') };
}

/** `copies` stream copies of `src` into `dir` at once, each fsync'd before it counts as done. */
export async function copyBaseline(src: SourceFile, dir: string, copies = 1): Promise<Timed> {
  const targets = Array.from({ length: copies }, (_, i) => path.join(dir, `copy-${i}.bin`));
  const t0 = now();
  await Promise.all(
    targets.map((dst) => pipeline(fs.createReadStream(src.file), fs.createWriteStream(dst, { flush: true }))),
  );
  const ms = msSince(t0);
  for (const dst of targets) fs.rmSync(dst);
  return timed(src.size * copies, ms);
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

/** `uploads` lib-storage multipart uploads of `src` to s3rver at once (PART_SIZE parts, QUEUE_SIZE in flight each). */
export async function s3Baseline(s3: S3Info, src: SourceFile, uploads = 1): Promise<Timed> {
  const client = s3Client(s3);
  let completeMs = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'CompleteMultipartUploadCommand') return next(args);
      const t0 = now();
      try {
        return await next(args);
      } finally {
        completeMs = Math.max(completeMs, msSince(t0));
      }
    },
    { step: 'initialize', name: 'timeCompleteMultipartUpload' },
  );
  const keys = Array.from({ length: uploads }, (_, i) => `baseline/source-${i}.webm`);
  try {
    const t0 = now();
    await Promise.all(
      keys.map((Key) =>
        new S3Upload({
          client,
          params: { Bucket: s3.bucket, Key, Body: fs.createReadStream(src.file) },
          partSize: PART_SIZE,
          queueSize: QUEUE_SIZE,
        }).done(),
      ),
    );
    const ms = msSince(t0);
    await Promise.all(keys.map((Key) => client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key }))));
    return { ...timed(src.size * uploads, ms), completeMs };
  } finally {
    client.destroy();
  }
}
