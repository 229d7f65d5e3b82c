/**
 * All SQL about uploads: the `uploads` row (who, where its bytes go, how far they got, the hash state),
 * the S3 parts and pending chunks beside it (migration 0016), and the lease that lets one request at a
 * time work on an upload whichever server it reached.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DB, StorageProvider, UploadsTable } from '../db/schema.js';

export type UploadRow = Selectable<UploadsTable>;

export interface NewUpload {
  id: string;
  userId: string;
  length: number | undefined;
  metadata: Record<string, string>;
  sessionId: string | null;
  reservedRecordingId: string;
  storage: { provider: StorageProvider; bucket: string | null; region: string | null };
}

/** What one step of a write stores, all in one transaction with the new offset. */
export interface Progress {
  from: number;
  to: number;
  /** null when the bytes were hashed natively (no resumable state). */
  hashState: Uint8Array | null;
  /** The whole upload's digest, with the step that commits its last byte. */
  sha256?: string | undefined;
  /** Set once, when the sniff decided: the type and the final key made from it. */
  mediaType?: string | undefined;
  storageKey?: string | undefined;
  /** Bytes kept in PostgreSQL until they fill an S3 part (s3), starting at `from`. */
  chunk?: Buffer | undefined;
  /** An S3 part just stored; the pending chunks it absorbed are deleted with `clearChunks`. */
  part?: { number: number; etag: string; size: number } | undefined;
  clearChunks?: boolean;
}

/** The upload is no longer where the writer thought: another request moved it, or its lease was lost. */
export class ProgressConflictError extends Error {
  constructor(readonly uploadId: string) {
    super(`upload ${uploadId} moved under this request (offset or lease changed)`);
    this.name = 'ProgressConflictError';
  }
}

