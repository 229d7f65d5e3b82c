import type { Logger } from '../logger.js';
import type { MediaRedirects } from '../storage/media-urls.js';
import { type StorageRegistry, StorageNotConfiguredError } from '../storage/registry.js';
import type { Storage } from '../storage/storage.js';
import type { Quality, RecordingStatus, RecordingType, MemberRole } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import { type Action, authorize, authorizeMove, recordingRights, relationsOf } from '../access/access.js';
import type { RecordingMetadata } from './metadata.js';
import type { RecordingsRepository } from './recordings.repository.js';
import { storeUploadedThumbnail } from './thumbnail-upload.js';

type Row = NonNullable<Awaited<ReturnType<RecordingsRepository['getById']>>>;

/** How media are found and handed out: each row's own storage, and expiring redirects when set up. */
export interface MediaAccess {
  storages: StorageRegistry;
  redirects: MediaRedirects;
  logger?: Logger;
}

/** What /media or /thumbnail serves: an object to stream, or an expiring URL to redirect to. */
export interface MediaSource {
  storage: Storage;
  key: string;
  redirect: string | undefined;
  contentType: string | undefined;
}

export interface RecordingPatch {
  title?: string;
  description?: string | null;
  projectId?: string | null;
}

/**
 * A change or delete whose recording moved between its check and its write is decided again on where
 * it is now; a recording moved this often under one request gets 409 RECORDING_CHANGED.
 */
const STALE_DECISION_ATTEMPTS = 3;

export interface ListParams {
  limit?: number;
  cursor?: string;
  type?: RecordingType;
  projectId?: string;
  status?: RecordingStatus;
  quality?: Quality;
  q?: string;
}

/**
 * created_at as PostgreSQL writes timestamptz as text (DateStyle ISO): "2026-01-01 12:00:00.123456+00".
 * Checked field by field, so a forged cursor is a 400 and never a cast error (a 500) in the query.
 */
const PG_TIMESTAMPTZ =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](?:0\d|1[0-5])(?::[0-5]\d){0,2}$/;
function isPgTimestamptz(s: string): boolean {
  const m = PG_TIMESTAMPTZ.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return (
    y >= 1 &&
    day.getUTCFullYear() === y &&
    day.getUTCMonth() === mo - 1 &&
    day.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    sec < 60
  );
}

/** Opaque cursor: base64url of [created_at with microseconds, id]. */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string' && isBigintId(id) && isPgTimestamptz(createdAt))
      return { createdAt, id };
  } catch {
    // fall through
  }
  throw new AppError('INVALID_CURSOR');
}

/** Whole seconds as the duration column holds them (nearest, at least 1). */
const wholeSeconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

