/**
 * Versions (issue 12; docs/editor.md "Versions"): "Save as new version" snapshots the recording's active
 * edits and queues the render-version job, which renders them with ffmpeg (media/render.ts) into a new
 * object under the recording's prefix, in the recording's own storage, and makes it current when ready.
 * The original is only ever read. Any ready version, or the original, can be made current; a version can
 * be deleted (its object through the deletion outbox); the original cannot be deleted from here.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Action, authorize, relationsOf } from '../access/access.js';
import type { EditsService } from '../edits/edits.service.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import { probe } from '../media/probe.js';
import { renderOutput } from '../media/render.js';
import { RenderError, renderToFile } from '../media/render-run.js';
import { makeThumbnail } from '../media/thumbnail.js';
import type { StorageRegistry } from '../storage/registry.js';
import { versionKey, versionThumbnailKey } from '../storage/keys.js';
import type { Storage } from '../storage/storage.js';
import type { VersionRow, VersionsRepository, VersionedRecording } from './versions.repository.js';

export interface VersionsDeps {
  repo: VersionsRepository;
  edits: Pick<EditsService, 'currentState'>;
  storages: StorageRegistry;
  /** undefined: no ffmpeg here; rendering is refused with 503 RENDERING_UNAVAILABLE. */
  tools: MediaTools | undefined;
  queue: JobQueue;
  logger: Logger;
  tmpDir?: string;
  /** Tests: another font file. */
  fontFile?: string;
}

export type VersionStatus = VersionRow['status'];

/** A version as the API shows it. */
export function versionToApi(row: VersionRow, currentId: string | null) {
  return {
    id: row.id,
    recordingId: row.recording_id,
    number: row.number,
    status: row.status,
    progress: row.status === 'ready' ? 1 : row.progress,
    error: row.error,
    editRevision: row.edit_revision,
    edits: row.edits as { revision: string; state: unknown; edits: unknown[] },
    current: row.id === currentId,
    fileSize: row.file_size === null ? null : Number(row.file_size),
    sha256: row.sha256,
    durationMs: row.duration_ms,
    mimeType: row.mime_type,
    width: row.width,
    height: row.height,
    mediaUrl: row.status === 'ready' ? `/api/recordings/${row.recording_id}/media?version=${row.id}` : null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at ? row.completed_at.toISOString() : null,
  };
}

/** Saved at most this often while rendering (and at the end): enough for a progress bar. */
const PROGRESS_STEP = 0.05;

export class VersionsService {
  constructor(private readonly deps: VersionsDeps) {}

  private async authorized(recordingId: string, userId: string, action: Action) {
    const row = isBigintId(recordingId) ? await this.deps.repo.recordingWithRole(recordingId, userId) : undefined;
    authorize(action, row ? relationsOf(userId, { creatorId: row.user_id, role: row.role }) : []);
    return row!;
  }

  private async version(recording: VersionedRecording, versionId: string) {
    const row = isBigintId(versionId) ? await this.deps.repo.get(recording.id, versionId) : undefined;
    if (!row) throw new AppError('VERSION_NOT_FOUND');
    return row;
  }

  async list(recordingId: string, userId: string) {
    const recording = await this.authorized(recordingId, userId, 'recording.read');
    const rows = await this.deps.repo.list(recording.id);
    const current = recording.current_version_id;
    return { current, versions: rows.map((r) => versionToApi(r, current)) };
  }

  async get(recordingId: string, versionId: string, userId: string) {
    const recording = await this.authorized(recordingId, userId, 'recording.read');
    return versionToApi(await this.version(recording, versionId), recording.current_version_id);
  }

