/**
 * Object keys. We generate every key (recordingKey, thumbnailKey) from ids the database already
 * constrained; no key is ever taken from a request. validateKey still runs on every storage call,
 * because the local provider turns keys into paths: a key that could climb out of the media
 * directory, or name our temp directory, must never reach the file system.
 */

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

/** S3's limit (UTF-8 bytes); our keys are ASCII, so characters = bytes. */
const MAX_KEY_LENGTH = 1024;
/**
 * Letters, digits, "_", "-", "." and never a leading ".": no "." / ".." segments, and names starting
 * with "." stay free for the local provider's own files (.tmp/). Also keeps keys URL-safe as they are,
 * so publicUrl needs no encoding.
 */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** What users.id accepts (chk_user_id) and what a bigint id looks like. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const EXT = /^[a-z0-9]{1,10}$/;

function reasonFor(key: string, allowPartial: boolean): string | undefined {
  if (key === '') return allowPartial ? undefined : 'is empty';
  if (key.length > MAX_KEY_LENGTH) return `is longer than ${MAX_KEY_LENGTH} characters`;
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'is absolute (starts with "/")';
  const segments = key.split('/');
  // A prefix may end in "/" ("users/u1/") or stop mid-segment ("users/u1/rec"): its last part is free-form.
  const last = allowPartial ? segments.pop() : undefined;
  for (const s of segments) {
    if (s === '') return 'has an empty segment ("//" or a trailing "/")';
    if (s === '.' || s === '..') return `has a "${s}" segment`;
    if (!SEGMENT.test(s))
      return `segment ${JSON.stringify(s)} has characters outside A-Z a-z 0-9 _ - . or starts with "."`;
  }
  if (last !== undefined && last !== '' && !SEGMENT.test(last)) {
    return `segment ${JSON.stringify(last)} has characters outside A-Z a-z 0-9 _ - . or starts with "."`;
  }
  return undefined;
}

/** Returns the key unchanged, or throws InvalidKeyError saying what is wrong with it. */
export function validateKey(key: string): string {
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), 'is not a string');
  const reason = reasonFor(key, false);
  if (reason) throw new InvalidKeyError(key, reason);
  return key;
}

/** A list() prefix: '' (everything), a key's leading segments with or without "/", or a partial segment. */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix), 'is not a string');
  const reason = reasonFor(prefix, true);
  if (reason) throw new InvalidKeyError(prefix, `(as a prefix) ${reason}`);
  return prefix;
}

function id(kind: string, value: string): string {
  if (!ID.test(value)) throw new InvalidKeyError(value, `${kind} must match ${ID.source}`);
  return value;
}

function ext(value: string): string {
  if (!EXT.test(value)) throw new InvalidKeyError(value, `extension must match ${EXT.source} (no leading ".")`);
  return value;
}

/** users/<user>/recordings/<id>/ — everything stored for one recording lives under it. */
export function recordingPrefix(userId: string, recordingId: string | number | bigint): string {
  return `users/${id('user id', userId)}/recordings/${id('recording id', String(recordingId))}/`;
}

/** users/<user>/recordings/<id>/original.<ext> — the media as recorded. */
export function recordingKey(userId: string, recordingId: string | number | bigint, extension: string): string {
  return `${recordingPrefix(userId, recordingId)}original.${ext(extension)}`;
}

/**
 * users/<user>/recordings/<id>/versions/<version id>.<ext> — a rendered version (issue 12). Under the
 * recording's prefix, so deleting the recording deletes its versions; by the version's id, which is never
 * reused, so a deleted version's key waiting in the deletion outbox never names a newer render.
 */
export function versionKey(
  userId: string,
  recordingId: string | number | bigint,
  versionId: string | number | bigint,
  extension: string,
): string {
  return `${recordingPrefix(userId, recordingId)}versions/${id('version id', String(versionId))}.${ext(extension)}`;
}

/** users/<user>/recordings/<id>/versions/<version id>.jpg — a version's thumbnail. */
export function versionThumbnailKey(
  userId: string,
  recordingId: string | number | bigint,
  versionId: string | number | bigint,
): string {
  return versionKey(userId, recordingId, versionId, 'jpg');
}

/** users/<user>/recordings/<id>/thumbnail.<ext> */
export function thumbnailKey(userId: string, recordingId: string | number | bigint, extension = 'jpg'): string {
  return `${recordingPrefix(userId, recordingId)}thumbnail.${ext(extension)}`;
}

const CONTENT_TYPES: Record<string, string> = {
  webm: 'video/webm',
  mp4: 'video/mp4',
  mkv: 'video/x-matroska',
  mov: 'video/quicktime',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  json: 'application/json',
};

/** The content type a key's extension implies; application/octet-stream when we do not know it. */
export function contentTypeOf(key: string): string {
  const dot = key.lastIndexOf('.');
  const e = dot > key.lastIndexOf('/') ? key.slice(dot + 1).toLowerCase() : '';
  return CONTENT_TYPES[e] ?? 'application/octet-stream';
}

/** base (ending in "/", as config guarantees) + key; undefined without a base. Keys need no encoding. */
export function publicUrlOf(base: string | undefined, key: string): string | undefined {
  validateKey(key);
  if (base === undefined) return undefined;
  return `${base.endsWith('/') ? base : `${base}/`}${key}`;
}
