/**
 * The tus DataStore behind /api/uploads. It keeps nothing in this process: an upload's state is its
 * `uploads` row (offset, length, hash state, where its bytes go), and its bytes are in the storage that
 * will hold the recording (a sink per provider). Any app server can therefore take any request.
 */
import { DataStore, ERRORS, Upload } from '@tus/utils';
import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { SNIFF_BYTES } from '../media/sniff.js';
import { nativeUploadHash, openUploadHash, type UploadHash } from './hash-worker.js';
import { UnsupportedMediaError, UploadBytes } from './upload-bytes.js';
import type { UploadLeaseLocker } from './upload-lease.js';
import { type Sinks, sinkOf, type UploadSink } from './upload-sink.js';

export type { Sinks };
import { ProgressConflictError, type UploadRow, type UploadsRepository } from './uploads.repository.js';

/** An upload nobody finished within this time is abandoned (housekeeping aborts it). One week. */
export const UPLOAD_EXPIRY_MS = 7 * 86_400_000;

/** tus-shaped error with our JSON body (hook and store errors alike reach the client this way). */
export function tusBody(status: number, code: string, message: string) {
  return { status_code: status, body: JSON.stringify({ code, message }) };
}

export class RecordingUploadStore extends DataStore {
  constructor(
    private readonly repo: UploadsRepository,
    private readonly locker: UploadLeaseLocker,
    private readonly sinks: Sinks,
    /** Content-Length of the request now writing each upload (set by the HTTP handler). */
    private readonly requestSizes: Map<string, number>,
    private readonly logger: Logger,
  ) {
    super();
    this.extensions = ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration'];
  }

  sinkOf(row: UploadRow): UploadSink {
    return sinkOf(this.sinks, row);
  }

  /** The row is written by the creation hook (it knows the user); nothing more to do here. */
  override async create(upload: Upload): Promise<Upload> {
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const row = await this.repo.get(id);
    if (!row) throw ERRORS.FILE_NOT_FOUND;
    if (row.status === 'failed' && row.error) throw tusBody(415, 'UNSUPPORTED_MEDIA_TYPE', row.error);
    if (row.status === 'failed' || row.status === 'terminated') throw ERRORS.FILE_NO_LONGER_EXISTS;
    return new Upload({
      id,
      size: row.upload_length === null ? undefined : Number(row.upload_length),
      offset: Number(row.upload_offset),
      metadata: row.metadata,
      creation_date: row.created_at.toISOString(),
    });
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    await this.repo.declareLength(id, length);
  }

  /** Termination (DELETE): what was stored goes, and the upload can never become a recording. */
  override async remove(id: string): Promise<void> {
    const row = await this.repo.get(id);
    if (!row) throw ERRORS.FILE_NOT_FOUND;
    if (row.status !== 'uploading') return;
    await this.repo.setStatus(id, 'terminated');
    await this.sinkOf(row).discard(row);
  }

  override async write(source: Readable, id: string, offset: number): Promise<number> {
    const leaseToken = this.locker.tokenOf(id);
    const row = await this.repo.get(id);
    if (!row || !leaseToken) throw ERRORS.FILE_NOT_FOUND;
    if (row.status !== 'uploading') throw ERRORS.FILE_NO_LONGER_EXISTS;
    if (Number(row.upload_offset) !== offset) throw ERRORS.INVALID_OFFSET;
    const sink = this.sinkOf(row);
    const sniffer = {
      decided: row.media_type !== null,
      head: row.media_type ? Buffer.alloc(0) : await sink.head(row, Math.min(offset, SNIFF_BYTES)),
      completesAt: row.upload_length === null ? undefined : Number(row.upload_length),
    };
    const hash = await this.hashFor(row, sink);
    const bytes = new UploadBytes(source, hash, sniffer);
    try {
      await bytes.decide();
      return await sink.write({ row, leaseToken, bytes, expectedBytes: this.requestSizes.get(id) });
    } catch (err) {
      throw await this.writeFailure(row, sink, err);
    } finally {
      hash.close();
    }
  }

  /**
   * How this request hashes its bytes: natively when it starts at the first byte of an upload whose sink
   * can read its bytes back (local), else with hash-wasm from the saved state, rebuilt from the stored
   * bytes when a native request before this one left none.
   */
  private async hashFor(row: UploadRow, sink: UploadSink): Promise<UploadHash> {
    const offset = Number(row.upload_offset);
    if (offset === 0 && sink.readBack) return nativeUploadHash();
    const hash = openUploadHash(row.hash_state);
    if (row.hash_state || offset === 0) return hash;
    if (!sink.readBack) throw new Error(`upload ${row.id} has no hash state to resume from`);
    for await (const chunk of await sink.readBack(row, offset)) await hash.update(chunk as Buffer);
    return hash;
  }

  /** What a failed write answers: 415 once and for good, 409 for a lost race, 503 for storage trouble. */
  private async writeFailure(row: UploadRow, sink: UploadSink, err: unknown) {
    if (err instanceof UnsupportedMediaError) {
      await this.repo.reject(row.id, err.message);
      await sink.discard(row).catch((e: Error) => this.logger.warn({ uploadId: row.id, err: e.message }, 'discard'));
      this.logger.info({ uploadId: row.id, detected: err.detected }, 'upload refused: not media we accept');
      return tusBody(415, 'UNSUPPORTED_MEDIA_TYPE', err.message);
    }
    if (err instanceof ProgressConflictError) return ERRORS.INVALID_OFFSET;
    if (err instanceof AppError || (err as { status_code?: number }).status_code) return err;
    this.logger.warn({ uploadId: row.id, err: (err as Error).message }, 'upload bytes could not be stored');
    return new AppError('STORAGE_UNAVAILABLE');
  }

  override getExpiration(): number {
    return UPLOAD_EXPIRY_MS;
  }
}
