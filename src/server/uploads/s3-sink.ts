/**
 * The s3 provider's upload sink: one S3 multipart upload per tus upload, under the recording's final
 * key, so finishing is one CompleteMultipartUpload.
 *
 * - A request whose Content-Length is known streams its bytes straight into parts of PART_SIZE (no
 *   buffering); without one, a part is gathered in memory first.
 * - Bytes that do not fill a part (a live take sends slices of a few KB; S3 parts other than the last
 *   must be ≥ 5 MiB) are kept as chunks in PostgreSQL, committed with the offset, and become the start
 *   of the next part, or the last part when the upload is complete.
 * - The part list lives in PostgreSQL (upload_parts), not in ListParts. A kill between UploadPart and
 *   its commit leaves the part unrecorded and the offset where it was: the client re-sends those bytes
 *   and the same part number is uploaded again, replacing it (S3 keeps the last upload of a number).
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Logger } from '../logger.js';
import { contentTypeOf } from '../storage/keys.js';
import type { S3Storage } from '../storage/s3.js';
import { commitStep, storageKeyOf, type UploadSink, type WriteContext } from './upload-sink.js';
import type { UploadRow, UploadsRepository } from './uploads.repository.js';

export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The request ended before the bytes a streamed part was promised (client gone, or a short body). */
class ShortRequestError extends Error {
  constructor() {
    super('the request ended before the part was complete');
    this.name = 'ShortRequestError';
  }
}

/** Where a request's write stands: its offset, bytes waiting in PostgreSQL, the next part, the commits. */
interface PartState {
  /** The offset once the parts in flight are committed. */
  offset: number;
  pendingSize: number;
  partNumber: number;
  /** The commits of the parts in flight, in order. */
  commits: Promise<void>;
}

const isNoSuchUpload = (err: unknown) => (err as Error)?.name === 'NoSuchUpload';

export class S3UploadSink implements UploadSink {
  private readonly creating = new WeakMap<WriteContext, Promise<string>>();

  constructor(
    private readonly storage: S3Storage,
    private readonly repo: UploadsRepository,
    private readonly partSize = 8 * 1024 * 1024,
    private readonly logger?: Logger,
  ) {
    if (partSize < MIN_PART_SIZE) throw new Error(`S3 parts must be at least ${MIN_PART_SIZE} bytes`);
  }

  async head(row: UploadRow, size: number): Promise<Buffer> {
    // Before the sniff decided, every byte is still a chunk (a part is far larger than the window).
    return Buffer.concat(await this.repo.chunks(row.id)).subarray(0, size);
  }

  async write(ctx: WriteContext): Promise<number> {
    const state: PartState = {
      offset: Number(ctx.row.upload_offset),
      pendingSize: await this.repo.pendingBytes(ctx.row.id),
      partNumber: (await this.repo.parts(ctx.row.id)).length + 1,
      commits: Promise.resolve(),
    };
    try {
      while (await this.step(ctx, state));
      await state.commits;
    } catch (err) {
      // Parts stored before the failure still count (each commit checks its own offset).
      await state.commits.catch(() => undefined);
      // The client went away mid-part: what was committed stays; the client resumes from there.
      if (!(err instanceof ShortRequestError)) throw err;
    }
    return Number(ctx.row.upload_offset);
  }

  /**
   * Starts one part, or keeps the request's last bytes as a chunk; false once the request is done. A part
   * is committed (in order) when S3 answers; the next one starts as soon as this one's bytes are all read,
   * so two parts are in flight and the request is never idle while S3 answers.
   */
  private async step(ctx: WriteContext, state: PartState): Promise<boolean> {
    const length = ctx.row.upload_length === null ? undefined : Number(ctx.row.upload_length);
    const next = await this.nextPart(ctx, state, length);
    if (!next) return false;
    const { take, body } = next;
    const size = state.pendingSize + take;
    // The pending chunks are read only when they become a part: a live take's slices do not reload them.
    const prefix = state.pendingSize ? await this.repo.chunks(ctx.row.id) : [];
    const upload = this.uploadPart(ctx, state.partNumber, prefix, size, body.readable);
    upload.catch(() => undefined); // awaited by the commit chain; a failure also ends the race below
    await Promise.race([body.consumed, upload]);
    const stateAtEnd = ctx.bytes.hashState();
    const step = { from: state.offset, to: state.offset + take, clearChunks: state.pendingSize > 0 };
    const number = state.partNumber;
    const previous = state.commits;
    state.commits = previous.then(async () => {
      const part = { number, etag: await upload, size };
      await commitStep(this.repo, ctx, { ...step, part }, stateAtEnd);
    });
    state.offset += take;
    state.partNumber++;
    state.pendingSize = 0;
    await previous; // at most two parts in flight
    return length === undefined || state.offset !== length;
  }

  /** What the next part is made of, or undefined when the request's bytes were kept as a chunk (or none). */
  private async nextPart(ctx: WriteContext, state: PartState, length: number | undefined) {
    const offset = state.offset;
    const requestLeft = ctx.expectedBytes === undefined ? undefined : ctx.expectedBytes - ctx.bytes.received;
    const endsUpload = requestLeft !== undefined && length !== undefined && offset + requestLeft === length;
    if (requestLeft !== undefined && (state.pendingSize + requestLeft >= this.partSize || endsUpload)) {
      // Known bytes: a full part, or the last one, streamed from the request as it arrives.
      const take = Math.min(this.partSize - state.pendingSize, requestLeft);
      if (take + state.pendingSize === 0) return undefined;
      return { take, body: this.streamed(ctx, take) };
    }
    const rest = await ctx.bytes.readFull(this.partSize - state.pendingSize);
    const filled = state.pendingSize + rest.length === this.partSize;
    const last = length !== undefined && offset + rest.length === length && state.pendingSize + rest.length > 0;
    if (!filled && !last) {
      await state.commits; // the chunk follows the parts in flight
      if (rest.length) await commitStep(this.repo, ctx, { from: offset, to: offset + rest.length, chunk: rest });
      return undefined;
    }
    return { take: rest.length, body: { readable: rest, consumed: Promise.resolve() } };
  }

