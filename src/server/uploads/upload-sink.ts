/**
 * Where an upload's bytes go while they arrive: one sink per storage provider (local-sink.ts,
 * s3-sink.ts). A sink stores bytes at their final place and commits each step (new offset, hash
 * state, what it stored) in one fenced transaction, so nothing is acknowledged that is not stored.
 */
import type { Readable } from 'node:stream';
import type { StorageProvider } from '../db/schema.js';
import { AppError } from '../errors.js';
import { recordingKey } from '../storage/keys.js';
import type { UploadBytes } from './upload-bytes.js';
import type { Progress, UploadRow, UploadsRepository } from './uploads.repository.js';

export interface WriteContext {
  /** The row as read after the lease was taken. */
  row: UploadRow;
  leaseToken: string;
  bytes: UploadBytes;
  /** This request's Content-Length when it sent one: parts then stream straight through. */
  expectedBytes: number | undefined;
}

export interface UploadSink {
  /** The upload's first `size` bytes (size ≤ its offset): the sniff window from earlier requests. */
  head(row: UploadRow, size: number): Promise<Buffer>;
  /** Stores the request's bytes from row.upload_offset on; resolves to the committed offset. */
  write(ctx: WriteContext): Promise<number>;
  /** Makes the object exist under row.storage_key: a rename or CompleteMultipartUpload. Idempotent. */
  assemble(row: UploadRow): Promise<void>;
  /** Drops whatever the upload stored (aborts the multipart upload, removes the file). Idempotent. */
  discard(row: UploadRow): Promise<void>;
  /**
   * The stored bytes [0, end), where the sink can read them back before the upload is finished (local).
   * Such a sink lets a request from the first byte hash natively: a later request rebuilds the state.
   */
  readBack?(row: UploadRow, end: number): Promise<Readable>;
}

/** Commits one step, adding the sniff's decision (type and final key) the first time it is known. */
export async function commitStep(
  repo: UploadsRepository,
  ctx: WriteContext,
  step: Omit<Progress, 'hashState' | 'mediaType' | 'storageKey' | 'sha256'>,
  /** The state at step.to, taken when its last byte was read (the request may have read on since). */
  stateAtEnd?: Promise<Uint8Array | null>,
): Promise<void> {
  const completes = ctx.row.upload_length !== null && step.to === Number(ctx.row.upload_length);
  const hashState = await (stateAtEnd ?? ctx.bytes.hashState());
  const decision = ctx.row.media_type ? undefined : ctx.bytes.decision;
  // A key fixed earlier (the S3 multipart upload was created under it) stays the key.
  const key = decision ? (ctx.row.storage_key ?? storageKeyOf(ctx.row, decision.ext)) : undefined;
  await repo.commit(ctx.row.id, ctx.leaseToken, {
    ...step,
    hashState,
    sha256: completes ? await ctx.bytes.digest() : undefined,
    mediaType: decision?.mime,
    storageKey: key,
  });
  if (decision) {
    ctx.row.media_type = decision.mime;
    ctx.row.storage_key = key!;
  }
  ctx.row.upload_offset = String(step.to);
}

/** The recording's own key: the upload's bytes are stored where the recording will keep them. */
export function storageKeyOf(row: UploadRow, ext: string): string {
  return recordingKey(row.user_id, row.reserved_recording_id!, ext);
}

export type Sinks = Partial<Record<StorageProvider, UploadSink>>;

/** The sink of the storage an upload's bytes went to (set when it was created). */
export function sinkOf(sinks: Sinks, row: UploadRow): UploadSink {
  const sink = row.storage_provider ? sinks[row.storage_provider] : undefined;
  if (!sink) {
    throw new AppError('STORAGE_UNAVAILABLE', `This upload's storage (${row.storage_provider}) is not configured`);
  }
  return sink;
}
