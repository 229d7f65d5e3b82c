/** JSON schemas of the share-link API (issue 13; docs/api.md "Share links"). */
import { SHARE_PERMISSIONS } from '../../shared/domain.js';
import { bigintId as id } from '../ids.js';

const permissions = {
  type: 'array',
  items: { type: 'string', enum: SHARE_PERMISSIONS },
  uniqueItems: true,
  minItems: 1,
  contains: { const: 'view' },
  description: "what the link's visitors may do; always includes 'view'",
} as const;
const label = { type: 'string', minLength: 1, maxLength: 200 } as const;
const password = { type: 'string', minLength: 8, maxLength: 200 } as const;
const expiresAt = {
  type: 'string',
  format: 'date-time',
  description: 'when the link stops working: in the future, at most a year ahead',
} as const;
const dateOrNull = { type: ['string', 'null'], format: 'date-time' } as const;

export const share = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    recordingId: { type: 'string' },
    label: { type: ['string', 'null'] },
    permissions: { type: 'array', items: { type: 'string', enum: SHARE_PERMISSIONS } },
    passwordProtected: { type: 'boolean' },
    expiresAt: dateOrNull,
    revokedAt: dateOrNull,
    viewCount: { type: 'integer' },
    lastViewedAt: dateOrNull,
    createdAt: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['active', 'expired', 'revoked'] },
  },
  required: [
    'id',
    'recordingId',
    'label',
    'permissions',
    'passwordProtected',
    'expiresAt',
    'revokedAt',
    'viewCount',
    'lastViewedAt',
    'createdAt',
    'status',
  ],
  additionalProperties: false,
} as const;

export const createShareBody = {
  type: 'object',
  properties: { permissions, password, expiresAt, label },
  required: ['permissions'],
  additionalProperties: false,
  propertyNames: { enum: ['permissions', 'password', 'expiresAt', 'label'] },
} as const;

export const updateShareBody = {
  type: 'object',
  properties: {
    permissions,
    password: { anyOf: [password, { type: 'null' }] },
    expiresAt: { anyOf: [expiresAt, { type: 'null' }] },
    label: { anyOf: [label, { type: 'null' }] },
  },
  minProperties: 1,
  additionalProperties: false,
  propertyNames: { enum: ['permissions', 'password', 'expiresAt', 'label'] },
} as const;

export const createdShare = {
  type: 'object',
  properties: {
    share,
    url: { type: 'string', description: '<origin>/s/<token>: shown only now' },
    token: { type: 'string', description: 'shown only now (stored hashed): a lost link is replaced by a new one' },
  },
  required: ['share', 'url', 'token'],
  additionalProperties: false,
} as const;

export const shareList = {
  type: 'object',
  properties: { shares: { type: 'array', items: share } },
  required: ['shares'],
  additionalProperties: false,
} as const;

export const recordingParams = { type: 'object', properties: { id }, required: ['id'] } as const;
export const shareParams = {
  type: 'object',
  properties: { id, shareId: id },
  required: ['id', 'shareId'],
} as const;

// ---- public: /api/s/:token ----

/** Any text up to 200 characters: a malformed token is answered like an unknown one (404), not 400. */
export const tokenParams = {
  type: 'object',
  properties: { token: { type: 'string', maxLength: 200 } },
  required: ['token'],
} as const;

/** ?access=<grant>: media, thumbnail and download URLs (a <video src> cannot send headers). */
export const accessQuery = {
  type: 'object',
  properties: { access: { type: 'string', maxLength: 200 } },
} as const;

export const unlockBody = {
  type: 'object',
  properties: { password: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['password'],
  additionalProperties: false,
} as const;

export const unlocked = {
  type: 'object',
  properties: {
    access: { type: 'string', description: 'send as X-Share-Access, or ?access= on media URLs' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
  required: ['access', 'expiresAt'],
  additionalProperties: false,
} as const;

export const sharedRecording = {
  type: 'object',
  properties: {
    share: {
      type: 'object',
      properties: {
        permissions: { type: 'array', items: { type: 'string', enum: SHARE_PERMISSIONS } },
        expiresAt: dateOrNull,
        passwordRequired: { type: 'boolean' },
      },
      required: ['permissions', 'expiresAt', 'passwordRequired'],
      additionalProperties: false,
    },
    recording: {
      type: 'object',
      properties: {
        title: { type: 'string' },
        description: { type: ['string', 'null'] },
        recordingType: { type: 'string' },
        duration: { type: 'integer', description: 'whole seconds' },
        mimeType: { type: ['string', 'null'] },
        width: { type: 'integer' },
        height: { type: 'integer' },
        createdAt: { type: 'string', format: 'date-time' },
        mediaUrl: { type: ['string', 'null'] },
        thumbnailUrl: { type: ['string', 'null'] },
        downloadUrl: { type: ['string', 'null'], description: "null without the 'download' permission" },
      },
      required: [
        'title',
        'description',
        'recordingType',
        'duration',
        'mimeType',
        'createdAt',
        'mediaUrl',
        'thumbnailUrl',
        'downloadUrl',
      ],
      additionalProperties: false,
    },
  },
  required: ['share', 'recording'],
  additionalProperties: false,
} as const;
