/**
 * Legacy import (issue 11): recordings made before the server existed come home, from the browser (each
 * item through the ordinary tus path, with legacy Upload-Metadata: uploads.service.ts) or from an export
 * file on the server (`recorder import legacy`, through importFile here). An import is a row with its
 * items and their outcomes, so support can answer "what happened to my recordings?".
 *
 * Nothing doubled: the legacy key (user, source, legacy id, sha256) is claimed in the transaction that
 * inserts the recording (legacy-claim.ts); whoever loses the race records 'already' and points at the
 * winner's recording. A recording deleted since keeps its key: a re-run does not bring it back.
 *
 * Crashes, step by step (importFile; the tus path is described in uploads.service.ts):
 *  put     the object goes to primary storage under users/<u>/recordings/<reserved id>/ — a crash after it
 *          leaves an object with no row and no upload reserving its id: the storage sweep (maintenance)
 *          deletes it once past its grace period. Nothing was claimed, so a re-run imports the item again,
 *          under a new id.
 *  commit  claim-or-already and the recording row in one transaction: a crash before its commit leaves
 *          neither (the same as above); after it, the recording exists and a re-run finds it 'already'.
 *  queue   processing (a crash before it: requeueProcessing at the next start finds it `processing`).
 */
import type { Kysely } from 'kysely';
import { authorize, relationsOf } from '../access/access.js';
import { AccessRepository } from '../access/access.repository.js';
import { decodeDataUrl, type LegacyItem, type LegacySource } from '../../shared/legacy-format.js';
import type { DB, LegacyImportOrigin, NewRecording } from '../db/schema.js';
import { AppError } from '../errors.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import { sniffFile } from '../media/sniff.js';
import { wholeSeconds } from '../recordings/duration.js';
import type { RecordingMetadata } from '../recordings/metadata.js';
import { RecordingsRepository } from '../recordings/recordings.repository.js';
import { storeUploadedThumbnail } from '../recordings/thumbnail-upload.js';
import { recordingKey, recordingPrefix } from '../storage/keys.js';
import type { Storage } from '../storage/storage.js';
import { UploadsRepository } from '../uploads/uploads.repository.js';
import { type ImportItemRow, type ImportRow, ImportsRepository, type OutcomeCounts } from './imports.repository.js';
import type { Import, ImportItem, LegacyKey, LookupResult, Skip } from './imports.schemas.js';
import { claimOrAlready, DELETED_SINCE } from './legacy-claim.js';
import { defaultTitle } from '../../shared/take-names.js';
import { checkCreatedAt, checkLegacyKey } from './legacy-fields.js';

/** A running import with nothing happening for this long is shown as interrupted (a closed tab). */
export const INTERRUPTED_AFTER_MS = 10 * 60 * 1000;
const LIST_LIMIT = 50;
const MAX_TITLE = 300;
const MAX_DESCRIPTION = 10_000;

/**
 * What importFile needs of an item: a LegacyItem of the shared parser (its media already decoded into a
 * file, so `media` is not read) and the source it came from.
 */
export type ImportableItem = Pick<
  LegacyItem,
  'legacyId' | 'title' | 'recordingType' | 'durationMs' | 'createdAt' | 'description' | 'quality'
> & { legacySource: LegacySource; thumbnail?: string | null };

/** The item's bytes, decoded into a local file, and what the caller measured while writing it. */
export interface ImportFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ImportFileResult {
  outcome: 'imported' | 'already' | 'skipped';
  recordingId: string | null;
  /** Why it was skipped (NOT_MEDIA, VALIDATION_FAILED, LEGACY_SHA256_MISMATCH), or why 'already' has none. */
  reason?: string;
  message?: string;
}

export interface ImportsServiceDeps {
  db: Kysely<DB>;
  /** The primary storage: where importFile puts the objects (as new uploads). */
  storage: Storage;
  queue: JobQueue;
  logger: Logger;
}

