import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import '@fastify/cookie';
import { requireUser, requireUserHook, SESSION_COOKIE } from './auth.plugin.js';
import { storageFor } from '../features.js';
import {
  createdTokenResponse,
  createTokenBody,
  idParams,
  meResponse,
  signInBody,
  signUpBody,
  tokenListResponse,
  userResponse,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';

function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string, expiresAt: Date) {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.protocol === 'https',
    path: '/',
    expires: expiresAt,
  });
}

export async function authRoutes(
  root: FastifyInstance,
  opts: { auth: AuthService; signInPerMinute: number; databaseStoragePercent: number },
) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const tags = ['auth'];

  app.post(
    '/api/auth/signup',
    { schema: { tags, summary: 'Create an account and sign in', body: signUpBody, response: { 201: userResponse } } },
    async (req, reply) => {
      const { user, sessionToken, expiresAt } = await opts.auth.signUp(req.body, req.headers['user-agent'] ?? null);
      setSessionCookie(req, reply, sessionToken, expiresAt);
      return reply.status(201).send({ user });
    },
  );

  app.post(
    '/api/auth/signin',
    {
      schema: { tags, summary: 'Sign in with email and password', body: signInBody, response: { 200: userResponse } },
      config: {
        rateLimit: {
          max: opts.signInPerMinute,
          timeWindow: 60_000,
          // preHandler, not the default onRequest: the key needs the parsed body (the email)
          hook: 'preHandler',
          // per address and account: one attacker cannot lock everyone out, nor guess one account fast
          keyGenerator: (req: FastifyRequest) =>
            `${req.ip}:${String((req.body as { email?: unknown } | undefined)?.email ?? '').toLowerCase()}`,
        },
      },
    },
    async (req, reply) => {
      const { user, sessionToken, expiresAt } = await opts.auth.signIn(req.body, req.headers['user-agent'] ?? null);
      setSessionCookie(req, reply, sessionToken, expiresAt);
      return { user };
    },
  );

  app.post('/api/auth/signout', { schema: { tags, summary: 'End this session' } }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await opts.auth.signOut(token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.get(
    '/api/auth/me',
    {
      preHandler: requireUserHook,
      schema: { tags, summary: 'Who am I, and which features the web app uses for me', response: { 200: meResponse } },
    },
    async (req) => {
      const { user } = requireUser(req);
      return { user, features: { storage: storageFor(user.id, opts.databaseStoragePercent) } };
    },
  );

  app.post(
    '/api/auth/tokens',
    {
      preHandler: requireUserHook,
      schema: {
        tags,
        summary: 'Create a personal API token (shown once)',
        body: createTokenBody,
        response: { 201: createdTokenResponse },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(await opts.auth.createToken(requireUser(req).user.id, req.body.name, req.body.expiresInDays)),
  );

  app.get(
    '/api/auth/tokens',
    {
      preHandler: requireUserHook,
      schema: { tags, summary: 'My API tokens (never the secret)', response: { 200: tokenListResponse } },
    },
    async (req) => ({ items: await opts.auth.listTokens(requireUser(req).user.id) }),
  );

  app.delete(
    '/api/auth/tokens/:id',
    { preHandler: requireUserHook, schema: { tags, summary: 'Revoke an API token', params: idParams } },
    async (req, reply) => {
      await opts.auth.revokeToken(requireUser(req).user.id, req.params.id);
      return reply.status(204).send();
    },
  );
}
