/**
 * The old browser-only recorder's `localStorage['savedRecordings']` (and its "Export" files, same shapes),
 * read the same way by the browser app and by `recorder import legacy`. Framework-free: no Node or DOM APIs.
 *
 * Several versions wrote that array, so reading is liberal (every spelling seen in the field) and reporting
 * is exact: an entry is either a LegacyItem ready to import or a skip with a reason code and a plain message.
 * Nothing here throws on input, whatever it is. docs/legacy-import.md describes the format.
 */
import { decodeBase64 } from './base64.js';
import { QUALITIES, type Quality, type RecordingType } from './domain.js';

export const LEGACY_SOURCES = ['saved-recordings', 'browser-take'] as const;
export type LegacySource = (typeof LEGACY_SOURCES)[number];
export const SKIP_REASONS = [
  'BLOB_URL_DEAD',
  'CORRUPT_DATA',
  'UNKNOWN_TYPE',
  'NO_MEDIA',
  'NOT_AN_OBJECT',
  'UNREADABLE_JSON',
  'IDB_MISSING',
  'NOT_MEDIA',
  'TOO_LARGE',
  'UPLOAD_FAILED',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type LegacyMediaRef =
  | { kind: 'data-url'; field: string }
  | { kind: 'blob-url'; field: string; url: string }
  | { kind: 'idb'; field: string; database: string; store: string; key: string };

export interface LegacyItem {
  legacyId: string;
  title: string | null;
  recordingType: RecordingType;
  durationMs: number | null;
  createdAt: string | null;
  description: string | null;
  quality: Quality | null;
  mimeType: string | null;
  size: number | null;
  thumbnail: string | null;
  media: LegacyMediaRef;
}

export type LegacyEntry =
  | { index: number; ok: true; item: LegacyItem }
  | { index: number; ok: false; legacyId: string | null; title: string | null; reason: SkipReason; message: string };

/** The fields that may hold the media, in the order they are looked at. */
export const MEDIA_FIELDS = ['mediaBlob', 'mediaUrl', 'dataUrl', 'url'] as const;
/** The server's limits (upload metadata, legacy_import_items.legacy_id): longer text is cut, not refused. */
export const LEGACY_ID_MAX = 200;
const TITLE_MAX = 300;
const DESCRIPTION_MAX = 10_000;
/** PUT /api/recordings/:id/thumbnail takes ≤ 2 MB; a longer thumbnail data URL is dropped (the server makes one). */
const THUMBNAIL_URL_MAX = Math.ceil((2 * 1024 * 1024 * 4) / 3) + 200;
/** The server's window for createdAt: 2000-01-01 ≤ it ≤ now + 1 day; outside it the date is unknown (null). */
const EARLIEST_CREATED = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;
/** A week: longer durations are not a recording's; processing measures the real one. */
const DURATION_MAX_MS = 7 * DAY_MS;
/**
 * Epoch seconds or milliseconds? 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973: below it a
 * number is seconds, above it milliseconds. Either way, a date before 2000 is then refused.
 */
const SECONDS_BELOW = 1e11;

/**
 * Every spelling of a type seen in the field, keyed by its letters only (lower case, no '-', '_' or spaces):
 * `screenCamera`, `screen_camera` and `screen-camera` are one key.
 */
const TYPE_SPELLINGS: Record<string, RecordingType> = {
  camera: 'camera',
  video: 'camera',
  audio: 'audio',
  voice: 'audio',
  screen: 'screen',
  screencamera: 'screen-camera',
  slides: 'slides',
  slidescamera: 'slides-camera',
};

export interface NormalizeOptions {
  /** The clock for the createdAt window (tests pin it). */
  now?: number;
}

type Fields = Record<string, unknown>;

/** One entry of the array, checked and normalized. Never throws. */
export function normalizeLegacyEntry(entry: unknown, index: number, options: NormalizeOptions = {}): LegacyEntry {
  try {
    return normalize(entry, index, options);
  } catch {
    // Only a hand-made object can throw here (a getter, a Proxy): JSON.parse never makes one.
    return skip(index, null, null, 'CORRUPT_DATA', 'The entry could not be read.');
  }
}

function normalize(entry: unknown, index: number, options: NormalizeOptions): LegacyEntry {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    const what = entry === null ? 'null' : Array.isArray(entry) ? 'an array' : `a ${typeof entry}`;
    return skip(index, null, null, 'NOT_AN_OBJECT', `The entry is ${what}, not a recording.`);
  }
  const fields = entry as Fields;
  const legacyId = idOf(fields.id) ?? `index:${index}`;
  const title = textOf(fields.title, TITLE_MAX) ?? textOf(fields.name, TITLE_MAX);
  const media = mediaOf(fields);
  if ('reason' in media) return skip(index, legacyId, title, media.reason, media.message);
  const mimeType = mimeOf(fields.mimeType) ?? media.mimeType;
  const rawType = fields.type ?? fields.recordingType;
  const recordingType = typeOf(rawType, mimeType);
  if (!recordingType) {
    const message =
      rawType === undefined || rawType === null || rawType === ''
        ? 'The entry names no type, and its media type does not tell.'
        : `Unknown recording type ${JSON.stringify(String(rawType)).slice(0, 80)}.`;
    return skip(index, legacyId, title, 'UNKNOWN_TYPE', message);
  }
  return {
    index,
    ok: true,
    item: {
      legacyId,
      title,
      recordingType,
      durationMs: durationOf(fields),
      createdAt: createdOf(fields, options.now ?? Date.now()),
      description: textOf(fields.description, DESCRIPTION_MAX),
      quality: qualityOf(fields.quality),
      mimeType,
      size: countOf(fields.size),
      thumbnail: thumbnailOf(fields.thumbnail),
      media: media.ref,
    },
  };
}