export function presentImport(row: ImportRow, counts: OutcomeCounts, now = Date.now()): Import {
  const idle = now - row.updated_at.getTime() > INTERRUPTED_AFTER_MS;
  return {
    id: row.id,
    origin: row.origin,
    status: row.status === 'running' && idle ? 'interrupted' : row.status,
    itemCount: row.item_count,
    byteCount: Number(row.byte_count),
    ...counts,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

export function presentItem(row: ImportItemRow): ImportItem {
  return {
    legacySource: row.legacy_source,
    legacyId: row.legacy_id,
    title: row.title,
    sha256: row.sha256,
    size: row.size === null ? null : Number(row.size),
    outcome: row.outcome,
    reason: row.reason,
    message: row.message,
    recordingId: row.recording_id,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * The user's import (404 IMPORT_NOT_FOUND for anyone else's, as for none), still taking items unless
 * `finished` is allowed (409 IMPORT_FINISHED).
 */
export async function ownImport(
  repo: ImportsRepository,
  userId: string,
  importId: string,
  opts: { running: boolean },
): Promise<ImportRow> {
  const row = await repo.get(importId);
  authorize('import.act', relationsOf(userId, { creatorId: row?.user_id }));
  if (opts.running && row!.status !== 'running') throw new AppError('IMPORT_FINISHED');
  return row!;
}

export class ImportsService {
  readonly repo: ImportsRepository;
  private readonly access: AccessRepository;

  constructor(private readonly deps: ImportsServiceDeps) {
    this.repo = new ImportsRepository(deps.db);
    this.access = new AccessRepository(deps.db);
  }

  async startImport(
    userId: string,
    v: { origin: LegacyImportOrigin; itemCount: number; byteCount: number; client?: string | null },
  ): Promise<Import> {
    const client = v.client ? v.client.slice(0, 500) : null;
    const row = await this.repo.create({
      userId,
      origin: v.origin,
      itemCount: v.itemCount,
      byteCount: v.byteCount,
      client,
    });
    return presentImport(row, { imported: 0, already: 0, skipped: 0, failed: 0 });
  }

  async list(userId: string): Promise<Import[]> {
    const rows = await this.repo.listForUser(userId, LIST_LIMIT);
    const counts = await this.repo.counts(rows.map((r) => r.id));
    return rows.map((r) => presentImport(r, counts.get(r.id)!));
  }

  async describe(userId: string, importId: string): Promise<{ import: Import; items: ImportItem[] }> {
    const row = await ownImport(this.repo, userId, importId, { running: false });
    const counts = await this.repo.counts([row.id]);
    return { import: presentImport(row, counts.get(row.id)!), items: (await this.repo.items(row.id)).map(presentItem) };
  }

  /** Which keys are on the server already; each found one is recorded in this import as 'already', once. */
  async lookup(userId: string, importId: string, keys: LegacyKey[]): Promise<LookupResult[]> {
    await ownImport(this.repo, userId, importId, { running: true });
    const held = await this.repo.claimed(userId, keys);
    const keyOf = (k: { legacySource: string; legacyId: string; sha256: string }) =>
      `${k.legacySource}\n${k.legacyId}\n${k.sha256}`;
    const byKey = new Map(held.map((h) => [keyOf(h), h]));
    const already = held
      .filter((h) => h.importId !== importId)
      .map((h) => ({
        ...h,
        importId,
        userId,
        title: null,
        message: h.recordingId ? null : DELETED_SINCE,
      }));
    await this.repo.recordAlready(already);
    await this.repo.touch(importId);
    return keys.map((k) => {
      const h = byKey.get(keyOf(k));
      return { ...k, recordingId: h?.recordingId ?? null, size: h?.size ?? null, found: !!h };
    });
  }

  /** Items the client could not import: 'skipped', or 'failed' when their upload failed (UPLOAD_FAILED). */
  async recordSkips(userId: string, importId: string, skips: Skip[]): Promise<void> {
    await ownImport(this.repo, userId, importId, { running: true });
    await this.repo.insertItems(
      skips.map((s) => ({
        importId,
        userId,
        legacySource: s.legacySource,
        legacyId: s.legacyId,
        sha256: null,
        size: s.size ?? null,
        title: s.title,
        outcome: s.reason === 'UPLOAD_FAILED' ? 'failed' : 'skipped',
        reason: s.reason,
        message: s.message,
      })),
    );
    await this.repo.touch(importId);
  }

  /**
   * `totals`: what the importer learnt only at the end (the CLI reads its file once, so it starts with
   * no count of entries).
   */
  async finishImport(userId: string, importId: string, totals?: { itemCount: number }): Promise<Import> {
    await ownImport(this.repo, userId, importId, { running: false });
    const row = await this.repo.finish(importId, totals?.itemCount);
    return presentImport(row, (await this.repo.counts([importId])).get(importId)!);
  }

  /**
   * The CLI's path: the item's bytes are in a local file (decoded and hashed by the caller). Puts them in
   * primary storage under a generated key, then claims the key in the transaction that inserts the
   * recording (as the tus finish does), then queues processing. Items that cannot be imported (not media,
   * invalid fields, bytes that changed since they were hashed) are recorded and answered 'skipped'.
   */
  async importFile(
    userId: string,
    importId: string,
    item: ImportableItem,
    file: ImportFile,
    projectId: string | null,
  ): Promise<ImportFileResult> {
    await ownImport(this.repo, userId, importId, { running: true });
    if (projectId) {
      const role = await this.access.projectRole(projectId, userId);
      authorize('project.addRecordings', relationsOf(userId, { role }));
    }
    const base = {
      importId,
      userId,
      legacySource: item.legacySource,
      legacyId: item.legacyId,
      sha256: file.sha256,
      size: file.size,
      title: item.title?.slice(0, MAX_TITLE) ?? null,
    };
    const skip = async (reason: string, message: string, outcome: 'skipped' | 'failed' = 'skipped') => {
      await this.repo.insertItems([{ ...base, outcome, reason, message }]);
      await this.repo.touch(importId);
      return { outcome: 'skipped' as const, recordingId: null, reason, message };
    };
    let createdAt: Date | null;
    try {
      checkLegacyKey(item.legacySource, item.legacyId, file.sha256);
      createdAt = item.createdAt ? checkCreatedAt(item.createdAt) : null;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return skip(err.code, err.message);
    }
    const kind = await sniffFile(file.path);
    if (!kind.supported) return skip('NOT_MEDIA', `Not a recording: its bytes look like ${kind.mime}`);
    const [held] = await this.repo.claimed(userId, [base]);
    if (held) {
      if (held.importId !== importId)
        await this.repo.recordAlready([
          { ...base, recordingId: held.recordingId, message: held.recordingId ? null : DELETED_SINCE },
        ]);
      await this.repo.touch(importId);
      return {
        outcome: 'already',
        recordingId: held.recordingId,
        ...(held.recordingId ? {} : { message: DELETED_SINCE }),
      };
    }
    const uploads = new UploadsRepository(this.deps.db);
    const recordingId = await uploads.reserveRecordingId();
    const { storage } = this.deps;
    const key = recordingKey(userId, recordingId, kind.ext);
    const put = await storage.put(key, file.path, { size: file.size, contentType: kind.mime });
    if (put.sha256 !== file.sha256) {
      await storage.delete(key);
      return skip('LEGACY_SHA256_MISMATCH', 'The file changed between hashing and storing; nothing was kept', 'failed');
    }
    const mime = item.recordingType === 'audio' && kind.mime === 'video/webm' ? 'audio/webm' : kind.mime;
    const values = recordingValues({ userId, recordingId, item, createdAt, projectId, key, mime, file, storage });
    const claim = await this.deps.db.transaction().execute(async (tx) => {
      const outcome = await claimOrAlready(tx, base, recordingId, () => new RecordingsRepository(tx).insert(values));
      if (outcome.outcome === 'already') {
        const where = { provider: storage.provider, bucket: storage.bucket ?? null };
        await new UploadsRepository(tx).queueDeletion(
          where.provider,
          where.bucket,
          recordingPrefix(userId, recordingId),
        );
      }
      return outcome;
    });
    if (claim.outcome === 'imported') {
      if (item.thumbnail) await this.keepThumbnail(userId, recordingId, item.thumbnail);
      await this.deps.queue.send(JOBS.processRecording, { recordingId }, { singletonKey: recordingId });
    } else {
      await this.deps.queue.send(JOBS.deleteMedia, {});
    }
    this.deps.logger.info({ importId, legacyId: item.legacyId, ...claim }, 'legacy item imported');
    return claim;
  }

  /**
   * The legacy item's own thumbnail (a data: URL) becomes the recording's, before processing could make
   * one. Best effort: an unreadable picture leaves the one processing makes.
   */
  private async keepThumbnail(userId: string, recordingId: string, dataUrl: string): Promise<void> {
    const decoded = decodeDataUrl(dataUrl);
    const recordings = new RecordingsRepository(this.deps.db);
    try {
      if (!decoded) throw new Error('not a readable data: URL');
      await storeUploadedThumbnail(this.deps.storage, recordings, { id: recordingId, user_id: userId }, decoded.bytes);
    } catch (err) {
      this.deps.logger.warn({ recordingId, err: (err as Error).message }, 'legacy thumbnail not kept');
    }
  }
}

/** The recording an imported file becomes: what the legacy item said; processing measures the rest. */
function recordingValues(v: {
  userId: string;
  recordingId: string;
  item: ImportableItem;
  createdAt: Date | null;
  projectId: string | null;
  key: string;
  mime: string;
  file: ImportFile;
  storage: Storage;
}): NewRecording {
  const known = v.item.durationMs && v.item.durationMs > 0 ? v.item.durationMs : null;
  const durationMs = known ?? 1000;
  const metadata: RecordingMetadata = {
    sha256: v.file.sha256,
    upload_sha256: v.file.sha256,
    upload_size: v.file.size,
    duration_ms: durationMs,
    ...(known ? {} : { duration_unknown: true }),
    progress: 0,
  };
  return {
    id: v.recordingId,
    user_id: v.userId,
    project_id: v.projectId,
    // an untitled entry is named as the browser names it: its kind and when it was made
    title:
      v.item.title?.trim().slice(0, MAX_TITLE) ||
      defaultTitle(v.item.recordingType, (v.createdAt ?? new Date()).toISOString(), false),
    description: v.item.description?.trim().slice(0, MAX_DESCRIPTION) || null,
    recording_type: v.item.recordingType,
    duration: wholeSeconds(durationMs),
    file_size: v.file.size,
    mime_type: v.mime,
    storage_url: `/api/recordings/${v.recordingId}/media`,
    quality: v.item.quality ?? 'high',
    status: 'processing',
    metadata: JSON.stringify(metadata),
    storage_provider: v.storage.provider,
    storage_key: v.key,
    storage_bucket: v.storage.bucket ?? null,
    storage_region: v.storage.region ?? null,
    ...(v.createdAt ? { created_at: v.createdAt } : {}),
  };
}
