/**
 * An S3 server for tests: the npm package s3rver on 127.0.0.1, a free port, a temp directory and one
 * bucket. stop() closes it and removes the directory.
 *
 * s3rver's file store is not faithful to S3 in two ways that matter to a storage contract, so we
 * replace its two write methods (store internals only; the HTTP API, signature checks and XML are
 * s3rver's own):
 * - it answers a PUT before its write stream has flushed (it resolves on the hashing Transform's
 *   'finish'), so a GET right after a PUT, or a CompleteMultipartUpload reading the parts, can read
 *   a short file;
 * - it truncates the object file in place, so a GET streaming the old object reads a mix of old and
 *   new bytes, where S3 keeps serving the version the GET started with.
 * Ours write to a temp file, wait until it is closed, then rename it into place, as S3 behaves.
 * And one read bug: it takes `options.end || Infinity` as the range end, so "bytes=0-0" serves the whole
 * object instead of its first byte; our getObject serves that one range itself.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { freePort } from '../../src/server/db/embedded.js';

const require = createRequire(import.meta.url);

interface S3rverObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, string>;
}
interface S3rverObjectModel extends S3rverObject {
  range?: { start: number; end: number };
}
interface FilesystemStore {
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<S3rverObjectModel | null>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: string,
    content: Readable,
  ): Promise<{ size: number; md5: string }>;
}
interface S3rverInstance {
  middleware: unknown[];
  store: FilesystemStore;
  context: { store: FilesystemStore };
  httpServer?: import('node:http').Server;
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const S3rver = require('s3rver') as S3rverClass;
const FilesystemStoreClass = require('s3rver/lib/stores/filesystem') as new (dir: string) => FilesystemStore;
const S3ObjectModel = require('s3rver/lib/models/object') as new (
  bucket: string,
  key: string,
  content: Readable | null,
  metadata: Record<string, string>,
) => S3rverObjectModel;

/** s3rver accepts only these credentials (its dummy account). */
export const S3RVER_ACCESS_KEY_ID = 'S3RVER';
export const S3RVER_SECRET_ACCESS_KEY = 'S3RVER';

/** Streams content into `file` via a temp file and a rename; resolves once the data is closed on disk. */
async function writeAtomically(file: string, content: Readable | Buffer): Promise<{ size: number; md5: string }> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  const md5 = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      md5.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    if (Buffer.isBuffer(content)) {
      meter.end(content);
      await pipeline(meter, fs.createWriteStream(tmp));
    } else {
      await pipeline(content, meter, fs.createWriteStream(tmp));
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { size, md5: md5.digest('hex') };
}

class AtomicFilesystemStore extends FilesystemStoreClass {
  override async getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3rverObjectModel | null> {
    if (options?.end !== 0 || (options.start ?? 0) !== 0) return super.getObject(bucket, key, options);
    let metadata: Record<string, string>;
    try {
      metadata = await this.getMetadata(bucket, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    // An empty object has no byte 0: no content, and the controller answers InvalidRange (416).
    const file = this.getResourcePath(bucket, key, 'object');
    const content = Number(metadata['content-length']) > 0 ? fs.createReadStream(file, { start: 0, end: 0 }) : null;
    const object = new S3ObjectModel(bucket, key, content, metadata);
    object.range = { start: 0, end: 0 };
    return object;
  }

  override async putObject(object: S3rverObject): Promise<{ size: number; md5: string }> {
    const result = await writeAtomically(this.getResourcePath(object.bucket, object.key, 'object'), object.content);
    await this.putMetadata(object.bucket, object.key, object.metadata, result.md5);
    return result;
  }

  override async putPart(
    bucket: string,
    uploadId: string,
    partNumber: string,
    content: Readable,
  ): Promise<{ size: number; md5: string }> {
    const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, partNumber.toString());
    const result = await writeAtomically(partPath, content);
    fs.writeFileSync(`${partPath}.md5`, result.md5);
    return result;
  }
}

/** The parts of a multipart upload as s3rver keeps them (a directory per UploadId). */
export function partsDirectory(store: FilesystemStore, bucket: string, uploadId: string): string {
  return path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
}

type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}

/**
 * s3rver has no AbortMultipartUpload (it answers 405); S3 deletes the upload's parts, and later calls
 * with its UploadId answer NoSuchUpload. This does the same to s3rver's parts directory.
 */
function abortMultipart(store: FilesystemStore): KoaMiddleware {
  return async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string') return next();
    const dir = partsDirectory(store, ctx.path.split('/')[1]!, uploadId);
    if (!fs.existsSync(dir)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code></Error>';
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
  };
}

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps its files (bucket/<key>._S3rver_object …), for tests that look behind the API. */
  directory: string;
  /** Whether s3rver still holds parts of this multipart upload (not completed, not aborted). */
  hasParts(uploadId: string): boolean;
  /** Takes the server away (open connections cut), keeping its data: S3 unreachable. */
  pause(): Promise<void>;
  /** Brings it back on the same port with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3rver(bucket = 'recorder-test'): Promise<S3rverHandle> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-s3rver-'));
  const port = await freePort();
  const create = () => {
    const created = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      // Path-style requests only (S3_FORCE_PATH_STYLE): no bucket-in-hostname guessing.
      vhostBuckets: false,
      configureBuckets: [{ name: bucket, configs: [] }],
    });
    const store = new AtomicFilesystemStore(directory);
    created.store = store;
    created.context.store = store;
    created.middleware.unshift(abortMultipart(store));
    return created;
  };
  let server = create();
  let stopped = false;
  let running = true;
  const close = async () => {
    if (!running) return;
    running = false;
    // A request a test abandoned mid-body would otherwise hold close() until the server times it out.
    server.httpServer?.closeAllConnections();
    await server.close();
  };
  try {
    await server.run();
  } catch (err) {
    fs.rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: S3RVER_ACCESS_KEY_ID,
    secretAccessKey: S3RVER_SECRET_ACCESS_KEY,
    directory,
    hasParts: (uploadId) => fs.existsSync(partsDirectory(server.store, bucket, uploadId)),
    pause: close,
    async resume() {
      server = create();
      await server.run();
      running = true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await close();
      } finally {
        fs.rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}
