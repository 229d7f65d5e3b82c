import { bigintId } from '../ids.js';

const role = { type: 'string', enum: ['owner', 'editor', 'viewer'] } as const;
const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export const project = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    ownerId: { type: 'string' },
    role,
    recordingCount: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'name', 'ownerId', 'role', 'createdAt', 'updatedAt'],
} as const;

export const projectList = {
  type: 'object',
  properties: { items: { type: 'array', items: project } },
  required: ['items'],
} as const;
export const projectBody = {
  type: 'object',
  properties: { name },
  required: ['name'],
  additionalProperties: false,
} as const;
export const projectParams = {
  type: 'object',
  properties: { id: bigintId },
  required: ['id'],
} as const;
export const memberParams = {
  type: 'object',
  properties: {
    id: bigintId,
    userId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
  required: ['id', 'userId'],
} as const;

export const member = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    email: { type: 'string' },
    displayName: { type: 'string' },
    role,
    addedAt: { type: 'string', format: 'date-time' },
  },
  required: ['userId', 'email', 'displayName', 'role', 'addedAt'],
} as const;
export const memberList = {
  type: 'object',
  properties: { items: { type: 'array', items: member } },
  required: ['items'],
} as const;
export const addMemberBody = {
  type: 'object',
  properties: { email: { type: 'string', format: 'email', maxLength: 320 }, role },
  required: ['email', 'role'],
  additionalProperties: false,
} as const;
export const roleBody = {
  type: 'object',
  properties: { role },
  required: ['role'],
  additionalProperties: false,
} as const;
