/**
 * JSON schemas of /api/recordings/:id/edits (issue 12), and the types the web app imports from here
 * (`import type`: this module is data only). The parameters of each edit type are the shared ones
 * (src/shared/edits.ts EDIT_PARAMETER_SCHEMAS): the server validates exactly what the browser checks.
 */
import { EDIT_PARAMETER_SCHEMAS, EDIT_TYPES, FILTER_NAMES } from '../../shared/edits.js';
import { bigintId } from '../ids.js';

export type { CurrentEdits, EditHistory, EditStatus, HistoryEdit } from './edits.service.js';

export const editsParams = { type: 'object', properties: { id: bigintId }, required: ['id'] } as const;

export const editsQuery = {
  type: 'object',
  properties: {
    /** Only the edits after this position in the answer's list (the state and flags stay whole). */
    since: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
  },
  additionalProperties: false,
} as const;

/** {type, parameters}: one branch per type, so a wrong parameter is reported against its own type. */
export const editBody = {
  type: 'object',
  properties: { type: { type: 'string', enum: [...EDIT_TYPES] }, parameters: { type: 'object' } },
  required: ['type', 'parameters'],
  additionalProperties: false,
  allOf: EDIT_TYPES.map((type) => ({
    if: { properties: { type: { const: type } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, never awaited
    then: { properties: { parameters: EDIT_PARAMETER_SCHEMAS[type] } },
  })),
} as const;

const seconds = { type: 'number' } as const;
/** Free-form in the answer (each type's shape is in EDIT_PARAMETER_SCHEMAS): serialized as stored. */
const anyObject = { type: 'object', additionalProperties: true } as const;
const textOverlay = { ...anyObject, properties: EDIT_PARAMETER_SCHEMAS.text_overlay.properties } as const;

export const editState = {
  type: 'object',
  properties: {
    keep: {
      type: 'array',
      items: { type: 'object', properties: { start: seconds, end: seconds }, required: ['start', 'end'] },
    },
    crop: { anyOf: [{ ...anyObject, properties: EDIT_PARAMETER_SCHEMAS.crop.properties }, { type: 'null' }] },
    filters: {
      type: 'object',
      properties: Object.fromEntries(FILTER_NAMES.map((n) => [n, { type: 'number' }])),
      additionalProperties: false,
    },
    texts: { type: 'array', items: textOverlay },
    audio: {
      type: 'object',
      properties: {
        gainDb: { type: 'number' },
        mute: { type: 'boolean' },
        fadeIn: seconds,
        fadeOut: seconds,
        denoise: { type: 'boolean' },
      },
      required: ['gainDb', 'mute', 'fadeIn', 'fadeOut', 'denoise'],
    },
  },
  required: ['keep', 'crop', 'filters', 'texts', 'audio'],
} as const;

export const historyEdit = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    position: { type: 'integer' },
    type: { type: 'string', enum: [...EDIT_TYPES] },
    parameters: anyObject,
    undoData: { anyOf: [anyObject, { type: 'null' }] },
    description: { type: 'string' },
    state: { type: 'string', enum: ['active', 'undone', 'dropped'] },
    createdBy: { type: ['string', 'null'] },
    createdByName: { type: ['string', 'null'] },
    appliedAt: { type: 'string', format: 'date-time' },
  },
  required: [
    'id',
    'position',
    'type',
    'parameters',
    'undoData',
    'description',
    'state',
    'createdBy',
    'createdByName',
    'appliedAt',
  ],
} as const;

export const editHistory = {
  type: 'object',
  properties: {
    revision: { type: 'string', pattern: '^\\d+$' },
    canUndo: { type: 'boolean' },
    canRedo: { type: 'boolean' },
    edits: { type: 'array', items: historyEdit },
    state: editState,
    media: {
      type: 'object',
      properties: {
        durationSeconds: { type: 'number' },
        width: { type: ['integer', 'null'] },
        height: { type: ['integer', 'null'] },
      },
      required: ['durationSeconds', 'width', 'height'],
    },
  },
  required: ['revision', 'canUndo', 'canRedo', 'edits', 'state', 'media'],
} as const;
