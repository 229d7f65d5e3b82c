/**
 * recordings.metadata (jsonb): what the server writes about a recording's media, and what the client
 * said about its take. The server's keys are declared once, in ServerMetadata; SERVER_METADATA_KEYS is
 * derived from it (the compiler checks the list is complete), and clientMetadata() drops those keys
 * from what a client sends, so a client can never set a key the server reads back (thumbnail_key
 * names a storage object).
 */

/** How processing measured the duration (media/probe.ts; 'mediabunny' too when there is no ffprobe). */
export type DurationSource = 'header' | 'mediabunny' | 'scan';

/** Keys only the server writes: at finish (uploads), while processing, and when processing fails. */
export interface ServerMetadata {
  /** sha256 (hex) of the stored object; a remux during processing replaces it. */
  sha256?: string;
  /** sha256 of the bytes the client uploaded; null on rows finished before finish wrote it. */
  upload_sha256?: string | null;
  /** Bytes the client uploaded; the web app compares them before deleting its own copy. */
  upload_size?: number;
  session_id?: string | null;
  /** The exact duration; the `duration` column holds whole seconds. */
  duration_ms?: number;
  /** Set when no duration could be measured at finish; processing removes it. */
  duration_unknown?: boolean;
  upload_id?: string;
  /** 0..1 while processing; null once it failed. */
  progress?: number | null;
  /** Why processing failed (the last attempt's reason); null when retried. */
  error?: string | null;
  /** ISO timestamp of the failure. */
  failed_at?: string;
  thumbnail_key?: string | null;
  /** The thumbnail was uploaded (PUT /api/recordings/:id/thumbnail): processing never replaces it. */
  thumbnail_uploaded?: boolean;
  width?: number | null;
  height?: number | null;
  video_codec?: string | null;
  audio_codec?: string | null;
  bitrate?: number | null;
  has_video?: boolean | null;
  has_audio?: boolean | null;
  duration_source?: DurationSource;
  /** Processing remuxed a MediaRecorder WebM to give it a duration and cues. */
  duration_fixed?: boolean;
  /** Steps processing left out, and why ("thumbnail (no ffmpeg)"). */
  processing_skipped?: string[];
  /** ISO timestamp of the end of processing. */
  processed_at?: string;
}

export type ServerMetadataKey = keyof ServerMetadata;

/** Every key of ServerMetadata, no more: a key added there and not here (or a typo) fails to compile. */
const SERVER_KEY_PRESENCE: Record<ServerMetadataKey, true> = {
  sha256: true,
  upload_sha256: true,
  upload_size: true,
  session_id: true,
  duration_ms: true,
  duration_unknown: true,
  upload_id: true,
  progress: true,
  error: true,
  failed_at: true,
  thumbnail_key: true,
  thumbnail_uploaded: true,
  width: true,
  height: true,
  video_codec: true,
  audio_codec: true,
  bitrate: true,
  has_video: true,
  has_audio: true,
  duration_source: true,
  duration_fixed: true,
  processing_skipped: true,
  processed_at: true,
};

export const SERVER_METADATA_KEYS: readonly ServerMetadataKey[] = Object.freeze(
  Object.keys(SERVER_KEY_PRESENCE) as ServerMetadataKey[],
);

const SERVER_KEY_SET: ReadonlySet<string> = new Set(SERVER_METADATA_KEYS);

/** Prefix of keys the server keeps for itself in metadata it was handed (uploads' `recorder:recordingId`). */
const RESERVED_PREFIX = 'recorder:';

export function isServerMetadataKey(key: string): key is ServerMetadataKey {
  return SERVER_KEY_SET.has(key) || key.startsWith(RESERVED_PREFIX);
}

/** A slide change during a slides take: the slide shown from atMs (milliseconds into the take) on. */
export interface SlideChange {
  index: number;
  atMs: number;
}

/**
 * What the web app sends with a take (Review.tsx, persist/recovery.ts). Stored as sent: the server
 * never reads these, and another client may send other keys or shapes, so readers check before use
 * (the web app's slideMarks() does).
 */
export interface ClientMetadata {
  /** Slide changes of a slides take. */
  slides?: SlideChange[];
  /** Why the take ended early (the screen share stopped, a device was lost): a MediaProblem. */
  endedBy?: { code: string; message: string };
  /** The take was recovered after a closed tab, a crash or an outage. */
  recovered?: boolean;
  /** The recording whose stored copy failed the client's check; this take was sent again because of it. */
  resentAfterFailedCheckOf?: string;
  [key: string]: unknown;
}

export type RecordingMetadata = ClientMetadata & ServerMetadata;

/** The client's part of a take's metadata: without server-only keys and keys starting with 'recorder:'. */
export function clientMetadata(input: Record<string, unknown>): ClientMetadata {
  return Object.fromEntries(Object.entries(input).filter(([key]) => !isServerMetadataKey(key)));
}
