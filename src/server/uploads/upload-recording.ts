/** The recording row a finished upload becomes: what the take said, over what the upload's metadata said. */
import type { NewRecording, RecordingSession, SessionTake } from '../db/schema.js';
import { wholeSeconds } from '../recordings/duration.js';
import type { ClientMetadata, RecordingMetadata } from '../recordings/metadata.js';
import type { UploadMeta } from './upload-meta.js';
import type { UploadRow } from './uploads.repository.js';

export interface RecordingInput {
  row: UploadRow;
  meta: UploadMeta;
  take: SessionTake;
  session: RecordingSession | undefined;
  projectId: string | null;
  /** Of the uploaded bytes, from the hash state saved with the offset. */
  sha256: string;
  clientMeta: ClientMetadata;
  cdnUrl: string | undefined;
}

export function buildRecording(input: RecordingInput) {
  const { row, meta, take, session } = input;
  const recordingId = row.reserved_recording_id!;
  const size = Number(row.upload_length);
  // What the take said, then the upload's metadata, then the session's heartbeats (whole seconds). A
  // take whose length nobody knows (recovered from the server's bytes alone) is still kept: it may be
  // the only copy. It gets 1 s and duration_unknown; processing measures it for real.
  const known = take.durationMs ?? meta.durationMs ?? (session?.duration ? session.duration * 1000 : null);
  const durationUnknown = !known || known <= 0;
  const durationMs = durationUnknown ? 1000 : known;
  // The sniff reads the container, not its tracks: an audio take's WebM is audio/webm (processing
  // confirms it from the probe, for any type).
  const mime = meta.recordingType === 'audio' && row.media_type === 'video/webm' ? 'audio/webm' : row.media_type!;
  const metadata: RecordingMetadata = {
    // The client's keys first: ours win, and keys the server reads back can never come from a client.
    ...input.clientMeta,
    // sha256 describes the stored object (processing may replace it by a remux); upload_sha256 and
    // upload_size stay the bytes the client sent, which it compares before deleting its copy.
    sha256: input.sha256,
    upload_sha256: input.sha256,
    upload_size: size,
    session_id: session?.id ?? null,
    duration_ms: durationMs,
    ...(durationUnknown ? { duration_unknown: true } : {}),
    upload_id: row.id,
    progress: 0,
  };
  const values: NewRecording = {
    id: recordingId,
    user_id: row.user_id,
    project_id: input.projectId,
    title: take.title ?? meta.title,
    description: take.description !== undefined ? take.description : meta.description,
    // the session is the take's record; the upload's metadata only stands in without one
    recording_type: session?.recording_type ?? meta.recordingType,
    duration: wholeSeconds(durationMs),
    file_size: size,
    mime_type: mime,
    storage_url: `/api/recordings/${recordingId}/media`,
    quality: meta.quality,
    status: 'processing',
    metadata: JSON.stringify(metadata),
    storage_provider: row.storage_provider!,
    storage_key: row.storage_key,
    storage_bucket: row.storage_bucket,
    storage_region: row.storage_region,
    cdn_url: input.cdnUrl ?? null,
    // a legacy item keeps the date it was recorded on (checked: 2000-01-01 to tomorrow)
    ...(meta.legacy?.createdAt ? { created_at: meta.legacy.createdAt } : {}),
  };
  return { values, durationUnknown, durationSeconds: durationUnknown ? undefined : Math.round(durationMs / 1000) };
}
