/**
 * JSON schemas of /api/imports (legacy import, issue 11), and the types the web app imports from them
 * (`import type`: this module is data only, nothing of the server comes with it).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { bigintId } from '../ids.js';

const count = { type: 'integer', minimum: 0 } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** src/shared/legacy-format.ts LEGACY_SOURCES (and the column's CHECK). */
export const legacySource = { type: 'string', enum: ['saved-recordings', 'browser-take'] } as const;
export const legacyId = { type: 'string', minLength: 1, maxLength: 200 } as const;
export const sha256Hex = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
/** A skip reason: a SKIP_REASONS code of the parser, or a server code; upper-case words. */
const reason = { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,99}$' } as const;

export const importParams = {
  type: 'object',
  properties: { id: bigintId },
  required: ['id'],
} as const;

export const startBody = {
  type: 'object',
  properties: {
    origin: { type: 'string', enum: ['browser', 'cli'] },
    itemCount: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    byteCount: { type: 'integer', minimum: 0 },
  },
  required: ['origin', 'itemCount', 'byteCount'],
  additionalProperties: false,
} as const;

export const importSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    origin: { type: 'string', enum: ['browser', 'cli'] },
    /** interrupted: still running, but nothing happened for 10 minutes (a closed tab, a killed CLI). */
    status: { type: 'string', enum: ['running', 'completed', 'interrupted'] },
    itemCount: count,
    byteCount: count,
    imported: count,
    already: count,
    skipped: count,
    failed: count,
    startedAt: time,
    finishedAt: nullableTime,
  },
  required: [
    'id',
    'origin',
    'status',
    'itemCount',
    'byteCount',
    'imported',
    'already',
    'skipped',
    'failed',
    'startedAt',
    'finishedAt',
  ],
  additionalProperties: false,
} as const;

export const itemSchema = {
  type: 'object',
  properties: {
    legacySource,
    legacyId: { type: ['string', 'null'] },
    title: { type: ['string', 'null'] },
    sha256: { type: ['string', 'null'] },
    size: { type: ['integer', 'null'] },
    outcome: { type: 'string', enum: ['imported', 'already', 'skipped', 'failed'] },
    reason: { type: ['string', 'null'] },
    message: { type: ['string', 'null'] },
    recordingId: { type: ['string', 'null'] },
    createdAt: time,
  },
  required: [
    'legacySource',
    'legacyId',
    'title',
    'sha256',
    'size',
    'outcome',
    'reason',
    'message',
    'recordingId',
    'createdAt',
  ],
  additionalProperties: false,
} as const;

export const importAnswer = {
  type: 'object',
  properties: { import: importSchema },
  required: ['import'],
} as const;

export const importList = {
  type: 'object',
  properties: { imports: { type: 'array', items: importSchema } },
  required: ['imports'],
} as const;

export const importWithItems = {
  type: 'object',
  properties: { import: importSchema, items: { type: 'array', items: itemSchema } },
  required: ['import', 'items'],
} as const;

const legacyKey = {
  type: 'object',
  properties: { legacySource, legacyId, sha256: sha256Hex },
  required: ['legacySource', 'legacyId', 'sha256'],
  additionalProperties: false,
} as const;

export const lookupBody = {
  type: 'object',
  properties: { items: { type: 'array', items: legacyKey, maxItems: 1000 } },
  required: ['items'],
  additionalProperties: false,
} as const;

export const lookupAnswer = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          legacySource,
          legacyId: { type: 'string' },
          sha256: { type: 'string' },
          /** null when found: imported before and deleted since (it is not brought back). */
          recordingId: { type: ['string', 'null'] },
          size: { type: ['integer', 'null'] },
          found: { type: 'boolean' },
        },
        required: ['legacySource', 'legacyId', 'sha256', 'recordingId', 'size', 'found'],
        additionalProperties: false,
      },
    },
  },
  required: ['items'],
} as const;

export const skipsBody = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        properties: {
          legacySource,
          legacyId: { anyOf: [legacyId, { type: 'null' }] },
          title: { anyOf: [{ type: 'string', maxLength: 300 }, { type: 'null' }] },
          size: { type: 'integer', minimum: 0 },
          reason,
          message: { type: 'string', maxLength: 2000 },
        },
        required: ['legacySource', 'legacyId', 'title', 'reason', 'message'],
        additionalProperties: false,
      },
    },
  },
  required: ['items'],
  additionalProperties: false,
} as const;

export type Import = FromSchema<typeof importSchema>;
export type ImportItem = FromSchema<typeof itemSchema>;
export type StartImportBody = FromSchema<typeof startBody>;
export type LegacyKey = FromSchema<typeof legacyKey>;
export type LookupBody = FromSchema<typeof lookupBody>;
export type LookupResult = FromSchema<typeof lookupAnswer>['items'][number];
export type SkipsBody = FromSchema<typeof skipsBody>;
export type Skip = SkipsBody['items'][number];
