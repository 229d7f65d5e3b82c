/**
 * JSON schemas of the sessions analytics API and the instance panel (issue 14), and the types the web app
 * imports from here (`import type` + FromSchema: this module is data only). Definitions (docs/api.md,
 * "Analytics"): a session counts on the day it started, in the asked time zone; `completed` is status
 * completed and not discarded, `discarded` has discarded_at set, `interrupted` and `active` are those
 * statuses, so started = completed + interrupted + discarded + active. Rates are 0..1, null when the
 * denominator is 0; durations are whole seconds, null when there are none.
 */
import { RECORDING_TYPES, SESSION_EVENT_KINDS } from '../../shared/domain.js';
import { bigintId } from '../ids.js';

/** The statuses the sessions list filters on: the three stored ones and `discarded` (discarded_at set). */
export const ANALYTICS_STATUSES = ['active', 'completed', 'interrupted', 'discarded'] as const;
export type AnalyticsStatus = (typeof ANALYTICS_STATUSES)[number];
export const ANALYTICS_SCOPES = ['me', 'all'] as const;
/** The longest range asked at once, in days (from and to included). */
export const MAX_RANGE_DAYS = 366;

/**
 * from/to/tz are checked by the service, not here, so that every bad range answers one code
 * (400 ANALYTICS_RANGE_INVALID) whatever is wrong with it.
 */
const filterProperties = {
  from: { type: 'string', maxLength: 40, description: 'first day, YYYY-MM-DD (default: 29 days before `to`)' },
  to: { type: 'string', maxLength: 40, description: 'last day included, YYYY-MM-DD (default: today in tz)' },
  tz: { type: 'string', maxLength: 64, description: 'IANA time zone the days are cut in (default UTC)' },
  scope: { type: 'string', enum: ANALYTICS_SCOPES, description: 'me (default) or all: everyone (admin)' },
  userId: { type: 'string', minLength: 1, maxLength: 200, description: 'one user (admin)' },
  projectId: { ...bigintId, description: 'sessions recorded for one project (admin)' },
  recordingType: { type: 'string', enum: RECORDING_TYPES },
} as const;
const FILTER_NAMES = ['from', 'to', 'tz', 'scope', 'userId', 'projectId', 'recordingType'] as const;

export const summaryQuery = {
  type: 'object',
  properties: filterProperties,
  additionalProperties: false,
  // Fastify's Ajv removes unknown names silently; propertyNames refuses a misspelt one instead.
  propertyNames: { enum: FILTER_NAMES },
} as const;

export const sessionsQuery = {
  type: 'object',
  properties: {
    ...filterProperties,
    status: { type: 'string', enum: ANALYTICS_STATUSES },
    after: { type: 'string', maxLength: 200, description: 'nextCursor of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
  },
  additionalProperties: false,
  propertyNames: { enum: [...FILTER_NAMES, 'status', 'after', 'limit'] },
} as const;

export const sessionParams = { type: 'object', properties: { id: bigintId }, required: ['id'] } as const;

const count = { type: 'integer', minimum: 0 } as const;
const rate = { type: ['number', 'null'], minimum: 0, maximum: 1 } as const;
const seconds = { type: ['number', 'null'], description: 'seconds; null when no session has a duration' } as const;

const outcomeProperties = {
  started: count,
  completed: count,
  interrupted: count,
  discarded: count,
  completionRate: { ...rate, description: 'completed / (started - active)' },
  durationP50: seconds,
  durationP95: seconds,
} as const;
const OUTCOME_NAMES = [
  'started',
  'completed',
  'interrupted',
  'discarded',
  'completionRate',
  'durationP50',
  'durationP95',
] as const;

const breakdown = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { type: 'string', description: "'unknown' when the user agent said nothing" },
      sessions: count,
      interrupted: count,
      rate: { ...rate, description: 'interrupted / sessions' },
    },
    required: ['name', 'sessions', 'interrupted', 'rate'],
  },
} as const;

const valueCounts = {
  type: 'array',
  items: {
    type: 'object',
    properties: { value: { type: 'string' }, count },
    required: ['value', 'count'],
  },
} as const;

