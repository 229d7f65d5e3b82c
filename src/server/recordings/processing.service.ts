/**
 * Processing a recording: probe it, give a MediaRecorder WebM the duration and cues players need to
 * seek (remux, no re-encode), make a thumbnail, then fill duration, file_size, mime_type,
 * thumbnail_url and metadata and mark it completed.
 *
 * Idempotent: every step reads the stored object and overwrites what it produces under fixed keys,
 * so a run repeated after a crash gives the same result. The stored original is only ever replaced
 * atomically by its verified remux; on failure it is left as it was.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Logger, takeIdsOf } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import { type ProbeResult, probe, probeDuration } from '../media/probe.js';
import { fixWebmDuration } from '../media/remux.js';
import { makeThumbnail } from '../media/thumbnail.js';
import { asRegistry } from '../storage/factory.js';
import { thumbnailKey } from '../storage/keys.js';
import type { StorageRegistry } from '../storage/registry.js';
import type { Storage } from '../storage/storage.js';
import { wholeSeconds } from './duration.js';
import type { RecordingMetadata, ServerMetadata } from './metadata.js';
import type { RecordingsRepository } from './recordings.repository.js';

export type ProcessOutcome = 'done' | 'gone' | 'already';

export interface ProcessingDeps {
  recordings: RecordingsRepository;
  /**
   * Every configured storage: a recording is read, remuxed and given its thumbnail in the storage its row
   * names (a single Storage: that one alone).
   */
  storage: StorageRegistry | Storage;
  /** undefined: no ffmpeg here; duration comes from mediabunny and no thumbnail is made. */
  tools: MediaTools | undefined;
  logger: Logger;
  /** Where the working copy goes (the system's temporary directory by default). */
  tmpDir?: string;
}

type RecordingRow = NonNullable<Awaited<ReturnType<RecordingsRepository['getById']>>>;

/** The recording being processed, its media's key, and the storage its row names. */
interface Target {
  row: RecordingRow;
  key: string;
  storage: Storage;
}

/** What one run learns about a recording's media, step by step. */
interface Measured {
  durationMs: number;
  info: ProbeResult | undefined;
  skipped: string[];
  fileSize: number;
  /** Set when the remux replaced the stored object: the new object's hash. */
  storedSha256: string | undefined;
  durationFixed: boolean;
  thumbnail: { key: string; url: string } | undefined;
}

const MATROSKA_TYPES = new Set(['video/webm', 'audio/webm', 'video/x-matroska']);

/** A video container type whose probe found sound only, as the audio type of the same container. */
const AUDIO_MIME: Record<string, string> = {
  'video/webm': 'audio/webm',
  'video/mp4': 'audio/mp4',
  'video/ogg': 'audio/ogg',
};
function audioMimeOf(mime: string | null): string | null {
  return mime ? (AUDIO_MIME[mime] ?? mime) : mime;
}

/** The uploaded bytes' hash: upload_sha256 since finish records it, else sha256 (never yet replaced). */
function uploadSha256(metadata: RecordingMetadata | null): string | null {
  return metadata?.upload_sha256 ?? metadata?.sha256 ?? null;
}

/** The reason is capped: it is shown to the user and kept in the row. */
const MAX_REASON_CHARS = 2000;

/** The last attempt failed: the recording says why; its original media stays as it was. */
export async function recordProcessingFailure(
  recordings: RecordingsRepository,
  recordingId: string,
  reason: string,
): Promise<void> {
  const failure: ServerMetadata = {
    error: reason.slice(0, MAX_REASON_CHARS),
    failed_at: new Date().toISOString(),
    progress: null,
  };
  await recordings.mergeMetadata(recordingId, failure, 'failed');
}

export class ProcessingService {
  private readonly storages: StorageRegistry;

  constructor(private readonly deps: ProcessingDeps) {
    this.storages = asRegistry(deps.storage);
  }

