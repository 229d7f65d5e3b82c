/**
 * Security headers on every response (API, media, thumbnails, tus, errors, the app), set in onRequest on
 * the raw response so they survive an error thrown later and tus's own writes:
 *
 * - @fastify/helmet: X-Content-Type-Options: nosniff (a media file or a JSON body is never run as a page),
 *   X-Frame-Options: DENY, Referrer-Policy: same-origin (our own pages keep a Referer for the origin
 *   check's fallback; other sites get none), Cross-Origin-Opener-Policy and -Resource-Policy: same-origin,
 *   Origin-Agent-Cluster, X-DNS-Prefetch-Control: off, X-Permitted-Cross-Domain-Policies: none.
 *   Its Content-Security-Policy is off: web.plugin.ts sends the app's one CSP on HTML pages, the only
 *   responses a CSP governs here (a second source would be two policies to keep in step).
 * - Strict-Transport-Security only when the browser reached us over https (PUBLIC_URL https, or the
 *   scheme a trusted proxy reports): over plain http it would be ignored, or pin a LAN install to https.
 * - Cache-Control: no-store on JSON that sets no policy of its own: API answers hold account data,
 *   which a shared or back-button cache must not keep. Media and app assets keep their own policies.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const HSTS = 'max-age=31536000; includeSubDomains';

/** Whether the browser is on https: PUBLIC_URL says so, or the request came (through a trusted proxy) over it. */
export function isHttpsOrigin(req: FastifyRequest, publicUrl: string | undefined): boolean {
  return publicUrl?.startsWith('https:') === true || req.protocol === 'https';
}

export const securityHeaders = fp(
  async (app: FastifyInstance, opts: { publicUrl?: string }) => {
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: false,
      strictTransportSecurity: false,
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      referrerPolicy: { policy: 'same-origin' },
      xFrameOptions: { action: 'deny' },
    });
    app.addHook('onRequest', async (req, reply) => {
      if (isHttpsOrigin(req, opts.publicUrl)) reply.raw.setHeader('strict-transport-security', HSTS);
    });
    app.addHook('onSend', async (_req, reply, payload) => {
      const type = String(reply.getHeader('content-type') ?? '');
      if (type.startsWith('application/json') && !reply.hasHeader('cache-control')) {
        reply.header('cache-control', 'no-store');
      }
      return payload;
    });
  },
  { name: 'security-headers' },
);
