/**
 * Recording sessions: one per take, the server's record that a take exists, how far it got and what
 * became of it (docs/web-architecture.md, "Server API added"). The browser creates it when recording
 * starts, beats every 10 s, says when the tab closes, gives the take's details when the user keeps it,
 * or discards it. The upload's finish (uploads.service.ts) turns a kept take into its one recording.
 */
import type { Logger } from '../logger.js';
import type { SessionMetrics } from '../metrics/metrics.js';
import type { RecordingType, SessionStatus, SessionTake } from '../db/schema.js';
import { AppError } from '../errors.js';
import { authorize, relationsOf } from '../access/access.js';
import { isBigintId } from '../ids.js';
import type { SessionRow, SessionsRepository, UploadRow } from './sessions.repository.js';
import { parseDevice } from './device.js';
import type { SessionEventDetail, SessionEventKind } from '../db/schema.js';
import type { UNFINISHED } from './sessions.schemas.js';

/**
 * An active take silent for this long is listed as unfinished: 3× the browser's 10 s beat, so one late
 * beat offers no live take.
 */
export const UNFINISHED_QUIET_SECONDS = 30;
/** Largest JSON accepted for device info, settings, take metadata (bytes of its JSON text). */
const MAX_JSON_BYTES = 64 * 1024;
/**
 * How far ahead of our clock a client's startedAt may be. Any past time is fine: a take recorded offline
 * and recovered days later still gets its session.
 */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** What the service needs from the tus datastore: how many bytes an unfinished upload holds, and removal. */
export interface UploadFiles {
  offset(uploadId: string): Promise<number | undefined>;
  remove(uploadId: string): Promise<void>;
}

export const staleMessage = (seconds: number) =>
  `The recording tab was closed or crashed: the server heard nothing from it for ${seconds} s. ` +
  'What reached the server, and any copy kept in the browser, can still be recovered.';

/**
 * One pass of the stale-session sweep (jobs/session-sweep.ts): active takes silent for staleSeconds
 * become interrupted, so the app offers them for recovery. Resolves to the sessions it interrupted.
 */
export function interruptStaleSessions(repo: SessionsRepository, staleSeconds: number) {
  return repo.interruptSilent(staleSeconds, staleMessage(staleSeconds));
}

export const DEFAULT_INTERRUPT_REASON = 'The recording stopped before it was kept (the tab was closed or left).';

function boundedJson(field: string, v: unknown): void {
  if (v === undefined) return;
  const text = JSON.stringify(v);
  if (Buffer.byteLength(text) > MAX_JSON_BYTES)
    throw new AppError('VALIDATION_FAILED', `"${field}" must be at most ${MAX_JSON_BYTES} bytes of JSON`, { field });
  // jsonb cannot hold U+0000 in a string: refuse it here rather than fail the query.
  if (text.includes('\\u0000'))
    throw new AppError('VALIDATION_FAILED', `"${field}" must not contain NUL characters`, { field });
}

export class SessionsService {
  constructor(
    private readonly repo: SessionsRepository,
    private readonly files: UploadFiles,
    private readonly logger: Logger,
    private readonly metrics?: SessionMetrics,
  ) {}

  private async toApi(row: SessionRow, upload: UploadRow | undefined) {
    let offset = upload ? Number(upload.upload_offset) : 0;
    // uploads.upload_offset is written at finish; while bytes still arrive the datastore knows better.
    if (upload?.status === 'uploading') offset = (await this.files.offset(upload.id).catch(() => undefined)) ?? offset;
    return {
      id: row.id,
      recordingType: row.recording_type,
      status: row.status,
      startedAt: row.started_at.toISOString(),
      endedAt: row.ended_at?.toISOString() ?? null,
      duration: row.duration,
      deviceInfo: (row.device_info ?? null) as Record<string, unknown> | null,
      settings: (row.settings ?? null) as Record<string, unknown> | null,
      errorMessage: row.error_message,
      projectId: row.project_id,
      lastHeartbeatAt: row.last_heartbeat_at?.toISOString() ?? null,
      recordingId: row.recording_id,
      discarded: row.discarded_at !== null,
      take: (row.take ?? null) as SessionTake | null,
      upload: upload
        ? {
            id: upload.id,
            url: `/api/uploads/${upload.id}`,
            offset,
            length: upload.upload_length === null ? null : Number(upload.upload_length),
            status: upload.status,
          }
        : null,
    };
  }