  /** Exactly `size` bytes of the request, or a ShortRequestError when it ends first; `consumed` once read. */
  private streamed(ctx: WriteContext, size: number): { readable: Readable; consumed: Promise<void> } {
    let consumed!: () => void;
    const done = new Promise<void>((resolve) => {
      consumed = resolve;
    });
    const readable = Readable.from(
      (async function* () {
        for (let left = size; left > 0; ) {
          const piece = await ctx.bytes.read(Math.min(left, 256 * 1024));
          if (!piece.length) throw new ShortRequestError();
          left -= piece.length;
          yield piece;
        }
        consumed();
      })(),
      // Read ahead one piece, not sixteen: memory per upload stays about a piece, whatever S3's pace.
      { highWaterMark: 1 },
    );
    return { readable, consumed: done };
  }

  private async uploadPart(
    ctx: WriteContext,
    partNumber: number,
    prefix: Buffer[],
    size: number,
    rest: Readable | Buffer,
  ): Promise<string> {
    // Two parts may start before the first has created the multipart upload: they share one creation.
    let creating = this.creating.get(ctx);
    if (!creating) {
      creating = this.multipartOf(ctx);
      this.creating.set(ctx, creating);
    }
    const uploadId = await creating;
    // Bytes already in memory go as a Buffer, which the SDK can send again when it retries (a kept-alive
    // connection the server closed meanwhile); a stream from the request cannot be replayed.
    const body = Buffer.isBuffer(rest)
      ? Buffer.concat([...prefix, rest])
      : prefix.length
        ? Readable.from(concatStreams(prefix, rest))
        : rest;
    // A body that fails (the request ended) must abort the S3 request too: pipe() would leave it hanging.
    const abort = new AbortController();
    let bodyError: Error | undefined;
    if (!Buffer.isBuffer(body)) {
      body.once('error', (err) => {
        bodyError = err;
        abort.abort(err);
      });
    }
    try {
      const res = await this.storage.client.send(
        new UploadPartCommand({
          Bucket: this.storage.bucket,
          Key: ctx.row.storage_key!,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: size,
        }),
        { abortSignal: abort.signal },
      );
      if (!res.ETag) throw new Error(`UploadPart ${partNumber} of upload ${ctx.row.id}: no ETag in the answer`);
      return res.ETag;
    } catch (err) {
      throw bodyError ?? err;
    }
  }

  /** The upload's multipart id, created (under its final key) with its first part. */
  private async multipartOf(ctx: WriteContext): Promise<string> {
    const { row } = ctx;
    if (row.multipart_id) return row.multipart_id;
    if (!row.storage_key) {
      const decision = ctx.bytes.decision;
      if (!decision) throw new Error(`upload ${row.id}: a part before the sniff decided`);
      row.storage_key = storageKeyOf(row, decision.ext);
    }
    const created = await this.storage.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.storage.bucket,
        Key: row.storage_key,
        ContentType: ctx.bytes.decision?.mime ?? row.media_type ?? contentTypeOf(row.storage_key),
      }),
    );
    await this.repo.setMultipart(row.id, ctx.leaseToken, created.UploadId!, row.storage_key);
    row.multipart_id = created.UploadId!;
    return row.multipart_id;
  }

  async assemble(row: UploadRow): Promise<void> {
    const parts = await this.repo.parts(row.id);
    try {
      await this.storage.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.storage.bucket,
          Key: row.storage_key!,
          UploadId: row.multipart_id!,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      // Completed already (a finish that crashed after Complete, or two racing): S3 answers NoSuchUpload,
      // s3rver an internal error, and the object is there, whole. The key is the reserved recording's:
      // nothing else puts an object there.
      if (!(await this.isWhole(row))) throw err;
    }
  }

  private async isWhole(row: UploadRow): Promise<boolean> {
    try {
      return (await this.storage.stat(row.storage_key!)).size === Number(row.upload_offset);
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return false;
      throw err;
    }
  }

  async discard(row: UploadRow): Promise<void> {
    if (row.multipart_id && row.storage_key) {
      try {
        await this.storage.client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.storage.bucket,
            Key: row.storage_key,
            UploadId: row.multipart_id,
          }),
        );
      } catch (err) {
        // Some S3-compatible servers cannot abort (s3rver answers 405): their parts wait for the bucket's
        // AbortIncompleteMultipartUpload lifecycle rule (docs/storage.md). Our record of them goes now.
        if (!isNoSuchUpload(err)) {
          const why = (err as Error).message;
          this.logger?.warn({ uploadId: row.id, err: why }, 'multipart upload not aborted; left to the lifecycle rule');
        }
      }
    }
    await this.repo.dropProgress(row.id);
  }
}

async function* concatStreams(prefix: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* prefix;
  for await (const chunk of rest) yield chunk as Buffer;
}
