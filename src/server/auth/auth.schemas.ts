import { bigintId } from '../ids.js';

export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    displayName: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'email', 'displayName', 'createdAt'],
  additionalProperties: false,
} as const;

const email = { type: 'string', format: 'email', maxLength: 320 } as const;

export const signUpBody = {
  type: 'object',
  properties: {
    email,
    password: { type: 'string', minLength: 8, maxLength: 256 },
    displayName: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
  },
  required: ['email', 'password', 'displayName'],
  additionalProperties: false,
} as const;

export const signInBody = {
  type: 'object',
  properties: { email, password: { type: 'string', minLength: 1, maxLength: 256 } },
  required: ['email', 'password'],
  additionalProperties: false,
} as const;

export const userResponse = { type: 'object', properties: { user: userSchema }, required: ['user'] } as const;

/** GET /api/auth/me: the user and the features the web app should use for them. */
export const meResponse = {
  type: 'object',
  properties: {
    user: userSchema,
    features: {
      type: 'object',
      properties: {
        storage: {
          type: 'string',
          enum: ['server', 'browser'],
          description:
            'where the web app keeps this user’s takes (USE_DATABASE_STORAGE; a percentage is a stable share of users)',
        },
      },
      required: ['storage'],
      additionalProperties: false,
    },
  },
  required: ['user', 'features'],
} as const;

const tokenInfo = {
  id: { type: 'string' },
  name: { type: 'string' },
  prefix: { type: 'string', description: 'first characters of the token, to recognise it' },
  createdAt: { type: 'string', format: 'date-time' },
  expiresAt: { type: ['string', 'null'], format: 'date-time' },
} as const;

export const createTokenBody = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
  },
  required: ['name'],
  additionalProperties: false,
} as const;

export const createdTokenResponse = {
  type: 'object',
  properties: { ...tokenInfo, token: { type: 'string', description: 'shown once; store it now' } },
  required: ['id', 'name', 'prefix', 'createdAt', 'expiresAt', 'token'],
} as const;

export const tokenListResponse = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: { ...tokenInfo, lastUsedAt: { type: ['string', 'null'], format: 'date-time' } },
        required: ['id', 'name', 'prefix', 'createdAt', 'expiresAt', 'lastUsedAt'],
      },
    },
  },
  required: ['items'],
} as const;

export const idParams = {
  type: 'object',
  properties: { id: bigintId },
  required: ['id'],
} as const;

/** POST /api/auth/signout-everywhere: how many sessions ended and API tokens were revoked. */
export const signOutEverywhereResponse = {
  type: 'object',
  properties: {
    sessions: { type: 'integer', description: 'sign-in sessions ended, this one included' },
    tokens: { type: 'integer', description: 'API tokens revoked' },
  },
  required: ['sessions', 'tokens'],
  additionalProperties: false,
} as const;
