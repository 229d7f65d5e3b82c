/**
 * --max-mib-per-s: a token bucket over the byte stream, shared by every worker of a run, so the whole
 * run reads and writes at most that many bytes a second whatever its concurrency. The bucket holds at
 * most one second of tokens: a pause does not earn a burst larger than that.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as wait } from 'node:timers/promises';

const MiB = 1024 * 1024;

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** Takers wait in line, so a large chunk is not starved by small ones. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  static perMiB(mibPerSecond: number | null | undefined): TokenBucket | undefined {
    return mibPerSecond ? new TokenBucket(mibPerSecond * MiB) : undefined;
  }

  /** Resolves once `bytes` may pass. */
  take(bytes: number): Promise<void> {
    const turn = this.queue.then(() => this.waitFor(bytes));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitFor(bytes: number): Promise<void> {
    this.refill();
    // A chunk larger than the bucket goes through once the bucket is full, leaving it in debt.
    const needed = Math.min(bytes, this.bytesPerSecond);
    if (this.tokens < needed) {
      await wait(Math.ceil(((needed - this.tokens) / this.bytesPerSecond) * 1000));
      this.refill();
    }
    this.tokens -= bytes;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }
}

/** Passes bytes through at the bucket's pace. */
export function throttled(bucket: TokenBucket): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      bucket.take(chunk.length).then(
        () => cb(null, chunk),
        (err: Error) => cb(err),
      );
    },
  });
}
