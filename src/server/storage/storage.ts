/**
 * The one interface to recordings' media, whatever holds them (a directory under DATA_DIR, or an S3
 * bucket). Everything above this layer deals in keys (keys.ts) and streams, never in paths or URLs of
 * a provider, so a recording row's (storage_provider, storage_bucket, storage_region, storage_key)
 * is all it takes to find its bytes again.
 */
import type { Readable } from 'node:stream';
import type { StorageProviderName } from '../config.js';

export type { StorageProviderName };

export interface PutOptions {
  /** Stored with the object by s3; local derives it from the key's extension (see contentTypeOf). */
  contentType?: string;
  /**
   * Bytes the caller promises. When given, a source that yields more or fewer fails the put, and the
   * object under the key stays what it was: a truncated upload never replaces a good one.
   */
  size?: number;
}

export interface PutResult {
  size: number;
  /** Hex SHA-256 of the bytes stored, computed while streaming (for the row, and to compare later). */
  sha256: string;
}

/** Inclusive byte positions, as in an HTTP Range header and fs.createReadStream. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetResult {
  /** The object's bytes, or the range's. Errors if fewer bytes arrive than announced. */
  body: Readable;
  /** Size of the whole object, not of the body (that is range.end - range.start + 1). */
  size: number;
  contentType?: string;
  /** Present when a range was asked for: what is served, with end clamped to size - 1. */
  range?: ByteRange;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  contentType?: string;
}

export interface Storage {
  readonly provider: StorageProviderName;
  /** The s3 bucket and region (the row's storage_bucket, storage_region); undefined for local. */
  readonly bucket?: string;
  readonly region?: string;
  /** A source that is a string is a file path. Atomic: readers see the old object or the new one. */
  put(key: string, source: Readable | string, opts?: PutOptions): Promise<PutResult>;
  /** Throws NotFoundError; RangeNotSatisfiableError when range.start is past the end. */
  get(key: string, range?: ByteRange): Promise<GetResult>;
  /** Throws NotFoundError. */
  stat(key: string): Promise<ObjectInfo>;
  exists(key: string): Promise<boolean>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with prefix ('' for all), in no promised order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * CDN_BASE_URL + key when this is the primary storage and a CDN is configured, else undefined. Unsigned:
   * never hand it to a client; media redirects are signed and expire (media-urls.ts).
   */
  publicUrl(key: string): string | undefined;
  /**
   * s3 only: a presigned GET of the key that stops working after expiresInSeconds. contentType, when
   * given, is what the response says (the row's type can be more exact than the stored object's).
   */
  presignGet?(key: string, expiresInSeconds: number, contentType?: string): Promise<string>;
  /**
   * Removes leftovers of puts that never finished (a crash mid-put) last written before olderThan;
   * returns how many. Only local has such leftovers to find; on s3 they are incomplete multipart
   * uploads, which the bucket's AbortIncompleteMultipartUpload lifecycle rule removes (docs/storage.md).
   */
  removeIncomplete?(olderThan: Date): Promise<number>;
}

/** The key names no object. Both providers throw it, so callers map it to a 404 once. */
export class NotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no object under key "${key}"`);
    this.name = 'NotFoundError';
  }
}

/** The range starts at or past the object's end (HTTP 416). */
export class RangeNotSatisfiableError extends Error {
  constructor(
    readonly key: string,
    readonly range: ByteRange,
    readonly size: number,
  ) {
    super(`range ${range.start}-${range.end} of "${key}" is not satisfiable (object size ${size})`);
    this.name = 'RangeNotSatisfiableError';
  }
}

/** A put whose source yielded a different number of bytes than opts.size promised. */
export class SizeMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`put "${key}": source had ${actual} bytes, expected ${expected}; the object was left unchanged`);
    this.name = 'SizeMismatchError';
  }
}

/** Rejects malformed ranges before any I/O; end past the object is fine (clamped, as HTTP does). */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end} (accepted: whole numbers, 0 <= start <= end)`);
  }
}

/** exists() for a provider whose stat() throws NotFoundError for a missing key. */
export async function existsViaStat(storage: Pick<Storage, 'stat'>, key: string): Promise<boolean> {
  try {
    await storage.stat(key);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}