  /**
   * The take's timeline (analytics drill-down), after its change committed: an event that cannot be written
   * is logged, and the change stands (a gap in a timeline, never a failed heartbeat).
   */
  private async note(id: string, kind: SessionEventKind, detail?: SessionEventDetail): Promise<void> {
    await this.repo.events
      .record(id, kind, detail)
      .catch((err: Error) => this.logger.warn({ sessionId: id, kind, err: err.message }, 'session event not written'));
  }

  private async one(row: SessionRow) {
    return this.toApi(row, (await this.repo.latestUploads([row.id])).get(row.id));
  }

  /**
   * The row once access.ts allows acting on it: SESSION_NOT_FOUND for another user's id too (never
   * reveal it exists). The repository reads only the user's own rows, so another's comes back as none.
   */
  private async find(id: string, userId: string): Promise<SessionRow> {
    const row = isBigintId(id) ? await this.repo.get(id, userId) : undefined;
    authorize('session.act', relationsOf(userId, { creatorId: row?.user_id }));
    return row!;
  }

  /** A conditional update matched nothing: say why, from the row as it is now. */
  private async refused(id: string, userId: string, action: string): Promise<never> {
    const row = await this.find(id, userId);
    if (row.discarded_at) throw new AppError('SESSION_DISCARDED', `This take was discarded; it cannot ${action}`);
    if (row.recording_id)
      throw new AppError(
        'SESSION_CLOSED',
        `This take was kept already (recording ${row.recording_id}); it cannot ${action}`,
        { recordingId: row.recording_id },
      );
    throw new AppError('SESSION_CLOSED', `This take is ${row.status}; it cannot ${action}`);
  }

  /** A take recorded for a project: the right to add recordings to it (access.ts). */
  private async checkProject(projectId: string, userId: string) {
    const role = isBigintId(projectId) ? await this.repo.roleIn(projectId, userId) : undefined;
    authorize('project.addRecordings', relationsOf(userId, { role }));
  }

  async create(
    userId: string,
    b: {
      recordingType: RecordingType;
      projectId?: string | null;
      deviceInfo?: object;
      settings?: object;
      startedAt?: string;
    },
  ) {
    if (b.projectId) await this.checkProject(b.projectId, userId);
    boundedJson('deviceInfo', b.deviceInfo);
    boundedJson('settings', b.settings);
    let startedAt: Date | undefined;
    if (b.startedAt !== undefined) {
      startedAt = new Date(b.startedAt);
      if (Number.isNaN(startedAt.getTime()) || startedAt.getTime() - Date.now() > MAX_CLOCK_AHEAD_MS) {
        throw new AppError(
          'VALIDATION_FAILED',
          '"startedAt" must be a time in the past (at most 5 minutes ahead of the server)',
          { field: 'startedAt' },
        );
      }
    }
    const row = await this.repo.create({
      userId,
      recordingType: b.recordingType,
      projectId: b.projectId ?? null,
      deviceInfo: b.deviceInfo,
      settings: b.settings,
      startedAt,
      device: parseDevice(b.deviceInfo, b.settings),
    });
    await this.note(row.id, 'started');
    this.logger.info({ sessionId: row.id, userId, recordingType: row.recording_type }, 'recording session started');
    this.metrics?.transition('active');
    return this.toApi(row, undefined);
  }

