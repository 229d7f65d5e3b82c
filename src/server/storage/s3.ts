/**
 * The s3 provider: AWS S3 or any S3-compatible server (MinIO, Ceph, R2, s3rver in tests).
 *
 * Writes are atomic by S3's own rules: an object appears when its PutObject or
 * CompleteMultipartUpload succeeds, whole; a GET already streaming keeps the version it started with.
 * Known-size bodies up to multipartThreshold go up as one streamed PutObject (constant memory);
 * larger or unknown-size ones through lib-storage's Upload, in parts (memory: partSize × queueSize).
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Logger } from '../logger.js';
import { contentTypeOf, publicUrlOf, validateKey, validatePrefix } from './keys.js';
import {
  checkRange,
  existsViaStat,
  NotFoundError,
  RangeNotSatisfiableError,
  type ByteRange,
  type GetResult,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  type Storage,
} from './storage.js';
import { exactLength, Meter } from './streams.js';

export interface S3StorageOptions {
  /** undefined: AWS's endpoint for the region. */
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  cdnBaseUrl?: string | undefined;
  /** Multipart part size; S3's minimum is 5 MiB. Default 8 MiB. */
  partSize?: number;
  /** Parts in flight at once. Default 2. */
  queueSize?: number;
  /** Known sizes above this use multipart. Default 64 MiB. */
  multipartThreshold?: number;
  /** Receives the SDK's warnings and errors; without it the SDK writes some of them to the console. */
  logger?: Logger | undefined;
}

/** The SDK's logger shape, fed into ours. Its info/debug lines (every request's input) are dropped. */
function sdkLogger(logger: Logger) {
  const forward =
    (level: 'warn' | 'error') =>
    (...content: unknown[]) =>
      logger[level]({ component: 's3', sdk: content.length === 1 ? content[0] : content }, 'S3 client');
  const drop = () => undefined;
  return { trace: drop, debug: drop, info: drop, warn: forward('warn'), error: forward('error') };
}

const MiB = 1024 * 1024;

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(err) === 404;
}

/** "bytes 0-9/100" -> { start: 0, end: 9, total: 100 } */
function parseContentRange(header: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : undefined;
}

export class S3Storage implements Storage {
  readonly provider = 's3' as const;
  readonly bucket: string;
  readonly region: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly multipartThreshold: number;

  constructor(private readonly opts: S3StorageOptions) {
    this.bucket = opts.bucket;
    this.region = opts.region;
    this.partSize = opts.partSize ?? 8 * MiB;
    this.queueSize = opts.queueSize ?? 2;
    this.multipartThreshold = opts.multipartThreshold ?? 64 * MiB;
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      logger: opts.logger ? sdkLogger(opts.logger) : undefined,
      // SDK ≥ 3.729 defaults to WHEN_SUPPORTED: streamed bodies are sent with aws-chunked framing and a
      // trailing CRC32. Servers that do not decode that framing (s3rver, older MinIO/Ceph, several
      // S3-compatible clouds) store the frame headers inside the object. We hash every byte ourselves.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, source: Readable | string, opts: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    let size = opts.size;
    // stat before opening: a missing file fails here, not as an unlistened stream error.
    if (size === undefined && typeof source === 'string') size = (await fs.stat(source)).size;
    const input = typeof source === 'string' ? createReadStream(source) : source;
    const meter = new Meter(key, size);
    // The SDK pipes a stream body into its HTTP request, and pipe() does not end the request when the
    // body fails: the request would hang until the server times it out (S3: ~20 s, then RequestTimeout).
    // So a source error (or a size mismatch from the Meter) aborts the request, and is what we throw:
    // Upload may otherwise surface the error of its AbortMultipartUpload instead.
    const abort = new AbortController();
    let sourceError: Error | undefined;
    pipeline(input, meter, (err) => {
      if (!err || (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      sourceError = err;
      abort.abort(err);
    });
    const params = { Bucket: this.bucket, Key: key, Body: meter, ContentType: opts.contentType ?? contentTypeOf(key) };
    try {
      if (size !== undefined && size <= this.multipartThreshold) {
        await this.client.send(new PutObjectCommand({ ...params, ContentLength: size }), { abortSignal: abort.signal });
      } else {
        const upload = new Upload({
          client: this.client,
          params,
          partSize: this.partSize,
          queueSize: this.queueSize,
          leavePartsOnError: false,
          abortController: abort,
        });
        await upload.done();
      }
      return { size: meter.bytes, sha256: await meter.finalSha256() };
    } catch (err) {
      if (!meter.destroyed) meter.destroy();
      throw sourceError ?? err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    validateKey(key);
    if (range) checkRange(range);
    let res: GetObjectCommandOutput;
    try {
      res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key);
      if (range && ((err as Error).name === 'InvalidRange' || status(err) === 416)) {
        throw new RangeNotSatisfiableError(key, range, (await this.stat(key)).size);
      }
      throw err;
    }
    const body = res.Body as Readable;
    const contentType = res.ContentType;
    if (!range) {
      const size = res.ContentLength ?? 0;
      return { body: exactLength(body, size, key), size, contentType };
    }
    const cr = parseContentRange(res.ContentRange);
    // Serve exactly what was asked or fail: no Content-Range means the server sent the whole object,
    // and a range other than the one asked (some S3 clones mishandle "bytes=0-0") is the wrong bytes.
    if (!cr || cr.start !== range.start || cr.start >= cr.total || cr.end !== Math.min(range.end, cr.total - 1)) {
      body.destroy();
      if (cr && cr.start >= cr.total) throw new RangeNotSatisfiableError(key, range, cr.total); // empty object
      const answered = res.ContentRange ?? '(none)';
      const asked = `${range.start}-${range.end}`;
      throw new Error(`GET "${key}" with Range ${asked}: the server answered Content-Range ${answered}`);
    }
    const served = { start: cr.start, end: cr.end };
    return { body: exactLength(body, cr.end - cr.start + 1, key), size: cr.total, contentType, range: served };
  }

  async stat(key: string): Promise<ObjectInfo> {
    validateKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        size: res.ContentLength ?? 0,
        lastModified: res.LastModified ?? new Date(0),
        contentType: res.ContentType,
      };
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key);
      throw err;
    }
  }

  exists(key: string): Promise<boolean> {
    return existsViaStat(this, key);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    try {
      // S3 answers 204 for a missing key too; the catch is for servers that say 404.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
    }
  }

  publicUrl(key: string): string | undefined {
    return publicUrlOf(this.opts.cdnBaseUrl, key);
  }

  /** Signed locally (no request): SigV4 query parameters with X-Amz-Expires = expiresInSeconds. */
  presignGet(key: string, expiresInSeconds: number, contentType?: string): Promise<string> {
    validateKey(key);
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentType: contentType });
    return getSignedUrl(this.client, command, { expiresIn: expiresInSeconds });
  }
}
