/** tus Upload-Metadata as Recorder reads it: every field checked, with a clear error per field. */
import { QUALITIES, type Quality, RECORDING_TYPES, type RecordingType } from '../db/schema.js';
import { AppError } from '../errors.js';
import { invalidText, isStorableText } from '../http/text.js';
import { ID_PATTERN, isBigintId } from '../ids.js';
import { type LegacyFields, parseLegacyFields } from '../imports/legacy-fields.js';

export interface UploadMeta {
  title: string;
  description: string | null;
  recordingType: RecordingType;
  quality: Quality;
  /** From the `duration` field (seconds), when the client knows it; else the take's or processing's. */
  durationMs: number | null;
  projectId: string | null;
  sessionId: string | null;
  /** A legacy item's upload (issue 11): its import, its legacy key and original date; null otherwise. */
  legacy: LegacyFields | null;
}

function bad(field: string, why: string): AppError {
  return new AppError('VALIDATION_FAILED', `Upload metadata "${field}" ${why}`, { field });
}

/**
 * Every key and value (tus has base64-decoded them) must be text PostgreSQL can store: the whole
 * metadata is kept as jsonb, and title and description become text columns.
 */
function checkText(m: Record<string, string | null | undefined>): void {
  for (const [key, value] of Object.entries(m)) {
    if (!isStorableText(key) || (value && !isStorableText(value))) throw invalidText(key, 'metadata');
  }
}

/**
 * An id field: absent, or a bigint id. Digits above the bigint maximum name no row: the same 404 as an
 * id no row has, without asking the database (which would fail the cast).
 */
function idOf(m: Record<string, string | null | undefined>, field: 'projectId' | 'sessionId'): string | null {
  const value = m[field];
  if (!value) return null;
  if (!new RegExp(ID_PATTERN).test(value)) throw bad(field, 'must be a numeric id');
  if (!isBigintId(value)) throw new AppError(field === 'projectId' ? 'PROJECT_NOT_FOUND' : 'SESSION_NOT_FOUND');
  return value;
}

/** Validates tus Upload-Metadata (strings) as the spec's checks demand, with a clear error per field. */
export function parseUploadMeta(m: Record<string, string | null | undefined>): UploadMeta {
  checkText(m);
  const type = m.recordingType ?? m.recording_type;
  if (!type) throw bad('recordingType', `is required (one of ${RECORDING_TYPES.join(', ')})`);
  if (!(RECORDING_TYPES as readonly string[]).includes(type))
    throw bad('recordingType', `must be one of ${RECORDING_TYPES.join(', ')}`);
  const quality = m.quality ?? 'high';
  if (!(QUALITIES as readonly string[]).includes(quality))
    throw bad('quality', `must be one of ${QUALITIES.join(', ')}`);
  const title = (m.title ?? m.filename ?? '').trim() || 'Untitled recording';
  if (title.length > 300) throw bad('title', 'must be at most 300 characters');
  const description = m.description?.trim() || null;
  if (description && description.length > 10_000) throw bad('description', 'must be at most 10000 characters');
  let durationMs: number | null = null;
  if (m.duration) {
    const d = Number(m.duration);
    if (!Number.isFinite(d) || d <= 0 || d > 2 ** 31)
      throw bad('duration', 'must be a number of seconds greater than 0');
    durationMs = Math.round(d * 1000);
  }
  const legacy = parseLegacyFields(m);
  const sessionId = idOf(m, 'sessionId');
  if (legacy && sessionId) throw bad('sessionId', 'cannot go with an import: a legacy item is no take');
  return {
    title,
    description,
    recordingType: type as RecordingType,
    quality: quality as Quality,
    durationMs,
    projectId: idOf(m, 'projectId'),
    sessionId,
    legacy,
  };
}
