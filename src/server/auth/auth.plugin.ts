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

/**
 * For what only the account holder at the keyboard may do (create API tokens): a cookie session, not a
 * token, or a leaked token could mint tokens that outlive its own revocation. 403 SESSION_REQUIRED.
 */
export async function requireSessionHook(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (requireUser(req).via !== 'cookie') throw new AppError('SESSION_REQUIRED');
}

/** scheme://host[:port] of a URL, with default ports dropped; undefined when it is not a URL. */
function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * Our own origin: PUBLIC_URL's, or the one the request was made to (its scheme and Host as a trusted
 * proxy reports them). Scheme, host and port must all match: http://host is another origin than
 * https://host, and a page served over plain http (or from another port) must not write as the user.
 */
function sameOrigin(req: FastifyRequest, publicOrigin: string | undefined): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  const claimed = source ? originOf(source) : undefined;
  if (!claimed) return false;
  const ours = publicOrigin ? originOf(publicOrigin) : originOf(`${req.protocol}://${req.host}`);
  return claimed === ours;
}

/**
 * Finds who is calling on every request: `Authorization: Bearer <api token>` or the session cookie.
 * A mutating request carried by the cookie must come from our own origin (Origin or Referer header):
 * the browser attaches cookies to cross-site requests, an attacker's page cannot set Origin.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { auth: AuthService; publicOrigin?: string }) => {
  app.decorateRequest('auth', undefined);
  app.addHook('onRequest', async (req) => {
    // /metrics reads its own bearer, METRICS_TOKEN (metrics/metrics.routes.ts), which is no API token
    if (req.routeOptions.url === '/metrics') return;
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
