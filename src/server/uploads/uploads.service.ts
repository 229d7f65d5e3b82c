/**
 * What an upload means to Recorder: who may create, resume and finish it, what its metadata must say,
 * and how a finished upload becomes a recording.
 *
 * Finishing, step by step, and what a crash after each step leaves:
 *  0. an upload of a take (metadata sessionId) whose session already has a recording — the final
 *     upload re-sent, a recovery racing the live upload — becomes no second recording: one
 *     transaction marks it `completed` pointing at that recording, and queues for deletion whatever
 *     an earlier, crashed run of this finish stored under its reserved id (step 1). Nothing is stored.
 *     → crash before commit: redone the same way by recovery; after: the upload file goes in step 3.
 *  1. a recording id is reserved (nextval) and remembered in the upload's metadata, then the file is
 *     copied into storage under a key made from it
 *     → crash: an object with no row; the upload is still `uploading` and complete on disk, so
 *       recovery (the next HEAD on the upload, recoverFinished hourly and at start) finishes it again
 *       with the same id: same key, overwritten.
 *  2. one transaction locks the take's session row, inserts the recording (`processing`) with the
 *     take's details, marks the upload `completed` and the session `completed` with its recording_id.
 *     If another finish of the same take linked a recording while we stored (the lock orders them),
 *     this upload points at that one instead and our object is queued in the deletion outbox in the
 *     same transaction: whichever way a crash falls, no second recording and no orphan object.
 *     → crash before commit: as after step 1; after: step 3 is redone by recovery.
 *  3. the processing (or deletion) job is queued and the upload's temporary file removed.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DB, Quality, RecordingType, SessionTake } from '../db/schema.js';
import { QUALITIES, RECORDING_TYPES } from '../db/schema.js';
import { AppError } from '../errors.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import { probeDuration } from '../media/probe.js';
import { readHead } from '../media/remux.js';
import { sniff } from '../media/sniff.js';
import { wholeSeconds } from '../recordings/duration.js';
import { recordingKey, recordingPrefix } from '../storage/keys.js';
import type { Storage } from '../storage/storage.js';

export interface UploadMeta {
  title: string;
  description: string | null;
  recordingType: RecordingType;
  quality: Quality;
  /** Seconds, when the client knows it; else probed at finish. */
  durationMs: number | null;
  projectId: string | null;
  sessionId: string | null;
}

/** recordings.metadata keys the server writes or reads back; a take's own metadata never sets them. */
const SERVER_METADATA = new Set([
  'sha256',
  'upload_sha256',
  'upload_size',
  'session_id',
  'duration_ms',
  'upload_id',
  'progress',
  'error',
  'failed_at',
  'thumbnail_key',
  'width',
  'height',
  'video_codec',
  'audio_codec',
  'bitrate',
  'has_video',
  'has_audio',
  'duration_source',
  'duration_fixed',
  'processing_skipped',
  'processed_at',
  'duration_unknown',
]);

/** Key in uploads.metadata under which finish remembers the recording id it reserved (never client-set). */
const RESERVED_ID = 'recorder:recordingId';

/** A terminated (discarded, deleted by the client) or failed upload never becomes a recording. */
function notFinishable(status: string): AppError {
  return new AppError('UPLOAD_NOT_FINISHABLE', `This upload is ${status}; it can no longer become a recording`, {
    status,
  });
}

function bad(field: string, why: string): AppError {
  return new AppError('VALIDATION_FAILED', `Upload metadata "${field}" ${why}`, { field });
}

/** Validates tus Upload-Metadata (strings) as the spec's checks demand, with a clear error per field. */
export function parseUploadMeta(m: Record<string, string | null | undefined>): UploadMeta {
  const type = m.recordingType ?? m.recording_type;
  if (!type) throw bad('recordingType', `is required (one of ${RECORDING_TYPES.join(', ')})`);
  if (!(RECORDING_TYPES as readonly string[]).includes(type))
    throw bad('recordingType', `must be one of ${RECORDING_TYPES.join(', ')}`);
  const quality = m.quality ?? 'high';
  if (!(QUALITIES as readonly string[]).includes(quality))
    throw bad('quality', `must be one of ${QUALITIES.join(', ')}`);
  const title = (m.title ?? m.filename ?? '').trim() || 'Untitled recording';
  if (title.length > 300) throw bad('title', 'must be at most 300 characters');
  const description = m.description?.trim() || null;
  if (description && description.length > 10_000) throw bad('description', 'must be at most 10000 characters');
  let durationMs: number | null = null;
  if (m.duration) {
    const d = Number(m.duration);
    if (!Number.isFinite(d) || d <= 0 || d > 2 ** 31)
      throw bad('duration', 'must be a number of seconds greater than 0');
    durationMs = Math.round(d * 1000);
  }
  const idOf = (field: string) => {
    const v = m[field];
    if (!v) return null;
    if (!/^[1-9]\d{0,18}$/.test(v)) throw bad(field, 'must be a numeric id');
    return v;
  };
  return {
    title,
    description,
    recordingType: type as RecordingType,
    quality: quality as Quality,
    durationMs,
    projectId: idOf('projectId'),
    sessionId: idOf('sessionId'),
  };
}

