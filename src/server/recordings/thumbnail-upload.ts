/**
 * Thumbnails a client uploads (a legacy recording's own picture): JPEG, PNG or WebP by their first bytes,
 * at most 2 MB, stored under a key we make from the recording's ids (never from the request), beside the
 * one processing makes, which never replaces it.
 */
import { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import { recordingPrefix } from '../storage/keys.js';
import type { Storage } from '../storage/storage.js';
import type { RecordingsRepository } from './recordings.repository.js';

export const MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;
export const THUMBNAIL_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

interface ImageKind {
  mime: (typeof THUMBNAIL_TYPES)[number];
  ext: 'jpg' | 'png' | 'webp';
}

/** The image type its bytes say, or undefined when they are none of ours. */
export function imageKind(bytes: Uint8Array): ImageKind | undefined {
  const starts = (at: number, ...sig: number[]) => sig.every((v, i) => bytes[at + i] === v);
  const ascii = (at: number, s: string) => starts(at, ...[...s].map((c) => c.charCodeAt(0)));
  if (starts(0, 0xff, 0xd8, 0xff)) return { mime: 'image/jpeg', ext: 'jpg' };
  if (starts(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { mime: 'image/png', ext: 'png' };
  if (bytes.length >= 12 && ascii(0, 'RIFF') && ascii(8, 'WEBP')) return { mime: 'image/webp', ext: 'webp' };
  return undefined;
}

/**
 * Checks and stores the picture as the recording's thumbnail: 415 UNSUPPORTED_MEDIA_TYPE when its bytes
 * are not JPEG, PNG or WebP, 413 PAYLOAD_TOO_LARGE past 2 MB.
 */
export async function storeUploadedThumbnail(
  storage: Storage,
  recordings: RecordingsRepository,
  recording: { id: string; user_id: string },
  bytes: Uint8Array,
): Promise<void> {
  if (bytes.length > MAX_THUMBNAIL_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', 'A thumbnail is at most 2 MB');
  const kind = imageKind(bytes);
  if (!kind) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'A thumbnail must be a JPEG, PNG or WebP picture (by its bytes)');
  }
  const key = `${recordingPrefix(recording.user_id, recording.id)}uploaded-thumbnail.${kind.ext}`;
  await storage.put(key, Readable.from([Buffer.from(bytes)]), { contentType: kind.mime, size: bytes.length });
  await recordings.setUploadedThumbnail(recording.id, key);
}
