/**
 * JSON schemas of /api/recordings/:id/versions and /current (issue 12), and the types the web app imports
 * from here (`import type`: this module is data only).
 */
import { bigintId } from '../ids.js';

export type { VersionStatus } from './versions.service.js';

export const versionsParams = { type: 'object', properties: { id: bigintId }, required: ['id'] } as const;
export const versionParams = {
  type: 'object',
  properties: { id: bigintId, vid: bigintId },
  required: ['id', 'vid'],
} as const;

const nullableInt = { type: ['integer', 'null'] } as const;

export const version = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    recordingId: { type: 'string' },
    number: { type: 'integer', description: '1.. per recording, in the order they were asked for' },
    status: { type: 'string', enum: ['rendering', 'ready', 'failed'] },
    progress: { type: 'number', description: '0..1 of the render' },
    error: { type: ['string', 'null'], description: 'why the render failed (ffmpeg’s last lines, no paths)' },
    editRevision: { type: 'string', description: 'the edit revision rendered' },
    edits: {
      type: 'object',
      additionalProperties: true,
      description: 'the snapshot rendered: {revision, state (EditState), edits (the active edits), media}',
    },
    current: { type: 'boolean', description: 'the library, the player and shares play this version' },
    fileSize: nullableInt,
    sha256: { type: ['string', 'null'] },
    durationMs: nullableInt,
    mimeType: { type: ['string', 'null'] },
    width: nullableInt,
    height: nullableInt,
    mediaUrl: { type: ['string', 'null'], description: 'when ready: /api/recordings/:id/media?version=<id>' },
    createdBy: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    completedAt: { type: ['string', 'null'], format: 'date-time' },
  },
  required: ['id', 'recordingId', 'number', 'status', 'progress', 'current', 'createdAt'],
} as const;

export const versionList = {
  type: 'object',
  properties: {
    current: { type: ['string', 'null'], description: 'the current version’s id; null: the original plays' },
    versions: { type: 'array', items: version, description: 'newest first' },
  },
  required: ['current', 'versions'],
} as const;

export const currentBody = {
  type: 'object',
  properties: { versionId: { anyOf: [bigintId, { type: 'null' }] } },
  required: ['versionId'],
  additionalProperties: false,
} as const;