function skip(
  index: number,
  legacyId: string | null,
  title: string | null,
  reason: SkipReason,
  message: string,
): LegacyEntry {
  return { index, ok: false, legacyId, title, reason, message };
}

/** Text PostgreSQL can store: no U+0000, no lone surrogate (it would fail the insert, or become U+FFFD there). */
function storable(text: string): string {
  return text
    .replaceAll(String.fromCharCode(0), '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function idOf(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value !== 'string') return null;
  const id = storable(value.trim());
  return id === '' ? null : id.slice(0, LEGACY_ID_MAX);
}

function textOf(value: unknown, max: number): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const text = storable(value).trim();
  return text === '' ? null : text.slice(0, max).trim();
}

function typeOf(value: unknown, mimeType: string | null): RecordingType | null {
  if (typeof value === 'string' && value.trim() !== '') {
    return TYPE_SPELLINGS[value.toLowerCase().replace(/[-_\s]/g, '')] ?? null;
  }
  if (value !== undefined && value !== null && value !== '') return null;
  // No type at all (the earliest versions recorded the camera only): the media's own type decides.
  if (mimeType?.startsWith('audio/')) return 'audio';
  if (mimeType?.startsWith('video/')) return 'camera';
  return null;
}

/** A finite number, or a numeric string ("12.5", " 3 "); anything else is null. */
function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(value)) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function durationOf(fields: Fields): number | null {
  const fromMs = numberOf(fields.durationMs);
  const fromSeconds = numberOf(fields.duration);
  const ms = fromMs ?? (fromSeconds === null ? null : fromSeconds * 1000);
  if (ms === null || ms <= 0 || ms > DURATION_MAX_MS) return null;
  return Math.round(ms);
}

function createdOf(fields: Fields, now: number): string | null {
  for (const value of [fields.createdAt, fields.timestamp, fields.date]) {
    const time = timeOf(value);
    if (time !== null) return time >= EARLIEST_CREATED && time <= now + DAY_MS ? new Date(time).toISOString() : null;
  }
  return null;
}

function timeOf(value: unknown): number | null {
  const n = numberOf(value);
  if (n !== null) return n < SECONDS_BELOW ? n * 1000 : n;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const parsed = Date.parse(value.trim());
  return Number.isFinite(parsed) ? parsed : null;
}

function qualityOf(value: unknown): Quality | null {
  if (typeof value !== 'string') return null;
  const q = value.trim().toLowerCase();
  return (QUALITIES as readonly string[]).includes(q) ? (q as Quality) : null;
}