  /**
   * Queues a render of the active edits. ifRevision (If-Match, optional): the edit revision the user saw;
   * a different one now is 409 VERSION_STALE, so what is rendered is what they looked at.
   */
  async create(recordingId: string, userId: string, ifRevision?: string) {
    const recording = await this.authorized(recordingId, userId, 'version.create');
    if (recording.status === 'processing') throw new AppError('RECORDING_PROCESSING');
    if (!recording.storage_key) throw new AppError('MEDIA_UNAVAILABLE');
    if (!this.deps.tools) throw new AppError('RENDERING_UNAVAILABLE');
    const current = await this.deps.edits.currentState(recording.id);
    if (!current) throw new AppError('RECORDING_NOT_FOUND');
    if (ifRevision !== undefined && ifRevision !== current.revision)
      throw new AppError('VERSION_STALE', undefined, { revision: current.revision });
    if (current.edits.length === 0) throw new AppError('NOTHING_TO_RENDER');
    const extension = renderOutput({
      hasVideo: current.media.width !== null,
      family: familyOf(recording.mime_type),
    }).extension;
    const row = await this.deps.repo.create({
      recordingId: recording.id,
      editRevision: current.revision,
      edits: { revision: current.revision, state: current.state, edits: current.edits, media: current.media },
      storage: {
        provider: recording.storage_provider,
        bucket: recording.storage_bucket,
        region: recording.storage_region,
      },
      keyFor: (id) => versionKey(recording.user_id, recording.id, id, extension),
      createdBy: userId,
    });
    if (!row) throw new AppError('RECORDING_NOT_FOUND');
    await this.deps.queue.send(
      JOBS.renderVersion,
      { versionId: row.id },
      { singletonKey: row.id, expireInSeconds: renderExpirySeconds(current.media.durationSeconds) },
    );
    return versionToApi(row, recording.current_version_id);
  }

  /** Deletes a version; its object goes through the deletion outbox. The original cannot be deleted here. */
  async delete(recordingId: string, versionId: string, userId: string): Promise<void> {
    const recording = await this.authorized(recordingId, userId, 'version.create');
    await this.version(recording, versionId);
    if (!(await this.deps.repo.delete(recording.id, versionId))) throw new AppError('VERSION_NOT_FOUND');
    await this.deps.queue.send(JOBS.deleteMedia, {});
  }

  /** Makes a ready version current, or the original (null). */
  async setCurrent(recordingId: string, versionId: string | null, userId: string) {
    const recording = await this.authorized(recordingId, userId, 'version.create');
    if (versionId !== null) {
      const row = await this.version(recording, versionId);
      if (row.status !== 'ready') throw new AppError('VERSION_NOT_READY');
    }
    if (!(await this.deps.repo.setCurrent(recording.id, versionId))) throw new AppError('VERSION_NOT_READY');
    return this.list(recordingId, userId);
  }

