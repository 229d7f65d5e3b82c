import { bigintId as id } from '../ids.js';

const types = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'] as const;
/** PostgreSQL text cannot hold U+0000; refused here instead of failing the query with a 500. */
const NO_NUL = '^[^\\u0000]*$';

export const recording = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    userId: { type: 'string' },
    projectId: { type: ['string', 'null'] },
    title: { type: 'string' },
    description: { type: ['string', 'null'] },
    recordingType: { type: 'string', enum: types },
    duration: {
      type: 'integer',
      description: 'whole seconds (nearest, at least 1); exact milliseconds in metadata.duration_ms',
    },
    fileSize: { type: ['integer', 'null'], description: 'bytes' },
    mimeType: { type: ['string', 'null'] },
    currentVersionId: {
      type: ['string', 'null'],
      description: 'the version that plays (issue 12); duration, fileSize and mimeType are then its own',
    },
    originalDuration: { type: 'integer', description: 'the original’s whole seconds, whatever plays' },
    originalFileSize: { type: ['integer', 'null'] },
    originalMimeType: { type: ['string', 'null'] },
    quality: { type: 'string', enum: ['high', 'medium', 'low'] },
    status: { type: 'string', enum: ['processing', 'completed', 'failed'] },
    progress: { type: ['number', 'null'], description: 'processing progress 0..1 while status is processing' },
    error: { type: ['string', 'null'], description: 'why processing failed' },
    mediaUrl: { type: ['string', 'null'] },
    thumbnailUrl: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: true },
    canEdit: { type: 'boolean' },
    canDelete: { type: 'boolean' },
    canShare: { type: 'boolean', description: 'may make and manage share links (issue 13)' },
    canResolveComments: { type: 'boolean', description: 'may resolve and reopen comments (issue 13)' },
    shared: { type: 'boolean', description: 'a share link that is neither revoked nor expired exists' },
    commentCount: { type: 'integer', description: 'comments and replies not deleted (issue 13)' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: [
    'id',
    'userId',
    'projectId',
    'title',
    'recordingType',
    'duration',
    'quality',
    'status',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
    cursor: { type: 'string', maxLength: 200 },
    type: { type: 'string', enum: types },
    projectId: id,
    status: { type: 'string', enum: ['processing', 'completed', 'failed'] },
    quality: { type: 'string', enum: ['high', 'medium', 'low'] },
    q: { type: 'string', minLength: 1, maxLength: 200, pattern: NO_NUL },
  },
  additionalProperties: false,
  // Fastify's Ajv runs with removeAdditional: an unknown name would be dropped silently, not refused.
  // propertyNames is checked before that removal, so a misspelt parameter gets its 400.
  propertyNames: { enum: ['limit', 'cursor', 'type', 'projectId', 'status', 'quality', 'q'] },
} as const;

export const recordingList = {
  type: 'object',
  properties: { items: { type: 'array', items: recording }, nextCursor: { type: ['string', 'null'] } },
  required: ['items', 'nextCursor'],
} as const;

/** /media?version=original|<version id>: which media to play (default: the current version, else the original). */
export const mediaQuery = {
  type: 'object',
  properties: { version: { type: 'string', pattern: '^(original|[1-9][0-9]{0,18})$' } },
} as const;

export const recordingParams = { type: 'object', properties: { id }, required: ['id'] } as const;

export const updateBody = {
  type: 'object',
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 300, pattern: '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$' },
    description: { type: ['string', 'null'], maxLength: 10_000, pattern: NO_NUL },
    projectId: { anyOf: [id, { type: 'null' }] },
  },
  minProperties: 1,
  additionalProperties: false,
  // See listQuery: without it {"foo":1} lost "foo", passed minProperties and reached an empty UPDATE.
  propertyNames: { enum: ['title', 'description', 'projectId'] },
} as const;
