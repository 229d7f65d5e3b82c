import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import '@fastify/cookie';
import { AppError } from '../errors.js';
import type { AuthContext, AuthService } from './auth.service.js';

export const SESSION_COOKIE = 'recorder_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | undefined;
  }
}

/** The authenticated user, or a 401. Use as a route's preHandler or call inside a handler. */
export function requireUser(req: FastifyRequest): AuthContext {
  if (!req.auth) throw new AppError('UNAUTHENTICATED');
  return req.auth;
}

export async function requireUserHook(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  requireUser(req);
}

function sameOrigin(req: FastifyRequest, publicOrigin: string | undefined): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  if (!source) return false;
  let host: string;
  try {
    host = new URL(source).host;
  } catch {
    return false;
  }
  if (publicOrigin) return host === new URL(publicOrigin).host;
  return host === req.headers.host;
}

/**
 * Finds who is calling on every request: `Authorization: Bearer <api token>` or the session cookie.
 * A mutating request carried by the cookie must come from our own origin (Origin or Referer header):
 * the browser attaches cookies to cross-site requests, an attacker's page cannot set Origin.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { auth: AuthService; publicOrigin?: string }) => {
  app.decorateRequest('auth', undefined);
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      req.auth = await opts.auth.fromApiToken(header.slice(7).trim());
      if (!req.auth) throw new AppError('UNAUTHENTICATED', 'The API token is unknown, revoked or expired');
      return;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (!cookie) return;
    req.auth = await opts.auth.fromSession(cookie);
    if (req.auth && !SAFE_METHODS.has(req.method) && !sameOrigin(req, opts.publicOrigin)) {
      throw new AppError('ORIGIN_MISMATCH');
    }
  });
});