function countOf(value: unknown): number | null {
  const n = numberOf(value);
  return n !== null && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function mimeOf(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const essence = value.split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][\w.+-]*\/[\w.+-]+$/.test(essence) ? essence : null;
}

function thumbnailOf(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > THUMBNAIL_URL_MAX) return null;
  return /^data:image\/(jpeg|png|webp);base64,/i.test(value) ? value : null;
}

type MediaResult =
  | { ref: LegacyMediaRef; mimeType: string | null }
  | { reason: 'NO_MEDIA' | 'CORRUPT_DATA'; message: string };

function mediaOf(fields: Fields): MediaResult {
  const field = MEDIA_FIELDS.find((name) => typeof fields[name] === 'string' && (fields[name] as string).trim() !== '');
  if (!field) {
    // A Blob put through JSON.stringify becomes {}: the old app's bug that lost the bytes for good.
    const blob = MEDIA_FIELDS.find((name) => fields[name] !== null && typeof fields[name] === 'object');
    return {
      reason: 'NO_MEDIA',
      message: blob
        ? `"${blob}" holds an object, not the recording (its bytes were never saved).`
        : 'The entry holds no recording (no mediaBlob, mediaUrl, dataUrl or url).',
    };
  }
  const value = (fields[field] as string).trim();
  const scheme = value.slice(0, 5).toLowerCase();
  if (scheme === 'data:') return dataUrlRef(field, value);
  if (scheme === 'blob:') return { ref: { kind: 'blob-url', field, url: value }, mimeType: null };
  if (value.slice(0, 4).toLowerCase() === 'idb:') {
    const match = /^idb:([^/]+)\/([^/]+)\/(.+)$/i.exec(value);
    if (!match) return { reason: 'CORRUPT_DATA', message: `"${field}" is not idb:<database>/<store>/<key>.` };
    const [, database, store, key] = match as unknown as [string, string, string, string];
    return { ref: { kind: 'idb', field, database, store, key }, mimeType: null };
  }
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return { reason: 'NO_MEDIA', message: `"${field}" is ${JSON.stringify(shown)}, not a data:, blob: or idb: URL.` };
}

/** The header of a data: URL: its mime type, and where the payload starts. Null when it is not base64. */
export function dataUrlHeader(url: string): { mimeType: string; payloadStart: number } | null {
  // Parameters may hold commas (MediaRecorder's "video/webm;codecs=vp8,opus"): ';base64,' ends the header.
  const head = url.slice(0, 512);
  const marker = head.toLowerCase().indexOf(';base64,');
  if (!head.toLowerCase().startsWith('data:') || marker < 0) return null;
  const mimeType = mimeOf(head.slice(5, marker)) ?? 'application/octet-stream';
  return { mimeType, payloadStart: marker + ';base64,'.length };
}

function dataUrlRef(field: string, url: string): MediaResult {
  const header = dataUrlHeader(url);
  if (!header) return { reason: 'CORRUPT_DATA', message: `"${field}" is a data: URL without base64 data.` };
  const payload = url.slice(header.payloadStart);
  if (payload.trim() === '') return { reason: 'NO_MEDIA', message: `"${field}" is an empty data: URL.` };
  // Checked here, before anyone reads it: the charset with a regular expression (fast on megabytes), the length.
  const chars = payload.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(chars) || chars.length % 4 === 1 || (chars.includes('=') && chars.length % 4)) {
    return { reason: 'CORRUPT_DATA', message: `"${field}" holds corrupt base64 data.` };
  }
  return { ref: { kind: 'data-url', field }, mimeType: header.mimeType };
}

/** A data: URL's bytes and mime type; null when it is not a base64 data URL or its base64 is corrupt. */
export function decodeDataUrl(url: string): { mimeType: string; bytes: Uint8Array } | null {
  const header = dataUrlHeader(url);
  if (!header) return null;
  const bytes = decodeBase64(url.slice(header.payloadStart));
  return bytes ? { mimeType: header.mimeType, bytes } : null;
}

export { readSavedRecordings } from './legacy-json.js';
