import type { Storage } from '../storage/storage.js';
import type { Quality, RecordingStatus, RecordingType, MemberRole } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import { assertCanAddRecordings } from '../projects/membership.js';
import type { RecordingMetadata } from './metadata.js';
import type { RecordingsRepository } from './recordings.repository.js';

type Row = NonNullable<Awaited<ReturnType<RecordingsRepository['getById']>>>;

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

function canEdit(row: { user_id: string }, userId: string, role: MemberRole | null | undefined): boolean {
  return row.user_id === userId || role === 'owner' || role === 'editor';
}

function canDelete(row: { user_id: string }, userId: string, role: MemberRole | null | undefined): boolean {
  return row.user_id === userId || role === 'owner';
}

export function toApi(row: Row, userId: string, role?: MemberRole | null) {
  const meta: RecordingMetadata = row.metadata ?? {};
  return {
    id: row.id,
    userId: row.user_id,
    projectId: row.project_id,
    title: row.title,
    description: row.description,
    recordingType: row.recording_type,
    duration: row.duration,
    fileSize: row.file_size === null ? null : Number(row.file_size),
    mimeType: row.mime_type,
    quality: row.quality,
    status: row.status,
    progress: row.status === 'processing' && typeof meta.progress === 'number' ? meta.progress : null,
    error: row.status === 'failed' && typeof meta.error === 'string' ? meta.error : null,
    mediaUrl: row.storage_key ? (row.cdn_url ?? `/api/recordings/${row.id}/media`) : null,
    thumbnailUrl: row.thumbnail_url,
    metadata: meta,
    canEdit: canEdit(row, userId, role),
    canDelete: canDelete(row, userId, role),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export class RecordingsService {
  constructor(
    private readonly repo: RecordingsRepository,
    private readonly storage: Storage,
    private readonly queue: JobQueue,
  ) {}

  async list(userId: string, p: ListParams) {
    const limit = p.limit ?? 50;
    if (p.projectId && !(isBigintId(p.projectId) && (await this.repo.roleIn(p.projectId, userId))))
      throw new AppError('PROJECT_NOT_FOUND');
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

  /** 404 for anything the user cannot see, whether or not it exists. */
  async visible(id: string, userId: string) {
    const row = isBigintId(id) ? await this.repo.getVisible(id, userId) : undefined;
    if (!row) throw new AppError('RECORDING_NOT_FOUND');
    return row;
  }

  async get(id: string, userId: string) {
    const row = await this.visible(id, userId);
    return toApi(row, userId, row.role);
  }

  async update(
    id: string,
    userId: string,
    patch: { title?: string; description?: string | null; projectId?: string | null },
  ) {
    const row = await this.visible(id, userId);
    if (!canEdit(row, userId, row.role))
      throw new AppError('FORBIDDEN', 'Viewers of a project cannot change its recordings');
    if (patch.title === undefined && patch.description === undefined && patch.projectId === undefined) {
      throw new AppError('VALIDATION_FAILED', 'Nothing to change: send title, description or projectId');
    }
    if (patch.projectId !== undefined && patch.projectId !== null) {
      assertCanAddRecordings(isBigintId(patch.projectId) ? await this.repo.roleIn(patch.projectId, userId) : undefined);
    }
    await this.repo.update(id, {
      ...(patch.title !== undefined ? { title: patch.title.trim() } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.projectId !== undefined ? { project_id: patch.projectId } : {}),
    });
    return this.get(id, userId);
  }

  /** The row and an outbox entry change together; the media objects go in a job afterwards. */
  async delete(id: string, userId: string): Promise<void> {
    const row = await this.visible(id, userId);
    if (!canDelete(row, userId, row.role))
      throw new AppError('FORBIDDEN', 'Only its owner or the project owner can delete a recording');
    if (await this.repo.delete(id)) await this.queue.send(JOBS.deleteMedia, {});
  }

  async retry(id: string, userId: string) {
    const row = await this.visible(id, userId);
    if (!canEdit(row, userId, row.role)) throw new AppError('FORBIDDEN');
    if (row.status !== 'failed') throw new AppError('NOT_RETRYABLE');
    await this.repo.setStatus(id, 'processing', { progress: 0, error: null });
    await this.queue.send(JOBS.processRecording, { recordingId: id }, { singletonKey: id });
    return this.get(id, userId);
  }

  /** What to stream for /media or /thumbnail: the key, or a CDN URL to redirect to. */
  async mediaSource(id: string, userId: string, which: 'media' | 'thumbnail') {
    const row = await this.visible(id, userId);
    if (which === 'media') {
      if (!row.storage_key) throw new AppError('MEDIA_UNAVAILABLE');
      // the row's type, not the key's extension: an audio-only WebM is audio/webm
      return {
        key: row.storage_key,
        redirect: row.cdn_url ?? undefined,
        storage: this.storage,
        contentType: row.mime_type ?? undefined,
      };
    }
    const key = row.metadata?.thumbnail_key;
    if (!key) throw new AppError('MEDIA_UNAVAILABLE', 'The recording has no thumbnail (yet)');
    return { key, redirect: this.storage.publicUrl(key), storage: this.storage, contentType: undefined };
  }
}