export function toApi(row: Row, userId: string, role?: MemberRole | null) {
  const meta: RecordingMetadata = row.metadata ?? {};
  // A current version (issue 12) is what plays: its length, size and type are the recording's playable ones.
  const current = row.current_version_id !== null && row.current_duration_ms !== null;
  const fileSize = row.file_size === null ? null : Number(row.file_size);
  return {
    id: row.id,
    userId: row.user_id,
    projectId: row.project_id,
    title: row.title,
    description: row.description,
    recordingType: row.recording_type,
    duration: current ? wholeSeconds(row.current_duration_ms!) : row.duration,
    fileSize: current ? Number(row.current_file_size) : fileSize,
    mimeType: current ? row.current_mime_type : row.mime_type,
    currentVersionId: current ? row.current_version_id : null,
    originalDuration: row.duration,
    originalFileSize: fileSize,
    originalMimeType: row.mime_type,
    quality: row.quality,
    status: row.status,
    progress: row.status === 'processing' && typeof meta.progress === 'number' ? meta.progress : null,
    error: row.status === 'failed' && typeof meta.error === 'string' ? meta.error : null,
    // always the API: it checks access, then streams or redirects to a URL that expires (never cdn_url)
    mediaUrl: row.storage_key ? `/api/recordings/${row.id}/media` : null,
    // the current version's own picture when it has one; its id in the URL, so a cached picture never lingers
    thumbnailUrl:
      current && row.current_thumbnail_key
        ? `/api/recordings/${row.id}/thumbnail?version=${row.current_version_id}`
        : row.thumbnail_url,
    metadata: meta,
    // a live share link exists (issue 13; the library's badge)
    shared: row.shared,
    commentCount: row.comment_count,
    ...recordingRights(relationsOf(userId, { creatorId: row.user_id, role })),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export class RecordingsService {
  constructor(
    private readonly repo: RecordingsRepository,
    private readonly media: MediaAccess,
    private readonly queue: JobQueue,
  ) {}

  async list(userId: string, p: ListParams) {
    const limit = p.limit ?? 50;
    if (p.projectId)
      authorize('project.read', relationsOf(userId, { role: await this.repo.roleIn(p.projectId, userId) }));
    const rows = await this.repo.list({
      userId,
      limit: limit + 1,
      cursor: p.cursor ? decodeCursor(p.cursor) : undefined,
      recordingType: p.type,
      projectId: p.projectId,
      status: p.status,
      quality: p.quality,
      q: p.q,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const roles = await this.repo.rolesIn(
      [...new Set(page.flatMap((r) => (r.project_id ? [r.project_id] : [])))],
      userId,
    );
    return {
      items: page.map((r) => toApi(r, userId, r.project_id ? roles.get(r.project_id) : undefined)),
      nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
    };
  }

  /**
   * The recording and how the user stands to it, once access.ts allows the action: 404 for anything
   * the user cannot see, whether or not it exists; 403 when they see it but may not do this.
   */
  private async authorized(id: string, userId: string, action: Action) {
    const row = isBigintId(id) ? await this.repo.getWithRole(id, userId) : undefined;
    const relations = row ? relationsOf(userId, { creatorId: row.user_id, role: row.role }) : [];
    authorize(action, relations);
    return { row: row!, relations };
  }

  async get(id: string, userId: string) {
    const { row } = await this.authorized(id, userId, 'recording.read');
    return toApi(row, userId, row.role);
  }

  /**
   * Title and description need the right to edit; a new project also the right to move it out of the
   * one it is in and to add it to the new one (access.ts). The change applies only if the recording is
   * still where the check saw it; if it moved meanwhile, the decision is made again on where it is now.
   */
  async update(id: string, userId: string, patch: RecordingPatch): Promise<ReturnType<typeof toApi>> {
    if (patch.title === undefined && patch.description === undefined && patch.projectId === undefined) {
      throw new AppError('VALIDATION_FAILED', 'Nothing to change: send title, description or projectId');
    }
    for (let attempt = 0; attempt < STALE_DECISION_ATTEMPTS; attempt++) {
      const { row, relations } = await this.authorized(id, userId, 'recording.edit');
      if (patch.projectId !== undefined && patch.projectId !== row.project_id) {
        const target = patch.projectId === null ? null : await this.repo.roleIn(patch.projectId, userId);
        authorizeMove(relations, patch.projectId === null ? null : relationsOf(userId, { role: target }));
      }
      const changed = await this.repo.update(id, row.project_id, {
        ...(patch.title !== undefined ? { title: patch.title.trim() } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.projectId !== undefined ? { project_id: patch.projectId } : {}),
      });
      if (changed) return this.changed(id, userId);
    }
    throw new AppError('RECORDING_CHANGED');
  }

  /**
   * The recording as the user's change left it. Not checked again: a project owner who moved a member's
   * recording out of the project sees the result of that, though the recording is no longer theirs to see.
   */
  private async changed(id: string, userId: string) {
    const row = await this.repo.getWithRole(id, userId);
    if (!row) throw new AppError('RECORDING_NOT_FOUND'); // deleted right after the change
    return toApi(row, userId, row.role);
  }

  /** The row and an outbox entry change together; the media objects go in a job afterwards. */
  async delete(id: string, userId: string): Promise<void> {
    for (let attempt = 0; attempt < STALE_DECISION_ATTEMPTS; attempt++) {
      const { row } = await this.authorized(id, userId, 'recording.delete');
      if (await this.repo.delete(id, row.project_id)) {
        await this.queue.send(JOBS.deleteMedia, {});
        return;
      }
    }
    throw new AppError('RECORDING_CHANGED');
  }

  async retry(id: string, userId: string) {
    const { row } = await this.authorized(id, userId, 'recording.retry');
    if (row.status !== 'failed') throw new AppError('NOT_RETRYABLE');
    await this.repo.setStatus(id, 'processing', { progress: 0, error: null });
    await this.queue.send(JOBS.processRecording, { recordingId: id }, { singletonKey: id });
    return this.get(id, userId);
  }

  /**
   * What to serve for /media or /thumbnail, once access.ts allows it: the object in the storage the
   * row names, and an expiring URL when redirects are set up (media-urls.ts).
   */
  async mediaSource(id: string, userId: string, which: 'media' | 'thumbnail', version?: string): Promise<MediaSource> {
    const { row } = await this.authorized(id, userId, 'recording.media');
    return this.sourceOf(row, which, version);
  }

  /**
   * A recording as a share link's visitor sees it (issue 13): the link authorized it already
   * (shares.service.ts resolveVisitor and access.ts share.view), so only its existence is checked here.
   */
  async sharedRecording(id: string) {
    const row = await this.repo.getById(id);
    if (!row) throw new AppError('SHARE_GONE'); // deleted between the link's check and this read
    return { ...toApi(row, ''), width: row.metadata?.width ?? null, height: row.metadata?.height ?? null };
  }

  /** The current version's media or thumbnail for a share link's visitor (authorized by the link). */
  async sharedMediaSource(id: string, which: 'media' | 'thumbnail'): Promise<MediaSource> {
    const row = await this.repo.getById(id);
    if (!row) throw new AppError('SHARE_GONE');
    return this.sourceOf(row, which, undefined);
  }

  private async sourceOf(row: Row, which: 'media' | 'thumbnail', version: string | undefined): Promise<MediaSource> {
    // the current version unless ?version= picks the original or another ready version (issue 12)
    const versionId = version === 'original' ? null : (version ?? row.current_version_id);
    if (versionId) {
      const source = await this.versionSource(row, versionId, which);
      if (source) return source;
    }
    const key = which === 'media' ? row.storage_key : row.metadata?.thumbnail_key;
    if (!key) {
      throw which === 'media'
        ? new AppError('MEDIA_UNAVAILABLE')
        : new AppError('MEDIA_UNAVAILABLE', 'The recording has no thumbnail (yet)');
    }
    const storage = this.storageOf(row);
    // the row's type, not the key's extension: an audio-only WebM is audio/webm
    const contentType = which === 'media' ? (row.mime_type ?? undefined) : undefined;
    const redirect = await this.media.redirects.redirectFor({ storage, key, contentType });
    return { storage, key, redirect, contentType };
  }

  /**
   * A ready version's media or thumbnail, in the storage its row names (404 VERSION_NOT_FOUND for any other
   * id); undefined for a version without a thumbnail (the original's is shown).
   */
  private async versionSource(
    row: Row,
    versionId: string,
    which: 'media' | 'thumbnail',
  ): Promise<MediaSource | undefined> {
    const v = await this.repo.readyVersion(row.id, versionId);
    if (!v) throw new AppError('VERSION_NOT_FOUND');
    const key = which === 'media' ? v.storage_key : v.thumbnail_key;
    if (!key) return undefined;
    const storage = this.storageOf({ ...row, ...v, id: row.id });
    const contentType = which === 'media' ? (v.mime_type ?? undefined) : undefined;
    const redirect = await this.media.redirects.redirectFor({ storage, key, contentType });
    return { storage, key, redirect, contentType };
  }

  /**
   * A picture the user (or their legacy import) uploads as the thumbnail: needs the right to edit the
   * recording; stored in the recording's own storage; processing never replaces it.
   */
  async putThumbnail(id: string, userId: string, bytes: Uint8Array) {
    const { row } = await this.authorized(id, userId, 'recording.edit');
    await storeUploadedThumbnail(this.storageOf(row), this.repo, row, bytes);
    return this.get(id, userId);
  }

  /** The storage the row's columns name; 503 STORAGE_NOT_CONFIGURED when this server cannot reach it. */
  private storageOf(row: Row): Storage {
    const location = { provider: row.storage_provider, bucket: row.storage_bucket, region: row.storage_region };
    try {
      return this.media.storages.forLocation(location);
    } catch (err) {
      if (!(err instanceof StorageNotConfiguredError)) throw err;
      this.media.logger?.warn({ recordingId: row.id, location }, `recording media unreachable: ${err.message}`);
      throw new AppError(
        'STORAGE_NOT_CONFIGURED',
        `This recording's media is in ${location.provider} storage that this server has no settings for; ` +
          'an operator must configure it (see docs/storage.md)',
      );
    }
  }
}
