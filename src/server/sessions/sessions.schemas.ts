/** JSON schemas of /api/sessions; request types come from them (json-schema-to-ts). */
import { RECORDING_TYPES, SESSION_STATUSES } from '../db/schema.js';
import { bigintId as id } from '../ids.js';

/** PostgreSQL text cannot hold U+0000; refused here instead of failing the query with a 500. */
const NO_NUL = '^[^\\u0000]*$';
const dateTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** Free-form objects (device info, settings, take metadata): size is bounded in the service. */
const object = { type: 'object', additionalProperties: true } as const;
/** Durations become whole seconds in integer columns (2^31 - 1 at most). */
const MAX_DURATION_MS = (2 ** 31 - 1) * 1000;
/**
 * The earliest startedAt accepted. Client clocks can be wrong, but not by decades: a start in 1900 made
 * every duration computed from it overflow (docs/security.md, "Hostile input").
 */
export const EARLIEST_START = '2000-01-01T00:00:00Z';
/** Longest interrupt reason kept in error_message. */
export const MAX_REASON = 1000;
export const UNFINISHED = 'unfinished';
export const SESSION_STATES = [UNFINISHED, ...SESSION_STATUSES] as const;

export const session = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    recordingType: { type: 'string', enum: RECORDING_TYPES },
    status: { type: 'string', enum: SESSION_STATUSES },
    startedAt: { type: 'string', format: 'date-time' },
    endedAt: dateTime,
    duration: { type: ['integer', 'null'], description: 'whole seconds recorded (so far, while active)' },
    deviceInfo: { type: ['object', 'null'], additionalProperties: true },
    settings: { type: ['object', 'null'], additionalProperties: true },
    errorMessage: {
      type: ['string', 'null'],
      description: 'why the take was interrupted, in words a person understands',
    },
    projectId: { type: ['string', 'null'] },
    lastHeartbeatAt: dateTime,
    recordingId: { type: ['string', 'null'], description: 'the recording this take became, once kept' },
    discarded: { type: 'boolean' },
    take: {
      type: ['object', 'null'],
      description: 'details given when keeping the take (PATCH); used by the upload finish',
      properties: {
        title: { type: 'string' },
        description: { type: ['string', 'null'] },
        projectId: { type: ['string', 'null'] },
        durationMs: { type: 'integer' },
        metadata: object,
      },
      additionalProperties: false,
    },
    upload: {
      type: ['object', 'null'],
      description: 'the latest tus upload of this take',
      properties: {
        id: { type: 'string' },
        url: { type: 'string' },
        offset: { type: 'integer', description: 'bytes the server holds' },
        length: { type: ['integer', 'null'], description: 'declared length; null while deferred' },
        status: { type: 'string', enum: ['uploading', 'completed', 'failed', 'terminated'] },
      },
      required: ['id', 'url', 'offset', 'length', 'status'],
    },
  },
  required: [
    'id',
    'recordingType',
    'status',
    'startedAt',
    'endedAt',
    'duration',
    'deviceInfo',
    'settings',
    'errorMessage',
    'projectId',
    'lastHeartbeatAt',
    'recordingId',
    'discarded',
    'take',
    'upload',
  ],
} as const;

export const sessionList = {
  type: 'object',
  properties: { items: { type: 'array', items: session } },
  required: ['items'],
} as const;

export const sessionParams = { type: 'object', properties: { id }, required: ['id'] } as const;

export const createBody = {
  type: 'object',
  properties: {
    recordingType: { type: 'string', enum: RECORDING_TYPES },
    projectId: { anyOf: [id, { type: 'null' }] },
    deviceInfo: object,
    settings: object,
    startedAt: {
      type: 'string',
      format: 'date-time',
      // No take predates this; the service refuses times ahead of the server clock.
      formatMinimum: EARLIEST_START,
      description: `when recording started (default: now); from ${EARLIEST_START} to 5 minutes ahead of the server`,
    },
  },
  required: ['recordingType'],
  additionalProperties: false,
  // Unknown names are refused by name (see recordings.schemas.ts, listQuery).
  propertyNames: { enum: ['recordingType', 'projectId', 'deviceInfo', 'settings', 'startedAt'] },
} as const;

export const listQuery = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: SESSION_STATES },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
  },
  additionalProperties: false,
  propertyNames: { enum: ['state', 'limit'] },
} as const;

export const heartbeatBody = {
  type: ['object', 'null'],
  properties: {
    durationMs: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_DURATION_MS,
      description: 'recorded so far (pauses excluded)',
    },
    bytes: { type: 'integer', minimum: 0, description: 'bytes recorded so far in the browser (logged, not stored)' },
  },
  additionalProperties: false,
  propertyNames: { enum: ['durationMs', 'bytes'] },
} as const;

export const interruptBody = {
  type: ['object', 'null'],
  properties: { reason: { type: 'string', minLength: 1, maxLength: MAX_REASON, pattern: NO_NUL } },
  additionalProperties: false,
  propertyNames: { enum: ['reason'] },
} as const;

export const takeBody = {
  type: 'object',
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 300, pattern: '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$' },
    description: { type: ['string', 'null'], maxLength: 10_000, pattern: NO_NUL },
    projectId: { anyOf: [id, { type: 'null' }] },
    durationMs: { type: 'integer', minimum: 1, maximum: MAX_DURATION_MS },
    metadata: object,
  },
  minProperties: 1,
  additionalProperties: false,
  propertyNames: { enum: ['title', 'description', 'projectId', 'durationMs', 'metadata'] },
} as const;
