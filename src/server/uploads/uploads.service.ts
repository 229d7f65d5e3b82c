/**
 * What an upload means to Recorder: who may create, resume and finish it, and how a complete upload
 * becomes a recording. The bytes are already where the recording keeps them (upload-store.ts and the
 * sinks), so finishing is O(1) in the size of the take: reserve → assemble → commit → queue.
 *
 *  reserve   at creation: a recording id (nextval) and the storage the bytes go to are on the row; the
 *            sniff later fixes the final key users/<u>/recordings/<reserved id>/original.<ext>.
 *  assemble  the sink makes the object exist under that key: CompleteMultipartUpload (s3) or rename
 *            (local). Idempotent: redone after a crash, it finds the object whole and goes on.
 *            → crash after it: an object with no row; the upload is still `uploading` and complete, so
 *              recovery (HEAD, housekeeping, start-up) finishes it again with the same key.
 *  commit    one transaction locks the upload and the take's session, inserts the recording, marks the
 *            upload and the session done. If another upload of the same take became its recording first,
 *            this upload points at that one and its own object is queued in the deletion outbox — one
 *            recording per take, no orphan object, whichever way a crash falls.
 *  queue     the processing job (a crash before it: requeueProcessing at start).
 *
 * A legacy item's upload (issue 11, imports/) is one more case of the same steps: creation needs the
 * user's running import; the finish refuses bytes whose sha256 is not the one the import announced
 * (LEGACY_SHA256_MISMATCH, permanent: the bytes are dropped) before assembling anything; the commit claims
 * the legacy key (imports/legacy-claim.ts) — claimed: the recording is inserted with the item's original
 * date; not claimed (another tab or the CLI won): this upload points at that recording and its own object
 * goes to the deletion outbox, as for two uploads of one take. A crash between assemble and commit is
 * the case above: recovery finishes it, claim included.
 *
 * The object's sha256 comes from the hash state saved with each committed offset: nothing reads the
 * bytes again on the request path.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB, SessionTake } from '../db/schema.js';
import { AppError } from '../errors.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import type { SessionMetrics } from '../metrics/metrics.js';
import { authorize, can, relationsOf } from '../access/access.js';
import { storageFor } from '../features.js';
import { ImportsRepository } from '../imports/imports.repository.js';
import { ownImport } from '../imports/imports.service.js';
import { claimOrAlready } from '../imports/legacy-claim.js';
import { AccessRepository } from '../access/access.repository.js';
import { clientMetadata } from '../recordings/metadata.js';
import { RecordingsRepository } from '../recordings/recordings.repository.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import type { Storage } from '../storage/storage.js';
import { recordingPrefix } from '../storage/keys.js';
import { resumeHash } from './upload-bytes.js';
import { parseUploadMeta, type UploadMeta } from './upload-meta.js';
import { type Sinks, sinkOf } from './upload-sink.js';
import { type UploadRow, UploadsRepository } from './uploads.repository.js';
import { buildRecording } from './upload-recording.js';

/** Errors that no retry can cure: the upload is marked failed and its bytes dropped. */
const PERMANENT_FINISH_ERRORS = new Set([
  'UNSUPPORTED_MEDIA_TYPE',
  'VALIDATION_FAILED',
  'SESSION_DISCARDED',
  'LEGACY_SHA256_MISMATCH',
]);
export const isPermanent = (err: unknown) => err instanceof AppError && PERMANENT_FINISH_ERRORS.has(err.code);

function notFinishable(status: string): AppError {
  return new AppError('UPLOAD_NOT_FINISHABLE', `This upload is ${status}; it can no longer become a recording`, {
    status,
  });
}

/** What the finishing transaction decided, and the job that follows it. */
interface Outcome {
  /** null: a legacy item whose recording was imported before and deleted since (not brought back). */
  recordingId: string | null;
  /** A legacy item's upload: whether it made the recording or found the key taken. */
  importOutcome?: 'imported' | 'already';
  /** None when another finish of this same upload made the recording (it queued the job). */
  job?: 'processRecording' | 'deleteMedia';
  data: Record<string, unknown>;
  singletonKey?: string;
  /** The take was discarded while its upload finished: no recording, the object queued for deletion. */
  discarded?: boolean;
}

export interface UploadsServiceDeps {
  db: Kysely<DB>;
  /** The storage new uploads go to (STORAGE_PROVIDER). */
  storage: Storage;
  sinks: Sinks;
  queue: JobQueue;
  logger: Logger;
  /** USE_DATABASE_STORAGE as a share of users (features.ts); default 100: everyone on the server. */
  storagePercent?: number;
  /** Counts a kept take's session as completed (metrics/). */
  metrics?: SessionMetrics;
}

