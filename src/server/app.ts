import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { AppError, ERRORS } from './errors.js';
import { healthRoutes, type ReadinessProbe } from './health/health.routes.js';
import type { Logger } from './logger.js';

export interface AppDeps {
  logger: Logger;
  probe: ReadinessProbe;
}

/** Builds the HTTP app from its dependencies; starting and stopping belong to the caller. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, disableRequestLogging: false, ajv: { customOptions: { allErrors: true } } });

  await app.register(swagger, {
    openapi: { info: { title: 'Recorder API', version: '0.1.0' } },
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AppError) {
      return reply.status(err.status).send({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
    }
    const e = err as { validation?: { instancePath: string; message?: string; params?: unknown }[]; statusCode?: number; message: string };
    if (e.validation) {
      const errors = e.validation.map((v) => ({ field: v.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(body)', message: v.message ?? 'is invalid', params: v.params }));
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: `Invalid request: ${errors.map((x) => `${x.field} ${x.message}`).join('; ')}`, errors });
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ code: 'BAD_REQUEST', message: e.message });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ code: 'INTERNAL', message: ERRORS.INTERNAL.message });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'ROUTE_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}` }),
  );

  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  await app.register(healthRoutes, { probe: deps.probe });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
