/**
 * JSON schemas of the comments API (issue 13; docs/api.md "Comments"): members under
 * /api/recordings/:id/comments, link visitors under /api/s/:token/comments. The web app imports the types
 * from here (`import type`: data only). Text limits are the service's (COMMENT_EMPTY, COMMENT_TOO_LONG,
 * COMMENT_AT_INVALID with their own codes), not the schema's.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { bigintId } from '../ids.js';

const nullableString = { type: ['string', 'null'] } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const comment = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    recordingId: { type: 'string' },
    parentId: { ...nullableString, description: "a reply's thread (its top-level comment); null for a thread" },
    atMs: { type: ['integer', 'null'], description: 'the point in the recording, ms; null: the whole recording' },
    body: { type: 'string', description: "plain text ('' once deleted): render it as text, never as HTML" },
    author: {
      type: 'object',
      properties: {
        kind: { type: 'string', enum: ['member', 'guest'] },
        name: { type: 'string', description: "a member's display name (never an email) or a guest's name" },
        isYou: { type: 'boolean' },
      },
      required: ['kind', 'name', 'isYou'],
      additionalProperties: false,
    },
    createdAt: { type: 'string', format: 'date-time' },
    editedAt: nullableTime,
    deletedAt: nullableTime,
    resolvedAt: nullableTime,
    resolvedBy: {
      anyOf: [
        { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
        { type: 'null' },
      ],
    },
    revision: { type: 'string', description: 'the change that made this state (a bigint as a decimal string)' },
    canEdit: { type: 'boolean' },
    canDelete: { type: 'boolean' },
    canResolve: { type: 'boolean' },
  },
  required: [
    'id',
    'recordingId',
    'parentId',
    'atMs',
    'body',
    'author',
    'createdAt',
    'editedAt',
    'deletedAt',
    'resolvedAt',
    'resolvedBy',
    'revision',
    'canEdit',
    'canDelete',
    'canResolve',
  ],
  additionalProperties: false,
} as const;

export type Comment = FromSchema<typeof comment>;

const revision = { type: 'string', pattern: '^(0|[1-9][0-9]{0,18})$' } as const;

export const commentPage = {
  type: 'object',
  properties: {
    comments: { type: 'array', items: comment },
    nextAfter: { ...nullableString, description: 'the `after` of the next page; null on the last' },
    revision: { type: 'string', description: 'the first page’s is the cursor for /changes?since=' },
  },
  required: ['comments', 'nextAfter', 'revision'],
  additionalProperties: false,
} as const;

export const commentChanges = {
  type: 'object',
  properties: {
    comments: { type: 'array', items: comment },
    revision: { type: 'string', description: 'the next `since`' },
  },
  required: ['comments', 'revision'],
  additionalProperties: false,
} as const;

export const commentAnswer = {
  type: 'object',
  properties: { comment },
  required: ['comment'],
  additionalProperties: false,
} as const;

export const guestCommentAnswer = {
  type: 'object',
  properties: {
    comment,
    guestKey: { type: 'string', description: 'send as X-Guest-Key to edit or delete this comment; shown once' },
  },
  required: ['comment', 'guestKey'],
  additionalProperties: false,
} as const;

export type CommentPage = FromSchema<typeof commentPage>;
export type CommentChanges = FromSchema<typeof commentChanges>;

export const pageQuery = {
  type: 'object',
  properties: {
    after: { ...bigintId, description: 'the nextAfter of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 100 },
  },
  additionalProperties: false,
  // Fastify's Ajv drops unknown names silently (removeAdditional); propertyNames makes them a 400.
  propertyNames: { enum: ['after', 'limit'] },
} as const;

export const changesQuery = {
  type: 'object',
  properties: { since: revision },
  required: ['since'],
  additionalProperties: false,
  propertyNames: { enum: ['since'] },
} as const;

const body = { type: 'string', description: '1..5,000 characters of plain text' } as const;
const atMs = {
  type: ['integer', 'null'],
  description: 'ms from the start, within the recording; null: all of it',
} as const;

export const createBody = {
  type: 'object',
  properties: { body, atMs, parentId: bigintId },
  required: ['body'],
  additionalProperties: false,
  propertyNames: { enum: ['body', 'atMs', 'parentId'] },
} as const;

export const guestCreateBody = {
  type: 'object',
  properties: {
    body,
    atMs,
    parentId: bigintId,
    guestName: { type: 'string', minLength: 1, maxLength: 80, pattern: '\\S', description: 'shown as the author' },
  },
  required: ['body', 'guestName'],
  additionalProperties: false,
  propertyNames: { enum: ['body', 'atMs', 'parentId', 'guestName'] },
} as const;

export const editBody = {
  type: 'object',
  properties: { body },
  required: ['body'],
  additionalProperties: false,
  propertyNames: { enum: ['body'] },
} as const;

export const memberParams = { type: 'object', properties: { id: bigintId }, required: ['id'] } as const;
export const memberCommentParams = {
  type: 'object',
  properties: { id: bigintId, commentId: bigintId },
  required: ['id', 'commentId'],
} as const;

const token = { type: 'string', minLength: 1, maxLength: 200 } as const;
export const guestParams = { type: 'object', properties: { token }, required: ['token'] } as const;
export const guestCommentParams = {
  type: 'object',
  properties: { token, commentId: bigintId },
  required: ['token', 'commentId'],
} as const;

/** X-Share-Access (a password link's grant) and X-Guest-Key (a guest's own comments). */
export const guestHeaders = {
  type: 'object',
  properties: {
    'x-share-access': { type: 'string', maxLength: 500 },
    'x-guest-key': { type: 'string', maxLength: 200 },
  },
} as const;