export class UploadsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(upload: NewUpload): Promise<void> {
    await this.db
      .insertInto('uploads')
      .values({
        id: upload.id,
        user_id: upload.userId,
        upload_length: upload.length ?? null,
        metadata: JSON.stringify(upload.metadata),
        session_id: upload.sessionId,
        reserved_recording_id: upload.reservedRecordingId,
        storage_provider: upload.storage.provider,
        storage_bucket: upload.storage.bucket,
        storage_region: upload.storage.region,
      })
      .execute();
  }

  /** A recording id taken from the recordings' own sequence: the final storage key is made from it. */
  async reserveRecordingId(): Promise<string> {
    const { rows } = await sql<{
      id: string;
    }>`SELECT nextval(pg_get_serial_sequence('recordings', 'id'))::text AS id`.execute(this.db);
    return rows[0]!.id;
  }

  get(id: string): Promise<UploadRow | undefined> {
    return this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The row locked for the rest of the transaction (finishing serialises on it). */
  getForUpdate(id: string): Promise<UploadRow | undefined> {
    return this.db.selectFrom('uploads').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async ownerOf(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('uploads').select('user_id').where('id', '=', id).executeTakeFirst();
    return row?.user_id;
  }

  async declareLength(id: string, length: number): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ upload_length: length })
      .where('id', '=', id)
      .where('upload_length', 'is', null)
      .execute();
  }

  /**
   * Moves the upload from `from` to `to` with what the step stored, fenced by the offset and the lease:
   * a request that lost either changes nothing and gets ProgressConflictError.
   */
  async commit(id: string, leaseToken: string, progress: Progress): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const moved = await tx
        .updateTable('uploads')
        .set({
          upload_offset: progress.to,
          hash_state: progress.hashState ? Buffer.from(progress.hashState) : null,
          ...(progress.sha256 ? { sha256: progress.sha256 } : {}),
          ...(progress.mediaType ? { media_type: progress.mediaType } : {}),
          ...(progress.storageKey ? { storage_key: progress.storageKey } : {}),
        })
        .where('id', '=', id)
        .where('upload_offset', '=', String(progress.from))
        .where('lock_token', '=', leaseToken)
        .where('status', '=', 'uploading')
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new ProgressConflictError(id);
      if (progress.clearChunks) await tx.deleteFrom('upload_chunks').where('upload_id', '=', id).execute();
      if (progress.part) await this.upsertPart(tx, id, progress.part);
      if (progress.chunk?.length) {
        await tx
          .insertInto('upload_chunks')
          .values({ upload_id: id, start_offset: progress.from, bytes: progress.chunk })
          .execute();
      }
    });
  }

  /** A part number stored again (a resend after a crash) replaces the first: S3 keeps the last one too. */
  private async upsertPart(tx: Kysely<DB>, id: string, part: NonNullable<Progress['part']>): Promise<void> {
    await tx
      .insertInto('upload_parts')
      .values({ upload_id: id, part_number: part.number, etag: part.etag, size: part.size })
      .onConflict((oc) => oc.columns(['upload_id', 'part_number']).doUpdateSet({ etag: part.etag, size: part.size }))
      .execute();
  }

  /** The S3 multipart upload, and the key it was created under (from then on the upload's key). */
  async setMultipart(id: string, leaseToken: string, multipartId: string, storageKey: string): Promise<void> {
    const set = await this.db
      .updateTable('uploads')
      .set({ multipart_id: multipartId, storage_key: storageKey })
      .where('id', '=', id)
      .where('lock_token', '=', leaseToken)
      .where('multipart_id', 'is', null)
      .executeTakeFirst();
    if (Number(set.numUpdatedRows) !== 1) throw new ProgressConflictError(id);
  }

  async chunks(id: string): Promise<Buffer[]> {
    const rows = await this.db
      .selectFrom('upload_chunks')
      .select('bytes')
      .where('upload_id', '=', id)
      .orderBy('start_offset')
      .execute();
    return rows.map((r) => r.bytes);
  }

  async pendingBytes(id: string): Promise<number> {
    const row = await this.db
      .selectFrom('upload_chunks')
      .select(sql<string>`coalesce(sum(octet_length(bytes)), 0)::text`.as('size'))
      .where('upload_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.size);
  }

  async parts(id: string): Promise<{ number: number; etag: string; size: number }[]> {
    const rows = await this.db
      .selectFrom('upload_parts')
      .select(['part_number', 'etag', 'size'])
      .where('upload_id', '=', id)
      .orderBy('part_number')
      .execute();
    return rows.map((r) => ({ number: Number(r.part_number), etag: r.etag, size: Number(r.size) }));
  }

  /** Parts and chunks are only the way to the object: once it exists (or never will), they go. */
  async dropProgress(id: string): Promise<void> {
    await this.db.deleteFrom('upload_parts').where('upload_id', '=', id).execute();
    await this.db.deleteFrom('upload_chunks').where('upload_id', '=', id).execute();
  }

  /** Everything under a prefix no recording will own, via the deletion outbox (drained by a job). */
  async queueDeletion(provider: StorageProvider, bucket: string | null, prefix: string): Promise<void> {
    await this.db
      .insertInto('storage_deletions')
      .values({ storage_provider: provider, storage_bucket: bucket, storage_key: prefix })
      .execute();
  }

  /** Refused for good (the bytes are not media): said again to whoever asks about it later. */
  async reject(id: string, reason: string): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ status: 'failed', error: reason })
      .where('id', '=', id)
      .where('status', '=', 'uploading')
      .execute();
  }

  async setStatus(id: string, status: 'failed' | 'terminated'): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ status })
      .where('id', '=', id)
      .where('status', '=', 'uploading')
      .execute();
  }

  /** Marks the upload done, pointing at its recording (none: a legacy item whose recording was deleted). */
  async complete(id: string, recordingId: string | null, size: number): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({
        status: 'completed',
        recording_id: recordingId,
        upload_offset: size,
        upload_length: size,
        completed_at: new Date(),
        hash_state: null,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Uploads whose bytes all arrived but that are still `uploading`: a crash or failure cut their finish. */
  async completeButUnfinished(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('uploads')
      .select('id')
      .where('status', '=', 'uploading')
      .whereRef('upload_offset', '=', 'upload_length')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Of these recording ids, those reserved by uploads still `uploading`, with their user. */
  async unfinishedReservations(recordingIds: string[]): Promise<Map<string, string>> {
    if (!recordingIds.length) return new Map();
    const rows = await this.db
      .selectFrom('uploads')
      .select(['reserved_recording_id', 'user_id'])
      .where('status', '=', 'uploading')
      .where('reserved_recording_id', 'in', recordingIds)
      .execute();
    return new Map(rows.map((r) => [r.reserved_recording_id!, r.user_id]));
  }

  /** Unfinished uploads created before `before` (abandoned): to be aborted and marked failed. */
  expired(before: Date): Promise<UploadRow[]> {
    return this.db
      .selectFrom('uploads')
      .selectAll()
      .where('status', '=', 'uploading')
      .where('created_at', '<', before)
      .execute();
  }

  /** Uploads that ended without a recording but may still hold bytes in storage (to abort). */
  abandoned(ids: string[]): Promise<UploadRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.selectFrom('uploads').selectAll().where('id', 'in', ids).execute();
  }

  // ---- the lease (one request at a time per upload, across servers) ----

  /** Takes the lease when it is free or expired; true when this token holds it now. */
  async tryLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    const taken = await this.db
      .updateTable('uploads')
      .set({
        lock_token: token,
        lock_expires_at: sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})`,
        release_requested_at: null,
      })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('lock_token', 'is', null), eb('lock_expires_at', '<', sql<Date>`now()`)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  /** Extends a held lease; says whether it is still held and whether another request asked for it. */
  async renewLease(id: string, token: string, ttlMs: number): Promise<{ held: boolean; releaseRequested: boolean }> {
    const row = await this.db
      .updateTable('uploads')
      .set({ lock_expires_at: sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})` })
      .where('id', '=', id)
      .where('lock_token', '=', token)
      .returning('release_requested_at')
      .executeTakeFirst();
    return { held: !!row, releaseRequested: !!row?.release_requested_at };
  }

  async requestRelease(id: string): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ release_requested_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('lock_token', 'is not', null)
      .where('release_requested_at', 'is', null)
      .execute();
  }

  async releaseLease(id: string, token: string): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ lock_token: null, lock_expires_at: null, release_requested_at: null })
      .where('id', '=', id)
      .where('lock_token', '=', token)
      .execute();
  }

  /** Does the upload row exist? (A lease on a missing upload is granted: tus answers 404 itself.) */
  async exists(id: string): Promise<boolean> {
    return !!(await this.db.selectFrom('uploads').select('id').where('id', '=', id).executeTakeFirst());
  }
}