  async list(userId: string, q: { state?: SessionStatus | typeof UNFINISHED; limit?: number }) {
    const rows = await this.repo.list(userId, q.state, q.limit ?? 50, UNFINISHED_QUIET_SECONDS);
    const uploads = await this.repo.latestUploads(rows.map((r) => r.id));
    return { items: await Promise.all(rows.map((r) => this.toApi(r, uploads.get(r.id)))) };
  }

  async get(id: string, userId: string) {
    return this.one(await this.find(id, userId));
  }

  async heartbeat(id: string, userId: string, b: { durationMs?: number; bytes?: number } | null | undefined) {
    const before = await this.find(id, userId);
    const row = await this.repo.heartbeat(
      id,
      userId,
      b?.durationMs === undefined ? undefined : Math.round(b.durationMs / 1000),
    );
    if (!row) return this.refused(id, userId, 'beat');
    await this.note(id, before.status === 'interrupted' ? 'resumed' : 'heartbeat', {
      ...(b?.durationMs === undefined ? {} : { durationMs: b.durationMs }),
      ...(b?.bytes === undefined ? {} : { bytes: b.bytes }),
    });
    if (before.status === 'interrupted') {
      this.logger.info(
        { sessionId: id, userId, was: before.error_message },
        'recording session active again: its tab came back',
      );
      this.metrics?.transition('active');
    } else
      this.logger.debug({ sessionId: id, durationMs: b?.durationMs, bytes: b?.bytes }, 'recording session heartbeat');
    return this.one(row);
  }

  async interrupt(id: string, userId: string, reason: string | undefined) {
    const row = await this.repo.interrupt(id, userId, reason?.trim() || DEFAULT_INTERRUPT_REASON);
    if (!row) return this.refused(id, userId, 'be interrupted');
    await this.note(id, 'interrupted', { reason: row.error_message ?? '', by: 'client' });
    this.logger.info({ sessionId: id, userId, reason: row.error_message }, 'recording session interrupted');
    this.metrics?.interrupted('client');
    return this.one(row);
  }

  async setTake(
    id: string,
    userId: string,
    b: {
      title?: string;
      description?: string | null;
      projectId?: string | null;
      durationMs?: number;
      metadata?: object;
    },
  ) {
    await this.find(id, userId);
    if (b.projectId) await this.checkProject(b.projectId, userId);
    boundedJson('metadata', b.metadata);
    const take: SessionTake = {
      ...(b.title !== undefined ? { title: b.title.trim() } : {}),
      ...(b.description !== undefined ? { description: b.description } : {}),
      ...(b.projectId !== undefined ? { projectId: b.projectId } : {}),
      ...(b.durationMs !== undefined ? { durationMs: b.durationMs } : {}),
      ...(b.metadata !== undefined ? { metadata: b.metadata as Record<string, unknown> } : {}),
    };
    const row = await this.repo.setTake(id, userId, take as Record<string, unknown>, b.projectId);
    if (!row) return this.refused(id, userId, 'change its details');
    await this.note(id, 'kept');
    return this.one(row);
  }

  /**
   * Thrown away. Its unfinished uploads are marked terminated with the session (one transaction), then
   * their bytes removed. A crash in between leaves the bytes of a terminated upload in DATA_DIR/uploads:
   * tus refuses to resume or finish it (its row is no longer `uploading`, so no recording can appear),
   * and the bytes wait there for the datastore's expiry clean-up.
   */
  async discard(id: string, userId: string) {
    const done = await this.repo.discard(id, userId);
    if (!done) return this.refused(id, userId, 'be discarded');
    await this.note(id, 'discarded');
    for (const u of done.terminated)
      await this.files
        .remove(u)
        .catch((err: Error) =>
          this.logger.warn({ uploadId: u, err: err.message }, 'could not remove a discarded take’s upload'),
        );
    this.logger.info({ sessionId: id, userId, uploads: done.terminated.length }, 'recording session discarded');
    this.metrics?.transition('discarded');
    return this.one(done.row);
  }
}
