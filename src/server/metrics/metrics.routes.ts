/**
 * GET /metrics, never public by default (docs/monitoring.md):
 * - METRICS_TOKEN: on the main port, for `Authorization: Bearer <token>` only; a missing or wrong token
 *   answers 401 METRICS_TOKEN_REQUIRED (the same for both, compared in constant time).
 * - METRICS_PORT: a second listener on HOST that serves GET /metrics alone (the token too when it is set).
 * - neither: the main port answers 404 ROUTE_NOT_FOUND, as for any path with no route.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ERRORS } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';

export interface MetricsRouteOptions {
  metrics: Metrics | undefined;
  /** METRICS_TOKEN; undefined: the main port has no /metrics. */
  token: string | undefined;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Equal-length digests, so timingSafeEqual neither throws nor reveals the token's length. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token));
}

function serve(metrics: Metrics, token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      const { status, message } = ERRORS.METRICS_TOKEN_REQUIRED;
      return reply
        .status(status)
        .header('WWW-Authenticate', 'Bearer realm="metrics"')
        .send({ code: 'METRICS_TOKEN_REQUIRED', message });
    }
    const text = await metrics.text();
    return reply.header('Content-Type', metrics.contentType).header('Cache-Control', 'no-store').send(text);
  };
}

/** The main port's /metrics: served with METRICS_TOKEN, else a 404 like any unknown path (not the web app). */
export async function metricsRoutes(app: FastifyInstance, opts: MetricsRouteOptions) {
  const { metrics, token } = opts;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (metrics && token !== undefined) return serve(metrics, token)(req, reply);
    return reply.status(404).send({ code: 'ROUTE_NOT_FOUND', message: `No route ${req.method} /metrics` });
  });
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** METRICS_PORT: its own Fastify, GET /metrics only; everything else there is a 404. */
export async function startMetricsListener(o: {
  metrics: Metrics;
  host: string;
  port: number;
  token: string | undefined;
  logger: Logger;
}): Promise<MetricsListener> {
  const app = Fastify({ loggerInstance: o.logger.child({ listener: 'metrics' }) as FastifyBaseLogger });
  app.get('/metrics', serve(o.metrics, o.token));
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'ROUTE_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}` }),
  );
  const url = await app.listen({ host: o.host, port: o.port });
  return { url, close: () => app.close() };
}
