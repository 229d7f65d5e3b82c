/** Stream pieces both providers share: measuring what is written, checking what is read. */
import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { SizeMismatchError } from './storage.js';

/**
 * Passes bytes through, counting them and hashing them (SHA-256). With an expected size it fails as
 * soon as the source overruns it, and at the end when it fell short; failing inside the stream is what
 * makes the provider abandon the write instead of storing a wrong object.
 */
export class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private digest: string | undefined;

  constructor(
    private readonly key: string,
    private readonly expected?: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) {
      cb(new SizeMismatchError(this.key, this.expected, this.bytes));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      cb(new SizeMismatchError(this.key, this.expected, this.bytes));
      return;
    }
    this.digest = this.hash.digest('hex');
    cb();
  }

  /**
   * The digest once the source has ended. A consumer can take the last byte before that (S3 answers a PUT
   * with a Content-Length as soon as the last byte arrives), so the end is awaited, and a short source
   * still fails here with its SizeMismatchError.
   */
  async finalSha256(): Promise<string> {
    if (this.digest === undefined) await finished(this, { readable: false });
    return this.sha256();
  }

  /** Available once the stream has ended. */
  sha256(): string {
    if (this.digest === undefined) throw new Error('Meter.sha256() called before the stream ended');
    return this.digest;
  }
}

/**
 * The body a get returns: exactly `expected` bytes or an error. A connection cut mid-body, or a file
 * shortened under us, would otherwise look like a clean, shorter object to whoever reads it.
 * Destroying the returned stream (a client went away) destroys the source: the fd or socket is freed.
 */
export function exactLength(source: Readable, expected: number, key: string): Readable {
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > expected) cb(new Error(`read of "${key}" returned more than the ${expected} bytes announced`));
      else cb(null, chunk);
    },
    flush(cb) {
      if (seen !== expected) cb(new Error(`read of "${key}" ended after ${seen} of ${expected} bytes`));
      else cb();
    },
  });
  // pipeline forwards a source error to `check` (destroying it with that error) and the other way round.
  pipeline(source, check, () => undefined);
  return check;
}
