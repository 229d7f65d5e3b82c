import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import '@fastify/cookie';
import { requireSessionHook, requireUser, requireUserHook, SESSION_COOKIE } from './auth.plugin.js';
import { withRetryAfter } from '../http/retry-after.js';
import { storageFor } from '../features.js';
import { isHttpsOrigin } from '../web/security-headers.js';
import {
  createdTokenResponse,
  createTokenBody,
  idParams,
  meResponse,
  signInBody,
  signOutEverywhereResponse,
  signUpBody,
  tokenListResponse,
  userResponse,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import { DEFAULT_SIGN_IN_POLICY, type SignInPolicy } from './sign-in-limits.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  signInLimits?: SignInPolicy;
  databaseStoragePercent: number;
  /** PUBLIC_URL: when it is https, the session cookie is Secure whatever the request's own scheme. */
  publicUrl?: string;
}

export async function authRoutes(root: FastifyInstance, opts: AuthRoutesOptions) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const tags = ['auth'];
  const signInPolicy = opts.signInLimits ?? DEFAULT_SIGN_IN_POLICY;
  // Secure whenever the browser reached us over https (PUBLIC_URL, or the scheme a trusted proxy reports):
  // the cookie then never travels over plain http.
  const setSessionCookie = (req: FastifyRequest, reply: FastifyReply, token: string, expiresAt: Date) =>
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: isHttpsOrigin(req, opts.publicUrl),
      path: '/',
      expires: expiresAt,
    });
  const clearSessionCookie = (req: FastifyRequest, reply: FastifyReply) =>
    reply.clearCookie(SESSION_COOKIE, { path: '/', secure: isHttpsOrigin(req, opts.publicUrl) });

  app.post(
    '/api/auth/signup',
    { schema: { tags, summary: 'Create an account and sign in', body: signUpBody, response: { 201: userResponse } } },
    async (req, reply) => {
      const client = { userAgent: req.headers['user-agent'] ?? null, address: req.ip };
      const { user, sessionToken, expiresAt } = await withRetryAfter(reply, () =>
        opts.auth.signUp(req.body, client, signInPolicy),
      );
      setSessionCookie(req, reply, sessionToken, expiresAt);
      return reply.status(201).send({ user });
    },
  );

  app.post(
    '/api/auth/signin',
    {
      schema: { tags, summary: 'Sign in with email and password', body: signInBody, response: { 200: userResponse } },
    },
    async (req, reply) => {
      const client = { userAgent: req.headers['user-agent'] ?? null, address: req.ip };
      const { user, sessionToken, expiresAt } = await withRetryAfter(reply, () =>
        opts.auth.signIn(req.body, client, signInPolicy),
      );
      setSessionCookie(req, reply, sessionToken, expiresAt);
      return { user };
    },
  );

  app.post('/api/auth/signout', { schema: { tags, summary: 'End this session' } }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await opts.auth.signOut(token);
    clearSessionCookie(req, reply);
    return reply.status(204).send();
  });

  app.post(
    '/api/auth/signout-everywhere',
    {
      preHandler: requireUserHook,
      schema: {
        tags,
        summary: 'Sign out everywhere: end every session of this account and revoke all its API tokens',
        response: { 200: signOutEverywhereResponse },
      },
    },
    async (req, reply) => {
      const revoked = await opts.auth.signOutEverywhere(requireUser(req).user.id);
      clearSessionCookie(req, reply);
      return revoked;
    },
  );

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
      preHandler: requireSessionHook,
      schema: {
        tags,
        summary: 'Create a personal API token (shown once); needs a signed-in session, not a token',
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
