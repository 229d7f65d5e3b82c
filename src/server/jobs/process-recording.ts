/**
 * Processing a recording: probe it, give a MediaRecorder WebM the duration and cues players need to
 * seek (remux, no re-encode), make a thumbnail, then fill duration, file_size, mime_type,
 * thumbnail_url and metadata and mark it completed.
 *
 * Idempotent: every step reads the stored object and overwrites what it produces under fixed keys,
 * so a run repeated after a crash gives the same result. The stored original is only ever replaced
 * atomically by its verified remux; on failure it is left as it was.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import { probe, probeDuration, type ProbeResult } from '../media/probe.js';
import { fixWebmDuration } from '../media/remux.js';
import { makeThumbnail } from '../media/thumbnail.js';
import { wholeSeconds } from '../recordings/duration.js';
import type { RecordingMetadata, ServerMetadata } from '../recordings/metadata.js';
import { thumbnailKey } from '../storage/keys.js';
import type { Storage } from '../storage/storage.js';

export interface ProcessDeps {
  db: Kysely<DB>;
  storage: Storage;
  /** undefined: no ffmpeg here; duration comes from mediabunny and no thumbnail is made. */
  tools: MediaTools | undefined;
  logger: Logger;
  tmpDir?: string;
}

async function patchMetadata(
  db: Kysely<DB>,
  id: string,
  patch: ServerMetadata,
  status?: 'completed' | 'failed' | 'processing',
) {
  await db
    .updateTable('recordings')
    .set({
      metadata: sql`coalesce(metadata, '{}'::jsonb) || ${JSON.stringify(patch)}::jsonb`,
      ...(status ? { status } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** The uploaded bytes' hash: upload_sha256 since finish records it, else sha256 (never yet replaced). */
function uploadSha256(metadata: RecordingMetadata | null): string | null {
  return metadata?.upload_sha256 ?? metadata?.sha256 ?? null;
}

export async function processRecording(deps: ProcessDeps, recordingId: string): Promise<'done' | 'gone' | 'already'> {
  const { db, storage, tools, logger } = deps;
  const row = await db.selectFrom('recordings').selectAll().where('id', '=', recordingId).executeTakeFirst();
  if (!row || !row.storage_key) return 'gone';
  if (row.status === 'completed') return 'already';
  const key = row.storage_key;
  const work = await fs.mkdtemp(path.join(deps.tmpDir ?? os.tmpdir(), `recorder-process-${recordingId}-`));
  const progress = (p: number) => patchMetadata(db, recordingId, { progress: p });
  try {
    const src = path.join(work, path.basename(key));
    const obj = await storage.get(key);
    await pipeline(obj.body, createWriteStream(src));
    await progress(0.2);

    const skipped: string[] = [];
    let info: ProbeResult | undefined;
    let durationMs: number;
    if (tools) {
      info = await probe(src, tools);
      durationMs = info.durationMs;
    } else {
      durationMs = await probeDuration(src);
      skipped.push('codec and dimension probe (no ffprobe)', 'duration fix (no ffmpeg)', 'thumbnail (no ffmpeg)');
    }
    await progress(0.4);

    let fileSize = obj.size;
    let storedSha256: string | undefined;
    let durationFixed = false;
    const isMatroska =
      row.mime_type === 'video/webm' || row.mime_type === 'audio/webm' || row.mime_type === 'video/x-matroska';
    if (tools && isMatroska && info?.durationSource !== 'header') {
      const fixedFile = path.join(work, `fixed-${path.basename(key)}`);
      const fix = await fixWebmDuration(src, fixedFile, tools);
      if (fix.fixed) {
        const put = await storage.put(key, fixedFile, { contentType: row.mime_type ?? undefined });
        fileSize = put.size;
        storedSha256 = put.sha256;
        durationFixed = true;
        await fs.rename(fixedFile, src);
      }
    }
    await progress(0.7);

    let thumb: { key: string; url: string } | undefined;
    if (tools) {
      const jpg = path.join(work, 'thumbnail.jpg');
      await makeThumbnail(src, jpg, tools);
      const tKey = thumbnailKey(row.user_id, recordingId);
      await storage.put(tKey, jpg, { contentType: 'image/jpeg' });
      thumb = { key: tKey, url: `/api/recordings/${recordingId}/thumbnail` };
    }

    await db
      .updateTable('recordings')
      .set({
        duration: wholeSeconds(durationMs),
        file_size: fileSize,
        // a WebM/MP4 with sound only is audio (the upload sniff reads the container, not its tracks)
        mime_type: info?.hasVideo === false ? audioMimeOf(row.mime_type) : row.mime_type,
        thumbnail_url: thumb?.url ?? null,
        status: 'completed',
        metadata: sql`(coalesce(metadata, '{}'::jsonb) - 'progress' - 'error' - 'duration_unknown') || ${JSON.stringify(
          {
            duration_ms: Math.round(durationMs),
            width: info?.width ?? null,
            height: info?.height ?? null,
            video_codec: info?.videoCodec ?? null,
            audio_codec: info?.audioCodec ?? null,
            bitrate: info?.bitrate ?? null,
            has_video: info?.hasVideo ?? null,
            has_audio: info?.hasAudio ?? null,
            duration_source: info?.durationSource ?? 'mediabunny',
            duration_fixed: durationFixed,
            // the stored bytes changed with the remux: sha256 describes what is stored, the upload's stays too
            // (finish writes upload_sha256 itself; rows from before it did have only sha256 to go by)
            ...(storedSha256 ? { sha256: storedSha256, upload_sha256: uploadSha256(row.metadata) } : {}),
            thumbnail_key: thumb?.key ?? null,
            processing_skipped: skipped,
            processed_at: new Date().toISOString(),
          },
        )}::jsonb`,
      })
      .where('id', '=', recordingId)
      .execute();
    logger.info({ recordingId, durationMs, durationFixed, thumbnail: Boolean(thumb) }, 'recording processed');
    return 'done';
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The last attempt failed: the recording says why; its original media stays as it was. */
export async function markFailed(db: Kysely<DB>, recordingId: string, reason: string): Promise<void> {
  await patchMetadata(
    db,
    recordingId,
    { error: reason.slice(0, 2000), failed_at: new Date().toISOString(), progress: null },
    'failed',
  );
}

const AUDIO_MIME: Record<string, string> = {
  'video/webm': 'audio/webm',
  'video/mp4': 'audio/mp4',
  'video/ogg': 'audio/ogg',
};
function audioMimeOf(mime: string | null): string | null {
  return mime ? (AUDIO_MIME[mime] ?? mime) : mime;
}