export class UploadsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly storage: Storage,
    private readonly queue: JobQueue,
    private readonly logger: Logger,
  ) {}

  /** Called when a client creates an upload: validates and binds it to the user. */
  async create(
    uploadId: string,
    userId: string,
    metadata: Record<string, string | null | undefined>,
    length: number | undefined,
  ) {
    const meta = parseUploadMeta(metadata);
    if (meta.projectId) {
      const m = await this.db
        .selectFrom('project_members')
        .select('role')
        .where('project_id', '=', meta.projectId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!m) throw new AppError('PROJECT_NOT_FOUND');
      if (m.role === 'viewer') throw new AppError('FORBIDDEN', 'Viewers cannot add recordings to a project');
    }
    if (meta.sessionId) {
      const s = await this.db
        .selectFrom('recording_sessions')
        .select(['id', 'discarded_at'])
        .where('id', '=', meta.sessionId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!s) throw new AppError('SESSION_NOT_FOUND');
      if (s.discarded_at)
        throw new AppError('SESSION_DISCARDED', 'This take was discarded; its bytes are not accepted');
    }
    // RESERVED_ID is ours (finish writes it); a client-sent one would let the client pick a recording id.
    const clean = Object.fromEntries(
      Object.entries(metadata).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== RESERVED_ID),
    );
    await this.db
      .insertInto('uploads')
      .values({
        id: uploadId,
        user_id: userId,
        upload_length: length ?? null,
        metadata: JSON.stringify(clean),
        session_id: meta.sessionId,
      })
      .execute();
  }

  /** true when the upload exists and belongs to the user (else the caller answers 404). */
  async owns(uploadId: string, userId: string): Promise<boolean> {
    const r = await this.db.selectFrom('uploads').select('user_id').where('id', '=', uploadId).executeTakeFirst();
    return r?.user_id === userId;
  }

  /**
   * A PATCH on a take's upload is a sign of life for its session, like a heartbeat: a tab busy
   * uploading while a heartbeat is late is not offered for recovery elsewhere. One UPDATE, written at
   * most every 5 s per session (the WHERE skips it otherwise); only an active take is touched.
   */
  async signOfLife(uploadId: string) {
    await this.db
      .updateTable('recording_sessions')
      .set({ last_heartbeat_at: sql<Date>`now()` })
      .where('id', '=', (eb) => eb.selectFrom('uploads').select('session_id').where('id', '=', uploadId))
      .where('status', '=', 'active')
      .where((eb) =>
        eb.or([
          eb('last_heartbeat_at', 'is', null),
          eb('last_heartbeat_at', '<', sql<Date>`now() - interval '5 seconds'`),
        ]),
      )
      .execute();
  }

  /** The upload's bytes can never become a recording (see uploads.routes.ts, giveUp). */
  async markFailed(uploadId: string) {
    await this.db
      .updateTable('uploads')
      .set({ status: 'failed' })
      .where('id', '=', uploadId)
      .where('status', '=', 'uploading')
      .execute();
  }

  async markTerminated(uploadId: string) {
    await this.db
      .updateTable('uploads')
      .set({ status: 'terminated' })
      .where('id', '=', uploadId)
      .where('status', '=', 'uploading')
      .execute();
  }

  /** Turns a complete upload file into a recording; idempotent (a second call returns the same recording). */
  async finish(uploadId: string, file: string, size: number): Promise<{ recordingId: string }> {
    const upload = await this.db.selectFrom('uploads').selectAll().where('id', '=', uploadId).executeTakeFirstOrThrow();
    if (upload.status === 'completed' && upload.recording_id) return { recordingId: upload.recording_id };
    if (upload.status !== 'uploading') throw notFinishable(upload.status);
    const meta = parseUploadMeta(upload.metadata);
    const session = meta.sessionId
      ? await this.db
          .selectFrom('recording_sessions')
          .selectAll()
          .where('id', '=', meta.sessionId)
          .where('user_id', '=', upload.user_id)
          .executeTakeFirst()
      : undefined;
    if (session?.recording_id)
      return this.duplicate(uploadId, upload.user_id, size, session.recording_id, upload.metadata[RESERVED_ID]);
    if (session?.discarded_at)
      throw new AppError('SESSION_DISCARDED', 'This take was discarded; its upload makes no recording');
    const take = (session?.take ?? {}) as SessionTake;
    const kind = sniff(await readHead(file));
    if (!kind.supported)
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `This file type is not accepted (detected ${kind.mime})`);
    // What the take said, then the session's heartbeats (whole seconds), then a bounded probe. A take
    // whose length nobody knows (a truncated WebM recovered from the server's bytes alone) is still
    // kept: it may be the only copy. It gets 1 s and duration_unknown; processing measures it for real.
    let durationMs = take.durationMs ?? meta.durationMs ?? (session?.duration ? session.duration * 1000 : null);
    if (!durationMs) durationMs = await probeDuration(file, 15_000).catch(() => 0);
    const durationUnknown = !durationMs || durationMs <= 0;
    if (durationUnknown) {
      durationMs = 1000;
      this.logger.warn(
        { uploadId, sessionId: session?.id },
        'upload has no measurable duration; kept with 1 s until processing measures it',
      );
    }
    const projectId = await this.allowedProject(
      take.projectId !== undefined ? take.projectId : (session?.project_id ?? meta.projectId),
      upload.user_id,
      uploadId,
    );

    // The id is reserved once and remembered on the upload before anything is stored under it: a finish
    // redone after a crash stores under the same key (overwriting the object the crash left), instead
    // of leaving that object behind as an orphan for the sweeper.
    let recordingId = upload.metadata[RESERVED_ID];
    if (!recordingId) {
      const { rows } = await sql<{
        id: string;
      }>`SELECT nextval(pg_get_serial_sequence('recordings', 'id'))::text AS id`.execute(this.db);
      recordingId = rows[0]!.id;
      await this.db
        .updateTable('uploads')
        .set({ metadata: sql`metadata || jsonb_build_object(${RESERVED_ID}::text, ${recordingId}::text)` })
        .where('id', '=', uploadId)
        .execute();
    }
    const key = recordingKey(upload.user_id, recordingId, kind.ext);
    // The sniff reads the container, not its tracks: an audio take's WebM is audio/webm (processing
    // confirms it from the probe, for any type).
    const mime = meta.recordingType === 'audio' && kind.mime === 'video/webm' ? 'audio/webm' : kind.mime;
    const put = await this.storage.put(key, file, { contentType: mime, size });
    // The user's metadata (slide change times…) first: our keys win, and keys the server reads back
    // (thumbnail_key names a storage object!) can never come from a client.
    const clientMeta = Object.fromEntries(
      Object.entries(take.metadata ?? {}).filter(([k]) => !SERVER_METADATA.has(k) && !k.startsWith('recorder:')),
    );

    const outcome = await this.db.transaction().execute(async (tx) => {
      // Two finishes of one upload (a HEAD retrying it while the PATCH's finish still runs) serialise
      // here; the second finds it done (what it stored under another reserved id is queued for
      // deletion), or no longer `uploading`, and makes no recording.
      const now = await tx
        .selectFrom('uploads')
        .select(['status', 'recording_id'])
        .where('id', '=', uploadId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (now.status === 'completed' && now.recording_id) {
        await this.pointAt(tx, uploadId, upload.user_id, size, now.recording_id, recordingId);
        return { existing: now.recording_id };
      }
      if (now.status !== 'uploading') throw notFinishable(now.status);
      if (session) {
        const s = await tx
          .selectFrom('recording_sessions')
          .select(['recording_id', 'discarded_at'])
          .where('id', '=', session.id)
          .forUpdate()
          .executeTakeFirst();
        if (s?.recording_id) {
          await this.pointAt(tx, uploadId, upload.user_id, size, s.recording_id, recordingId);
          return { existing: s.recording_id };
        }
        if (s?.discarded_at) {
          await this.queueDeletion(tx, upload.user_id, recordingId);
          await tx.updateTable('uploads').set({ status: 'failed' }).where('id', '=', uploadId).execute();
          return { discarded: true };
        }
      }
      await tx
        .insertInto('recordings')
        .values({
          id: recordingId,
          user_id: upload.user_id,
          project_id: projectId,
          title: take.title ?? meta.title,
          description: take.description !== undefined ? take.description : meta.description,
          // the session is the take's record; the upload's metadata only stands in without one
          recording_type: session?.recording_type ?? meta.recordingType,
          duration: wholeSeconds(durationMs!),
          file_size: put.size,
          mime_type: mime,
          storage_url: `/api/recordings/${recordingId}/media`,
          quality: meta.quality,
          status: 'processing',
          metadata: JSON.stringify({
            ...clientMeta,
            // sha256 describes the stored object (processing may replace it by a remux); upload_sha256 and
            // upload_size stay the bytes the client sent, which it compares before deleting its copy.
            sha256: put.sha256,
            upload_sha256: put.sha256,
            upload_size: put.size,
            session_id: session?.id ?? null,
            duration_ms: durationMs,
            ...(durationUnknown ? { duration_unknown: true } : {}),
            upload_id: uploadId,
            progress: 0,
          }),
          storage_provider: this.storage.provider,
          storage_key: key,
          storage_bucket: this.storage.bucket ?? null,
          storage_region: this.storage.region ?? null,
          cdn_url: this.storage.publicUrl(key) ?? null,
        })
        .execute();
      await tx
        .updateTable('uploads')
        .set({
          status: 'completed',
          recording_id: recordingId,
          upload_offset: size,
          upload_length: size,
          completed_at: new Date(),
        })
        .where('id', '=', uploadId)
        .execute();
      if (session) {
        await tx
          .updateTable('recording_sessions')
          .set({
            status: 'completed',
            recording_id: recordingId,
            ended_at: sql<Date>`coalesce(ended_at, greatest(started_at, now()))`,
            // an unknown length leaves what the heartbeats said (nothing, or the finish would know it)
            ...(durationUnknown ? {} : { duration: Math.round(durationMs! / 1000) }),
          })
          .where('id', '=', session.id)
          .execute();
      }
      return { created: recordingId };
    });
    if ('existing' in outcome) {
      // Lost the race to another finish of the same take: ours became a pointer to its recording.
      await this.queue.send(JOBS.deleteMedia, {});
      this.logger.info(
        { uploadId, recordingId: outcome.existing, sessionId: session?.id },
        'a take’s upload finished again; it points at the recording the take already has',
      );
      return { recordingId: outcome.existing! };
    }
    if ('discarded' in outcome) {
      await this.queue.send(JOBS.deleteMedia, {});
      throw new AppError(
        'SESSION_DISCARDED',
        'This take was discarded while its upload finished; no recording was made',
      );
    }
    await this.queue.send(JOBS.processRecording, { recordingId }, { singletonKey: recordingId });
    this.logger.info(
      { uploadId, recordingId, size, sessionId: session?.id },
      'upload finished; recording queued for processing',
    );
    return { recordingId };
  }

  /** A take's second final upload: completed, pointing at the take's recording; nothing of it is kept. */
  private async duplicate(
    uploadId: string,
    userId: string,
    size: number,
    recordingId: string,
    reserved: string | undefined,
  ) {
    await this.db.transaction().execute((tx) => this.pointAt(tx, uploadId, userId, size, recordingId, reserved));
    if (reserved && reserved !== recordingId) await this.queue.send(JOBS.deleteMedia, {});
    this.logger.info(
      { uploadId, recordingId },
      'a take’s upload finished again; it points at the recording the take already has',
    );
    return { recordingId };
  }

  private async pointAt(
    tx: Kysely<DB>,
    uploadId: string,
    userId: string,
    size: number,
    recordingId: string,
    reserved: string | undefined,
  ) {
    // An object a crashed or losing run stored under the id it reserved belongs to no recording.
    if (reserved && reserved !== recordingId) await this.queueDeletion(tx, userId, reserved);
    await tx
      .updateTable('uploads')
      .set({
        status: 'completed',
        recording_id: recordingId,
        upload_offset: size,
        upload_length: size,
        completed_at: new Date(),
      })
      .where('id', '=', uploadId)
      .execute();
  }

  /** Everything under a reserved recording id that no row will ever own, via the deletion outbox. */
  private async queueDeletion(tx: Kysely<DB>, userId: string, reservedId: string) {
    await tx
      .insertInto('storage_deletions')
      .values({
        storage_provider: this.storage.provider,
        storage_bucket: this.storage.bucket ?? null,
        storage_key: recordingPrefix(userId, reservedId),
      })
      .execute();
  }

  /**
   * The take's project if the user may still add to it. Membership can change between the keep and the
   * finish; the take is kept anyway (never lose it), outside the project, and the log says why.
   */
  private async allowedProject(projectId: string | null, userId: string, uploadId: string): Promise<string | null> {
    if (!projectId) return null;
    const m = await this.db
      .selectFrom('project_members')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (m && m.role !== 'viewer') return projectId;
    this.logger.warn(
      { uploadId, projectId, userId },
      'the take’s project no longer accepts this user’s recordings; kept outside it',
    );
    return null;
  }

  /** Uploads still `uploading` (a crash may have interrupted their finish): ids to look at on start. */
  async unfinished(): Promise<string[]> {
    return (await this.db.selectFrom('uploads').select('id').where('status', '=', 'uploading').execute()).map(
      (r) => r.id,
    );
  }
}
