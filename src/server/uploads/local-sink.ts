/**
 * The local provider's upload sink: an upload is one file, DATA_DIR/media/.uploads/<id>, on the same
 * file system as the media it will become, so finishing is a rename (LocalStorage.adopt).
 *
 * Each request writes at the committed offset, fdatasyncs, then commits the new offset: a crash before
 * the commit leaves bytes past the committed offset, which the next request overwrites (and the file is
 * cut to the committed length). Large requests commit every CHECKPOINT bytes, so a kill mid-way loses
 * at most that much of the client's progress, never acknowledged bytes.
 */
import { createReadStream } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LocalStorage } from '../storage/local.js';
import { commitStep, type UploadSink, type WriteContext } from './upload-sink.js';
import type { UploadRow, UploadsRepository } from './uploads.repository.js';

const CHECKPOINT = 64 * 1024 * 1024;
/** Bytes gathered (as the pieces they arrived in) per write: fewer, larger writes. */
const PIECE = 1024 * 1024;

const isCode = (err: unknown, code: string) => (err as NodeJS.ErrnoException)?.code === code;

export class LocalUploadSink implements UploadSink {
  constructor(
    private readonly storage: LocalStorage,
    private readonly repo: UploadsRepository,
  ) {}

  async head(row: UploadRow, size: number): Promise<Buffer> {
    if (size === 0) return Buffer.alloc(0);
    const fh = await fs.open(this.storage.uploadPath(row.id), 'r');
    try {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async write(ctx: WriteContext): Promise<number> {
    const file = this.storage.uploadPath(ctx.row.id);
    const start = Number(ctx.row.upload_offset);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // The first request creates the file; a later one finding none means its bytes are gone (410).
    const fh = await fs.open(file, start === 0 ? 'w' : 'r+');
    const run = new LocalWrite(fh, ctx, this.repo, start);
    try {
      await run.copy();
      await run.checkpoint();
      // Bytes a crashed earlier request wrote past its commit must not outlive this one.
      await fh.truncate(run.position);
    } catch (err) {
      // A client that went away mid-request keeps what arrived; a refused or conflicting write keeps nothing.
      if (isSourceError(err)) await run.checkpoint().catch(() => undefined);
      throw err;
    } finally {
      await run.settle();
      await fh.close();
    }
    return run.committed;
  }

  async assemble(row: UploadRow): Promise<void> {
    const file = this.storage.uploadPath(row.id);
    try {
      await this.storage.adopt(file, row.storage_key!);
    } catch (err) {
      // Renamed already (a finish that crashed after the rename): the object is there, whole.
      if (!isCode(err, 'ENOENT')) throw err;
      const stat = await this.storage.stat(row.storage_key!);
      if (stat.size !== Number(row.upload_offset)) throw err;
    }
  }

  async readBack(row: UploadRow, end: number): Promise<Readable> {
    const file = this.storage.uploadPath(row.id);
    const assembled = await fs.access(file).then(
      () => false,
      () => Boolean(row.storage_key),
    );
    // After a finish that crashed past its rename, the bytes are the object's.
    if (assembled) return (await this.storage.get(row.storage_key!, { start: 0, end: end - 1 })).body;
    return createReadStream(file, { start: 0, end: end - 1 });
  }

  async discard(row: UploadRow): Promise<void> {
    await fs.rm(this.storage.uploadPath(row.id), { force: true });
  }
}

/**
 * One request's bytes into the upload's file. One write is in flight while the next pieces are read (the
 * network and the disk work at once), and a checkpoint (fdatasync, then the commit) runs beside the copy.
 */
class LocalWrite {
  position: number;
  committed: number;
  private writing: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly ctx: WriteContext,
    private readonly repo: UploadsRepository,
    start: number,
  ) {
    this.position = start;
    this.committed = start;
  }

  async copy(): Promise<void> {
    for (;;) {
      const pieces = await this.ctx.bytes.readPieces(PIECE);
      if (!pieces.length) return;
      await this.writing;
      this.writing = writeAll(this.fh, pieces, this.position);
      this.position += pieces.reduce((n, p) => n + p.length, 0);
      if (this.position - this.committed >= CHECKPOINT && !this.syncing) this.syncing = this.sync();
    }
  }

  /** Makes what was read so far durable and commits it, while the copy goes on. */
  private sync(): Promise<void> {
    const to = this.position;
    const written = this.writing;
    const stateAtEnd = this.ctx.bytes.hashState();
    const done = (async () => {
      await written;
      await this.fh.datasync();
      await commitStep(this.repo, this.ctx, { from: this.committed, to }, stateAtEnd);
      this.committed = to;
      this.syncing = undefined;
    })();
    done.catch(() => undefined); // awaited by checkpoint(), which reports its failure
    return done;
  }

  /** Everything read is written, durable and committed. */
  async checkpoint(): Promise<void> {
    await this.syncing;
    await this.writing;
    if (this.position === this.committed) return;
    await this.fh.datasync();
    await commitStep(this.repo, this.ctx, { from: this.committed, to: this.position });
    this.committed = this.position;
  }

  async settle(): Promise<void> {
    await this.syncing?.catch(() => undefined);
    await this.writing.catch(() => undefined);
  }
}

async function writeAll(fh: FileHandle, pieces: Buffer[], position: number): Promise<void> {
  const { bytesWritten } = await fh.writev(pieces, position);
  const size = pieces.reduce((n, p) => n + p.length, 0);
  if (bytesWritten === size) return;
  // A short writev (rare on a regular file): the rest, piece by piece.
  const rest = Buffer.concat(pieces).subarray(bytesWritten);
  for (let done = 0; done < rest.length; ) {
    const written = await fh.write(rest, done, rest.length - done, position + bytesWritten + done);
    done += written.bytesWritten;
  }
}

/** The request stream failed (client gone), as opposed to our own refusal or a lost lease. */
export function isSourceError(err: unknown): boolean {
  const name = (err as Error)?.name;
  const code = (err as NodeJS.ErrnoException)?.code;
  return name === 'AbortError' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