/** What a finish answers: the recording (Recording-Id), and for a legacy item what became of it. */
export interface Finished {
  recordingId: string | null;
  importOutcome?: 'imported' | 'already';
}

export class UploadsService {
  readonly repo: UploadsRepository;
  private readonly sessions: SessionsRepository;
  private readonly access: AccessRepository;

  constructor(private readonly deps: UploadsServiceDeps) {
    this.repo = new UploadsRepository(deps.db);
    this.sessions = new SessionsRepository(deps.db);
    this.access = new AccessRepository(deps.db);
  }

  /** A client creates an upload: validated, bound to the user, its recording id and storage reserved. */
  async create(uploadId: string, userId: string, metadata: Record<string, string | null | undefined>, size?: number) {
    const meta = parseUploadMeta(metadata);
    if (meta.legacy) {
      await ownImport(new ImportsRepository(this.deps.db), userId, meta.legacy.importId, { running: true });
    } else if (storageFor(userId, this.deps.storagePercent ?? 100) === 'browser') {
      // USE_DATABASE_STORAGE: this user's takes stay in their browser; the server takes only their imports
      throw new AppError('SERVER_STORAGE_DISABLED');
    }
    if (meta.projectId) {
      const role = await this.access.projectRole(meta.projectId, userId);
      authorize('project.addRecordings', relationsOf(userId, { role }));
    }
    if (meta.sessionId) {
      // The sessions repository reads only the user's own takes: another's comes back as none (404).
      const session = await this.sessions.get(meta.sessionId, userId);
      authorize('session.act', relationsOf(userId, { creatorId: session?.user_id }));
      if (session!.discarded_at)
        throw new AppError('SESSION_DISCARDED', 'This take was discarded; its bytes are not accepted');
    }
    const clean = Object.fromEntries(
      Object.entries(metadata).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const { storage } = this.deps;
    await this.repo.insert({
      id: uploadId,
      userId,
      length: size,
      metadata: clean,
      sessionId: meta.sessionId,
      reservedRecordingId: await this.repo.reserveRecordingId(),
      storage: { provider: storage.provider, bucket: storage.bucket ?? null, region: storage.region ?? null },
    });
  }

  /** Whether the user may continue, ask about or terminate this upload (access.ts: its creator only). */
  async owns(uploadId: string, userId: string): Promise<boolean> {
    return can('upload.act', relationsOf(userId, { creatorId: await this.repo.ownerOf(uploadId) }));
  }

  /** A PATCH on a take's upload says its tab is alive, even when a heartbeat is late. */
  signOfLife(uploadId: string): Promise<void> {
    return this.sessions.noteUploadActivity(uploadId);
  }

  /** Bytes the upload holds (the sessions API offers a take's recovery from there). */
  async offset(uploadId: string): Promise<number | undefined> {
    const row = await this.repo.get(uploadId);
    return row ? Number(row.upload_offset) : undefined;
  }

  /** A discarded take's upload (already marked terminated): drop what it stored. */
  async discardBytes(uploadId: string): Promise<void> {
    const row = await this.repo.get(uploadId);
    if (row?.storage_provider) await this.sinkOf(row).discard(row);
  }

  /** Turns a complete upload into a recording; idempotent (a second call returns the same recording). */
  async finish(uploadId: string): Promise<Finished> {
    const row = await this.repo.get(uploadId);
    if (!row) throw new AppError('UPLOAD_NOT_FOUND');
    if (row.status === 'completed' && row.recording_id) return { recordingId: row.recording_id };
    if (row.status === 'completed' && row.metadata.importId) return { recordingId: null, importOutcome: 'already' };
    if (row.status !== 'uploading') throw notFinishable(row.status);
    if (row.upload_length === null || row.upload_offset !== row.upload_length) {
      throw new AppError('UPLOAD_NOT_FINISHABLE', 'This upload is not complete yet');
    }
    if (!row.media_type || !row.storage_key) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'This file type is not accepted (detected an empty file)');
    }
    const meta = parseUploadMeta(row.metadata);
    const session = meta.sessionId ? await this.sessions.get(meta.sessionId, row.user_id) : undefined;
    if (session?.recording_id) return this.pointAtExisting(row, session.recording_id);
    if (session?.discarded_at)
      throw new AppError('SESSION_DISCARDED', 'This take was discarded; its upload makes no recording');
    const sha256 = row.sha256 ?? (await this.digestOf(row));
    if (meta.legacy && sha256 !== meta.legacy.sha256) {
      throw new AppError('LEGACY_SHA256_MISMATCH', undefined, { expected: meta.legacy.sha256, received: sha256 });
    }
    await this.sinkOf(row).assemble(row);
    const take = (session?.take ?? {}) as SessionTake;
    const requestedProject = take.projectId !== undefined ? take.projectId : (session?.project_id ?? meta.projectId);
    const recording = buildRecording({
      row,
      meta,
      take,
      session,
      projectId: await this.allowedProject(requestedProject, row),
      sha256,
      clientMeta: clientMetadata(take.metadata ?? {}),
      // not stored: a CDN URL is derived from the key and signed when served (storage/media-urls.ts)
      cdnUrl: undefined,
    });
    if (recording.durationUnknown) {
      this.deps.logger.warn(
        { uploadId, sessionId: session?.id },
        'upload has no known duration; processing measures it',
      );
    }
    const outcome = await this.commit(row, session?.id, recording.values, recording.durationSeconds, meta);
    if (outcome.job) {
      const options = outcome.singletonKey ? { singletonKey: outcome.singletonKey } : {};
      await this.deps.queue.send(JOBS[outcome.job], outcome.data, options);
    }
    if (outcome.discarded)
      throw new AppError('SESSION_DISCARDED', 'This take was discarded; its upload makes no recording');
    const { recordingId, importOutcome } = outcome;
    this.deps.logger.info({ uploadId, recordingId, sessionId: session?.id, importOutcome }, 'upload finished');
    if (session) this.deps.metrics?.transition('completed');
    return importOutcome ? { recordingId, importOutcome } : { recordingId };
  }

  private async commit(
    row: UploadRow,
    sessionId: string | undefined,
    values: Parameters<RecordingsRepository['insert']>[0],
    durationSeconds: number | undefined,
    meta: UploadMeta,
  ): Promise<Outcome> {
    const recordingId = row.reserved_recording_id!;
    return this.deps.db.transaction().execute(async (tx) => {
      const uploads = new UploadsRepository(tx);
      // Two finishes of one upload (a HEAD racing the last PATCH) serialise on this lock.
      const now = await uploads.getForUpdate(row.id);
      if (now?.status === 'completed' && now.recording_id) return this.linked(uploads, row, now.recording_id);
      if (now?.status === 'completed' && meta.legacy) return { recordingId: null, importOutcome: 'already', data: {} };
      if (now?.status !== 'uploading') throw notFinishable(now?.status ?? 'gone');
      if (meta.legacy) return this.commitLegacy(tx, row, meta, values);
      const sessions = new SessionsRepository(tx);
      const take = sessionId ? await sessions.lockForFinish(sessionId) : undefined;
      if (take?.recording_id) return this.linked(uploads, row, take.recording_id);
      if (take?.discarded_at) {
        await uploads.queueDeletion(
          row.storage_provider!,
          row.storage_bucket,
          recordingPrefix(row.user_id, recordingId),
        );
        await uploads.setStatus(row.id, 'failed');
        return { recordingId, discarded: true, job: 'deleteMedia', data: {} };
      }
      await new RecordingsRepository(tx).insert(values);
      await uploads.complete(row.id, recordingId, Number(row.upload_length));
      if (sessionId) await sessions.markKept(sessionId, recordingId, durationSeconds);
      if (sessionId) await sessions.events.record(sessionId, 'completed', { recordingId, uploadId: row.id });
      await uploads.dropProgress(row.id);
      return { recordingId, job: 'processRecording', data: { recordingId }, singletonKey: recordingId };
    });
  }

  /** A legacy item's commit: the recording only if this upload claims the item's legacy key. */
  private async commitLegacy(
    tx: Kysely<DB>,
    row: UploadRow,
    meta: UploadMeta,
    values: Parameters<RecordingsRepository['insert']>[0],
  ): Promise<Outcome> {
    const { legacy } = meta;
    const uploads = new UploadsRepository(tx);
    const recordingId = row.reserved_recording_id!;
    const size = Number(row.upload_length);
    const item = {
      importId: legacy!.importId,
      userId: row.user_id,
      legacySource: legacy!.legacySource,
      legacyId: legacy!.legacyId,
      sha256: legacy!.sha256,
      size,
      title: meta.title,
    };
    const claim = await claimOrAlready(tx, item, recordingId, () => new RecordingsRepository(tx).insert(values));
    if (claim.outcome === 'imported') {
      await uploads.complete(row.id, recordingId, size);
      await uploads.dropProgress(row.id);
      const data = { recordingId };
      return { recordingId, importOutcome: 'imported', job: 'processRecording', data, singletonKey: recordingId };
    }
    if (claim.recordingId) return { ...(await this.linked(uploads, row, claim.recordingId)), importOutcome: 'already' };
    // imported before and deleted since: no recording, this upload's object goes
    await uploads.queueDeletion(row.storage_provider!, row.storage_bucket, recordingPrefix(row.user_id, recordingId));
    await uploads.complete(row.id, null, size);
    await uploads.dropProgress(row.id);
    return { recordingId: null, importOutcome: 'already', job: 'deleteMedia', data: {} };
  }

  /**
   * The digest when the commit of the last byte did not record it (a deferred length declared by an
   * empty last PATCH): from the saved state, or read back after a native request left none (local).
   */
  private async digestOf(row: UploadRow): Promise<string> {
    if (row.hash_state) return (await resumeHash(row.hash_state)).digest('hex');
    const sink = this.sinkOf(row);
    const hash = createHash('sha256');
    if (sink.readBack && Number(row.upload_offset) > 0) {
      for await (const chunk of await sink.readBack(row, Number(row.upload_offset))) hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  }

  /** This upload's object belongs to no recording: the take's recording is another one. */
  private async linked(uploads: UploadsRepository, row: UploadRow, recordingId: string): Promise<Outcome> {
    // Another finish of this very upload won the race: the recording is this upload's own object.
    if (recordingId === row.reserved_recording_id) return { recordingId, data: {} };
    const prefix = recordingPrefix(row.user_id, row.reserved_recording_id!);
    await uploads.queueDeletion(row.storage_provider!, row.storage_bucket, prefix);
    await uploads.complete(row.id, recordingId, Number(row.upload_length));
    await uploads.dropProgress(row.id);
    return { recordingId, job: 'deleteMedia', data: {} };
  }

  /** The take has a recording already (its final upload re-sent, a recovery racing the live upload). */
  private async pointAtExisting(row: UploadRow, recordingId: string): Promise<{ recordingId: string }> {
    if (recordingId === row.reserved_recording_id) return { recordingId }; // this upload's own, finished meanwhile
    await this.sinkOf(row).discard(row);
    await this.deps.db.transaction().execute((tx) => this.linked(new UploadsRepository(tx), row, recordingId));
    await this.deps.queue.send(JOBS.deleteMedia, {});
    return { recordingId };
  }

  /**
   * The take's project if the user may still add to it. Membership can change between the keep and the
   * finish; the take is kept anyway (never lose it), outside the project, and the log says why.
   */
  private async allowedProject(projectId: string | null, row: UploadRow): Promise<string | null> {
    if (!projectId) return null;
    const role = await this.access.projectRole(projectId, row.user_id);
    if (can('project.addRecordings', relationsOf(row.user_id, { role }))) return projectId;
    this.deps.logger.warn(
      { uploadId: row.id, projectId, userId: row.user_id },
      'the take’s project no longer accepts this user’s recordings; kept outside it',
    );
    return null;
  }

  sinkOf(row: UploadRow) {
    return sinkOf(this.deps.sinks, row);
  }

  /** The upload can never become a recording: marked failed, its bytes dropped. */
  async giveUp(uploadId: string): Promise<void> {
    const row = await this.repo.get(uploadId);
    if (!row) return;
    await this.repo.setStatus(uploadId, 'failed');
    if (row.storage_provider) await this.sinkOf(row).discard(row);
  }

  /**
   * Finishes one complete upload whose finish a crash or a transient failure cut short; undefined when it
   * failed again (a permanent failure gives the upload up).
   */
  async settle(uploadId: string): Promise<string | undefined> {
    try {
      return (await this.finish(uploadId)).recordingId ?? undefined;
    } catch (err) {
      this.deps.logger.warn({ uploadId, err: (err as Error).message }, 'a complete upload could not be finished');
      if (isPermanent(err)) await this.giveUp(uploadId).catch(() => undefined);
      return undefined;
    }
  }

  /** At start and hourly: every complete-but-unfinished upload gets its recording. */
  async recoverFinished(): Promise<number> {
    let finished = 0;
    for (const id of await this.repo.completeButUnfinished()) if (await this.settle(id)) finished++;
    return finished;
  }

  /** Uploads nobody finished within the expiry: aborted (multipart, file) and marked failed. */
  async expire(before: Date): Promise<number> {
    let expired = 0;
    for (const row of await this.repo.expired(before)) {
      await this.repo.setStatus(row.id, 'failed');
      if (row.storage_provider)
        await this.sinkOf(row)
          .discard(row)
          .catch((err: Error) => {
            this.deps.logger.warn({ uploadId: row.id, err: err.message }, 'could not abort an expired upload');
          });
      expired++;
    }
    return expired;
  }
}