export const summary = {
  type: 'object',
  properties: {
    range: {
      type: 'object',
      properties: { from: { type: 'string' }, to: { type: 'string' }, tz: { type: 'string' } },
      required: ['from', 'to', 'tz'],
    },
    totals: {
      type: 'object',
      properties: { ...outcomeProperties, active: count },
      required: [...OUTCOME_NAMES, 'active'],
    },
    byDay: {
      type: 'array',
      description: 'every day of the range, oldest first, zero-filled',
      items: {
        type: 'object',
        properties: { day: { type: 'string', description: 'YYYY-MM-DD in tz' }, ...outcomeProperties },
        required: ['day', ...OUTCOME_NAMES],
      },
    },
    byType: {
      type: 'array',
      description: 'the recording types that have sessions in the range',
      items: {
        type: 'object',
        properties: { recordingType: { type: 'string', enum: RECORDING_TYPES }, ...outcomeProperties },
        required: ['recordingType', ...OUTCOME_NAMES],
      },
    },
    topErrors: {
      type: 'array',
      description: 'the 10 most frequent error messages, most frequent first',
      items: {
        type: 'object',
        properties: { message: { type: 'string' }, count },
        required: ['message', 'count'],
      },
    },
    interruptions: {
      type: 'object',
      properties: { byBrowser: breakdown, byOs: breakdown, byDevice: breakdown },
      required: ['byBrowser', 'byOs', 'byDevice'],
    },
    settings: {
      type: 'object',
      properties: { quality: valueCounts, mode: valueCounts },
      required: ['quality', 'mode'],
    },
  },
  required: ['range', 'totals', 'byDay', 'byType', 'topErrors', 'interruptions', 'settings'],
} as const;

const nullableText = { type: ['string', 'null'] } as const;

const sessionProperties = {
  id: { type: 'string' },
  user: {
    type: 'object',
    description: 'present only when an administrator asks beyond their own sessions',
    properties: { id: { type: 'string' }, displayName: { type: 'string' }, email: { type: 'string' } },
    required: ['id', 'displayName', 'email'],
  },
  recordingType: { type: 'string', enum: RECORDING_TYPES },
  status: { type: 'string', enum: ['active', 'completed', 'interrupted'] },
  discarded: { type: 'boolean' },
  startedAt: { type: 'string', format: 'date-time' },
  endedAt: { type: ['string', 'null'], format: 'date-time' },
  duration: { type: ['integer', 'null'], description: 'whole seconds' },
  browser: nullableText,
  os: nullableText,
  deviceKind: { ...nullableText, description: 'desktop, mobile, tablet, tv (bowser platform type)' },
  errorMessage: nullableText,
  recordingId: nullableText,
} as const;
const SESSION_NAMES = [
  'id',
  'recordingType',
  'status',
  'discarded',
  'startedAt',
  'endedAt',
  'duration',
  'browser',
  'os',
  'deviceKind',
  'errorMessage',
  'recordingId',
] as const;

export const sessionItem = { type: 'object', properties: sessionProperties, required: SESSION_NAMES } as const;

export const sessionPage = {
  type: 'object',
  properties: {
    sessions: { type: 'array', items: sessionItem },
    nextCursor: { type: ['string', 'null'], description: 'pass as `after` for the next page; null at the end' },
  },
  required: ['sessions', 'nextCursor'],
} as const;

export const sessionDetail = {
  type: 'object',
  properties: {
    session: {
      type: 'object',
      properties: {
        ...sessionProperties,
        deviceInfo: { type: ['object', 'null'], additionalProperties: true },
        settings: { type: ['object', 'null'], additionalProperties: true },
      },
      required: [...SESSION_NAMES, 'deviceInfo', 'settings'],
    },
    events: {
      type: 'array',
      description: 'oldest first',
      items: {
        type: 'object',
        properties: {
          at: { type: 'string', format: 'date-time' },
          kind: { type: 'string', enum: SESSION_EVENT_KINDS },
          detail: { type: ['object', 'null'], additionalProperties: true },
        },
        required: ['at', 'kind', 'detail'],
      },
    },
  },
  required: ['session', 'events'],
} as const;

export const instance = {
  type: 'object',
  properties: {
    storage: {
      type: 'array',
      items: {
        type: 'object',
        properties: { provider: { type: 'string' }, bucket: nullableText, recordings: count, bytes: count },
        required: ['provider', 'bucket', 'recordings', 'bytes'],
      },
    },
    processing: {
      type: 'object',
      properties: {
        failed: count,
        failedLast24h: count,
        recent: {
          type: 'array',
          description: 'the 10 latest failed recordings, newest first',
          items: {
            type: 'object',
            properties: {
              recordingId: { type: 'string' },
              title: { type: 'string' },
              error: nullableText,
              at: { type: 'string', format: 'date-time' },
            },
            required: ['recordingId', 'title', 'error', 'at'],
          },
        },
      },
      required: ['failed', 'failedLast24h', 'recent'],
    },
    queues: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, queued: count, active: count, failed: count },
        required: ['name', 'queued', 'active', 'failed'],
      },
    },
  },
  required: ['storage', 'processing', 'queues'],
} as const;
