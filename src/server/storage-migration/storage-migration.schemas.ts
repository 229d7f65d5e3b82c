/** JSON schemas of the admin storage-migration routes (/api/admin/storage-migrations). */
import { bigintId } from '../ids.js';

const count = { type: 'integer', minimum: 0 } as const;
const time = { type: ['string', 'null'], format: 'date-time' } as const;

export const migrationFilters = {
  type: 'object',
  properties: {
    userId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    projectId: bigintId,
    createdBefore: { type: 'string', format: 'date-time' },
  },
  additionalProperties: false,
} as const;

export const startBody = {
  type: 'object',
  properties: {
    to: { type: 'string', enum: ['local', 's3'] },
    filters: migrationFilters,
    batch: { type: 'integer', minimum: 1, maximum: 10_000 },
    concurrency: { type: 'integer', minimum: 1, maximum: 64 },
    maxMibPerS: { type: 'integer', minimum: 1, maximum: 100_000 },
    dryRun: { type: 'boolean' },
  },
  required: ['to'],
  additionalProperties: false,
} as const;

export const migration = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'paused', 'cancelled', 'finished', 'failed'] },
    target: {
      type: 'object',
      properties: { provider: { type: 'string' }, bucket: { type: ['string', 'null'] } },
      required: ['provider', 'bucket'],
    },
    filters: migrationFilters,
    batch: count,
    concurrency: count,
    maxMibPerS: { type: ['integer', 'null'] },
    counts: {
      type: 'object',
      properties: { total: count, moved: count, skipped: count, failed: count },
      required: ['total', 'moved', 'skipped', 'failed'],
    },
    bytes: {
      type: 'object',
      properties: { total: count, moved: count },
      required: ['total', 'moved'],
    },
    lastError: { type: ['string', 'null'] },
    startedBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: time,
    finishedAt: time,
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'status', 'target', 'counts', 'bytes', 'startedBy', 'createdAt', 'updatedAt'],
} as const;

export const migrationList = {
  type: 'object',
  properties: { items: { type: 'array', items: migration } },
  required: ['items'],
} as const;

export const dryRunResult = {
  type: 'object',
  properties: {
    dryRun: { type: 'boolean', const: true },
    target: migration.properties.target,
    count,
    bytes: count,
  },
  required: ['dryRun', 'target', 'count', 'bytes'],
} as const;

export const migrationWithFailures = {
  type: 'object',
  properties: {
    ...migration.properties,
    failures: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          recordingId: { type: 'string' },
          reason: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
        },
        required: ['recordingId', 'reason', 'at'],
      },
    },
  },
  required: [...migration.required, 'failures'],
} as const;

export const migrationParams = {
  type: 'object',
  properties: { id: bigintId },
  required: ['id'],
} as const;

export const actionParams = {
  type: 'object',
  properties: { id: bigintId, action: { type: 'string', enum: ['pause', 'resume', 'cancel'] } },
  required: ['id', 'action'],
} as const;
