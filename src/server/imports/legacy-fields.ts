/**
 * The legacy fields of an item, checked the same way whether they come as tus Upload-Metadata (the
 * browser) or from the CLI's parser: which import, which legacy key, and the original creation date.
 */
import { AppError } from '../errors.js';
import type { LegacySourceColumn } from '../db/schema.js';
import { isBigintId } from '../ids.js';

export const LEGACY_SOURCE_VALUES: readonly LegacySourceColumn[] = ['saved-recordings', 'browser-take'];
/** The legacy recorder was written long after this; an earlier date is a parse error, not a recording. */
export const EARLIEST_CREATED_AT = Date.UTC(2000, 0, 1);
/** Clocks differ; a day ahead is a wrong clock, more is a wrong value. */
const LATEST_AHEAD_MS = 24 * 3600 * 1000;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Upload-Metadata fields that come together or not at all. */
export const LEGACY_KEY_FIELDS = ['importId', 'legacySource', 'legacyId', 'legacySha256'] as const;

export interface LegacyFields {
  importId: string;
  legacySource: LegacySourceColumn;
  legacyId: string;
  sha256: string;
  /** The recording's created_at; null: when it is imported. */
  createdAt: Date | null;
}

function bad(field: string, why: string): AppError {
  return new AppError('VALIDATION_FAILED', `Legacy field "${field}" ${why}`, { field });
}

/** An ISO date between 2000-01-01 and a day from now. */
export function checkCreatedAt(value: string, now = Date.now()): Date {
  const at = /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw bad('createdAt', 'must be an ISO date and time (2024-05-01T10:00:00Z)');
  if (at.getTime() < EARLIEST_CREATED_AT || at.getTime() > now + LATEST_AHEAD_MS)
    throw bad('createdAt', 'must be between 2000-01-01 and tomorrow');
  return at;
}

export function checkLegacyKey(source: string, legacyId: string, sha256: string): void {
  if (!(LEGACY_SOURCE_VALUES as readonly string[]).includes(source))
    throw bad('legacySource', `must be one of ${LEGACY_SOURCE_VALUES.join(', ')}`);
  if (legacyId.length < 1 || legacyId.length > 200) throw bad('legacyId', 'must be 1 to 200 characters');
  if (!SHA256_HEX.test(sha256)) throw bad('legacySha256', 'must be 64 lower-case hex digits (sha256)');
}

/**
 * The legacy fields of Upload-Metadata: null for an ordinary upload. All four key fields together or
 * none; createdAt only with them. An importId that is no bigint names no import: 404 as for any other.
 */
export function parseLegacyFields(m: Record<string, string | null | undefined>): LegacyFields | null {
  const present = LEGACY_KEY_FIELDS.filter((f) => m[f]);
  if (present.length === 0) {
    if (m.createdAt) throw bad('createdAt', 'is accepted only with an import (importId and the legacy key)');
    return null;
  }
  const missing = LEGACY_KEY_FIELDS.find((f) => !m[f]);
  if (missing) throw bad(missing, `is required with ${present.join(', ')} (the legacy fields go together)`);
  const importId = m.importId!;
  if (!isBigintId(importId)) throw new AppError('IMPORT_NOT_FOUND');
  checkLegacyKey(m.legacySource!, m.legacyId!, m.legacySha256!);
  return {
    importId,
    legacySource: m.legacySource as LegacySourceColumn,
    legacyId: m.legacyId!,
    sha256: m.legacySha256!,
    createdAt: m.createdAt ? checkCreatedAt(m.createdAt) : null,
  };
}