  async process(recordingId: string): Promise<ProcessOutcome> {
    const row = await this.deps.recordings.getById(recordingId);
    if (!row?.storage_key) return 'gone';
    if (row.status === 'completed') return 'already';
    // A row in a storage without settings here throws: the job retries, then the recording says why.
    const location = { provider: row.storage_provider, bucket: row.storage_bucket, region: row.storage_region };
    const storage = this.storages.forLocation(location);
    const work = await fs.mkdtemp(path.join(this.deps.tmpDir ?? os.tmpdir(), `recorder-process-${recordingId}-`));
    try {
      const measured = await this.measure({ row, key: row.storage_key, storage }, work);
      await this.deps.recordings.markProcessed(recordingId, columnsOf(row, measured), metadataOf(row, measured));
      const { durationMs, durationFixed, thumbnail } = measured;
      // bound ids: the take's session and upload too, so one grep follows it here (docs/monitoring.md)
      this.deps.logger
        .child(takeIdsOf(row))
        .info({ durationMs, durationFixed, thumbnail: Boolean(thumbnail) }, 'recording processed');
      return 'done';
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  markFailed(recordingId: string, reason: string): Promise<void> {
    return recordProcessingFailure(this.deps.recordings, recordingId, reason);
  }

  /** Download, probe, fix the duration, make the thumbnail; progress is saved after each step. */
  private async measure(target: Target, work: string): Promise<Measured> {
    const { row, key } = target;
    const progress = (p: number) => this.deps.recordings.mergeMetadata(row.id, { progress: p });
    const src = path.join(work, path.basename(key));
    const obj = await target.storage.get(key);
    await pipeline(obj.body, createWriteStream(src));
    await progress(0.2);
    const probed = await this.probe(src);
    await progress(0.4);
    const fix = await this.fixDuration(target, src, probed.info);
    await progress(0.7);
    const thumbnail = await this.thumbnail(target, src, work);
    const remuxed = { fileSize: fix?.size ?? obj.size, storedSha256: fix?.sha256, durationFixed: fix !== undefined };
    return { ...probed, ...remuxed, thumbnail };
  }

  private async probe(src: string): Promise<Pick<Measured, 'durationMs' | 'info' | 'skipped'>> {
    const { tools } = this.deps;
    if (tools) {
      const info = await probe(src, tools);
      return { durationMs: info.durationMs, info, skipped: [] };
    }
    return {
      durationMs: await probeDuration(src),
      info: undefined,
      skipped: ['codec and dimension probe (no ffprobe)', 'duration fix (no ffmpeg)', 'thumbnail (no ffmpeg)'],
    };
  }

  /**
   * A Matroska/WebM without a duration in its header (MediaRecorder writes none) is remuxed; the
   * stored object is replaced by the remux only when it verified. Undefined when nothing changed.
   */
  private async fixDuration({ row, key, storage }: Target, src: string, info: ProbeResult | undefined) {
    const { tools } = this.deps;
    if (!tools || !MATROSKA_TYPES.has(row.mime_type ?? '') || info?.durationSource === 'header') return undefined;
    const fixedFile = path.join(path.dirname(src), `fixed-${path.basename(key)}`);
    const fix = await fixWebmDuration(src, fixedFile, tools);
    if (!fix.fixed) return undefined;
    const put = await storage.put(key, fixedFile, { contentType: row.mime_type ?? undefined });
    await fs.rename(fixedFile, src);
    return put;
  }

  private async thumbnail({ row, storage }: Target, src: string, work: string) {
    const { tools } = this.deps;
    // an uploaded thumbnail (a legacy item's) is the one the user knows; markProcessed keeps it too
    if (!tools || row.metadata?.thumbnail_uploaded) return undefined;
    const jpg = path.join(work, 'thumbnail.jpg');
    await makeThumbnail(src, jpg, tools);
    const key = thumbnailKey(row.user_id, row.id);
    await storage.put(key, jpg, { contentType: 'image/jpeg' });
    return { key, url: `/api/recordings/${row.id}/thumbnail` };
  }
}

function columnsOf(row: RecordingRow, m: Measured) {
  return {
    duration: wholeSeconds(m.durationMs),
    file_size: m.fileSize,
    // a WebM/MP4 with sound only is audio (the upload sniff reads the container, not its tracks)
    mime_type: m.info?.hasVideo === false ? audioMimeOf(row.mime_type) : row.mime_type,
    thumbnail_url: m.thumbnail?.url ?? null,
  };
}

function metadataOf(row: RecordingRow, m: Measured): ServerMetadata {
  const { info } = m;
  return {
    duration_ms: Math.round(m.durationMs),
    width: info?.width ?? null,
    height: info?.height ?? null,
    video_codec: info?.videoCodec ?? null,
    audio_codec: info?.audioCodec ?? null,
    bitrate: info?.bitrate ?? null,
    has_video: info?.hasVideo ?? null,
    has_audio: info?.hasAudio ?? null,
    duration_source: info?.durationSource ?? 'mediabunny',
    duration_fixed: m.durationFixed,
    // the stored bytes changed with the remux: sha256 describes what is stored, the upload's stays too
    // (finish writes upload_sha256 itself; rows from before it did have only sha256 to go by)
    ...(m.storedSha256 ? { sha256: m.storedSha256, upload_sha256: uploadSha256(row.metadata) } : {}),
    thumbnail_key: m.thumbnail?.key ?? null,
    processing_skipped: m.skipped,
    processed_at: new Date().toISOString(),
  };
}