  /**
   * The job's work: download the original, render, store the result (size and sha256 while writing), and
   * mark the version ready. ffmpeg refusing is recorded as the version's failure (no retry: it would refuse
   * again); anything else (storage, database) is thrown for the queue to retry, then markFailed.
   */
  async render(versionId: string): Promise<'done' | 'failed' | 'gone'> {
    const { repo, tools } = this.deps;
    const version = await repo.byId(versionId);
    if (version?.status !== 'rendering') return 'gone';
    // every line of the render names its recording too: one grep follows a take (docs/monitoring.md)
    const logger = this.deps.logger.child({ recordingId: version.recording_id });
    const recording = await repo.recording(version.recording_id);
    if (!recording?.storage_key) return 'gone';
    if (!tools) {
      await repo.markFailed(versionId, 'ffmpeg is not installed on the server that ran the render');
      return 'failed';
    }
    const storage = this.deps.storages.forLocation({
      provider: version.storage_provider,
      bucket: version.storage_bucket,
      region: version.storage_region,
    });
    const work = await fs.mkdtemp(path.join(this.deps.tmpDir ?? os.tmpdir(), `recorder-render-${versionId}-`));
    try {
      const src = path.join(work, `original${path.extname(recording.storage_key)}`);
      // the original where the recording's row puts it (a version still rendering is not moved with it)
      const original = this.deps.storages.forLocation({
        provider: recording.storage_provider,
        bucket: recording.storage_bucket,
        region: recording.storage_region,
      });
      const obj = await original.get(recording.storage_key);
      await pipeline(obj.body, createWriteStream(src));
      const snapshot = version.edits as { state: Parameters<typeof renderToFile>[0] };
      const out = path.join(work, path.basename(version.storage_key));
      let saved = 0;
      const onProgress = (p: number) => {
        if (p - saved < PROGRESS_STEP) return;
        saved = p;
        repo.setProgress(versionId, p).catch((err) => logger.warn({ versionId, err }, 'render progress not saved'));
      };
      try {
        const facts = await sourceFacts(recording, src, tools);
        // the family the key's extension was chosen by, when the version was asked for
        const source = { file: src, family: familyOf(recording.mime_type), ...facts };
        await renderToFile(snapshot.state, source, facts.durationSeconds, out, tools, {
          onProgress,
          fontFile: this.deps.fontFile,
          tmpDir: work,
        });
      } catch (err) {
        const reason = err instanceof RenderError ? err.message : renderFailure(err);
        if (reason === undefined) throw err;
        await repo.markFailed(versionId, reason);
        logger.warn({ versionId, reason }, 'version render failed');
        return 'failed';
      }
      const rendered = await probe(out, tools);
      const mimeType = renderOutput({ hasVideo: rendered.hasVideo, family: familyOf(recording.mime_type) }).mimeType;
      const put = await storage.put(version.storage_key, out, { contentType: mimeType });
      const thumbnailKey = await this.thumbnail(storage, version, recording, out, work);
      const ready = await repo.markReady(versionId, {
        fileSize: put.size,
        sha256: put.sha256,
        durationMs: rendered.durationMs,
        mimeType,
        width: rendered.width ?? null,
        height: rendered.height ?? null,
        thumbnailKey,
      });
      // deleted while rendering: its outbox entry may have run already, so the objects go now (but never
      // those of a version that is there and finished: a second run of the job must not undo the first)
      if (!ready && !(await repo.byId(versionId)))
        for (const key of [version.storage_key, thumbnailKey]) if (key) await storage.delete(key);
      logger.info({ versionId, ready, size: put.size }, 'version rendered');
      return ready ? 'done' : 'gone';
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  /**
   * The version's own thumbnail (a frame of it, or its waveform), for the library while it is current. A
   * failure here costs the picture only: the original's is shown instead.
   */
  private async thumbnail(
    storage: Storage,
    version: VersionRow,
    recording: VersionedRecording,
    rendered: string,
    work: string,
  ): Promise<string | null> {
    const jpg = path.join(work, 'thumbnail.jpg');
    try {
      await makeThumbnail(rendered, jpg, this.deps.tools!);
      const key = versionThumbnailKey(recording.user_id, recording.id, version.id);
      await storage.put(key, jpg, { contentType: 'image/jpeg' });
      return key;
    } catch (err) {
      this.deps.logger.warn({ versionId: version.id, err: (err as Error).message }, 'version thumbnail not made');
      return null;
    }
  }

  /** The queue's last attempt failed for a reason other than ffmpeg: the version says why. */
  markFailed(versionId: string, reason: string): Promise<void> {
    return this.deps.repo.markFailed(versionId, reason);
  }
}

/**
 * What the render needs of the original: processing's probe (the row's metadata) when it recorded the
 * streams, else ffprobe on the downloaded copy (a recording processed before has_video was recorded).
 */
async function sourceFacts(recording: VersionedRecording, file: string, tools: MediaTools) {
  const m = recording.metadata ?? {};
  if (typeof m.has_video === 'boolean' && typeof m.has_audio === 'boolean' && typeof m.duration_ms === 'number') {
    const video = m.has_video && typeof m.width === 'number' && typeof m.height === 'number';
    if (video || !m.has_video)
      return {
        hasVideo: m.has_video,
        hasAudio: m.has_audio,
        width: video ? m.width! : null,
        height: video ? m.height! : null,
        durationSeconds: m.duration_ms / 1000,
      };
  }
  const info = await probe(file, tools);
  const { hasVideo, hasAudio } = info;
  return {
    hasVideo,
    hasAudio,
    width: info.width ?? null,
    height: info.height ?? null,
    durationSeconds: info.durationMs / 1000,
  };
}

/** ffprobe refusing the original (not media, or damaged) fails the render like ffmpeg refusing it. */
function renderFailure(err: unknown): string | undefined {
  const e = err as { name?: string; message?: string };
  if (e.name !== 'MediaToolError') return undefined;
  return `The original could not be read: ${(e.message ?? '').replace(/(?:file:)?\/[^\s'",:]+/g, '…')}`.slice(0, 2000);
}

/** MP4-family originals render to MP4 (H.264/AAC), everything else to WebM (VP9/Opus). */
function familyOf(mimeType: string | null): 'mp4' | 'webm' {
  return /mp4|quicktime|m4a/.test(mimeType ?? '') ? 'mp4' : 'webm';
}

/**
 * How long a render may run before the queue takes its worker for dead and retries it: 15 minutes plus
 * ten times the recording's length (renders here run at about a fifth of real time at 720p), at most the
 * queue's 4 hours. A server killed mid-render leaves its version "rendering" only that long: a 1-minute
 * take is retried after 25 minutes, not 4 hours.
 */
export function renderExpirySeconds(durationSeconds: number): number {
  return Math.min(4 * 3600, Math.round(900 + 10 * Math.max(0, durationSeconds)));
}
