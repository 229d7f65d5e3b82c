import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import cookie from '@fastify/cookie';
import type { Server as TusServer } from '@tus/server';
import { analyticsRoutes } from './analytics/analytics.routes.js';
import type { AnalyticsService } from './analytics/analytics.service.js';
import { authPlugin } from './auth/auth.plugin.js';
import { authRoutes } from './auth/auth.routes.js';
import type { AuthService } from './auth/auth.service.js';
import type { SignInPolicy } from './auth/sign-in-limits.js';
import { AppError, ERRORS } from './errors.js';
import { DB_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './db/outage.js';
import { type CommentRoutesOptions, commentRoutes } from './comments/comments.routes.js';
import { editRoutes } from './edits/edits.routes.js';
import type { EditsService } from './edits/edits.service.js';
import { healthRoutes, type ReadinessProbe } from './health/health.routes.js';
import { inputGuard } from './http/input-guard.js';
import { importRoutes } from './imports/imports.routes.js';
import type { ImportsService } from './imports/imports.service.js';
import type { Logger } from './logger.js';
import { instrumentHttp } from './metrics/instrument.js';
import type { Metrics } from './metrics/metrics.js';
import { metricsRoutes } from './metrics/metrics.routes.js';
import { projectRoutes } from './projects/projects.routes.js';
import type { ProjectsService } from './projects/projects.service.js';
import { recordingRoutes } from './recordings/recordings.routes.js';
import type { RecordingsService } from './recordings/recordings.service.js';
import { sessionRoutes } from './sessions/sessions.routes.js';
import { type ShareRoutesOptions, shareRoutes } from './shares/shares.routes.js';
import {
  type StorageMigrationRoutesOptions,
  storageMigrationRoutes,
} from './storage-migration/storage-migration.routes.js';
import type { SessionsService } from './sessions/sessions.service.js';
import { uploadRoutes } from './uploads/uploads.routes.js';
import { versionRoutes } from './versions/versions.routes.js';
import type { VersionsService } from './versions/versions.service.js';
import type { UploadsService } from './uploads/uploads.service.js';
import { securityHeaders } from './web/security-headers.js';
import { webPlugin } from './web/web.plugin.js';

export interface AppServices {
  auth: AuthService;
  projects: ProjectsService;
  recordings: RecordingsService;
  sessions: SessionsService;
  tus: TusServer;
  uploads: UploadsService;
  /** Legacy imports (/api/imports); absent in apps built without them. */
  imports?: ImportsService;
  /** The editor's history (/api/recordings/:id/edits); absent in apps built without it. */
  edits?: EditsService;
  /** Rendered versions (/api/recordings/:id/versions, /current); absent in apps built without them. */
  versions?: VersionsService;
  /** Comments (/api/recordings/:id/comments, /api/s/:token/comments); absent in apps built without them. */
  comments?: CommentRoutesOptions;
  /** The admin API of storage migrations (storage-migration/). */
  storageMigrations?: StorageMigrationRoutesOptions;
  /** Sessions analytics and the instance panel (/api/analytics/…, /api/admin/instance). */
  analytics?: AnalyticsService;
  /** Share links (/api/recordings/:id/shares, /api/s/:token, the /s/:token page); absent in apps built without. */
  shares?: Pick<ShareRoutesOptions, 'shares' | 'visits' | 'webRoot'>;
}

export interface AppDeps {
  logger: Logger;
  probe: ReadinessProbe;
  /** Without services the app serves only /health and /ready (used before the database is up). */
  services?: AppServices;
  publicUrl?: string;
  /** Failed sign-ins allowed per account and per address, and the longest lock (auth/sign-in-limits.ts). */
  signInLimits?: SignInPolicy;
  /** TRUST_PROXY: whose X-Forwarded-* to believe for req.protocol, req.host and req.ip; default none. */
  trustProxy?: boolean | string[];
  /** USE_DATABASE_STORAGE as a share of users, 0..100 (config.ts); default 100. */
  databaseStoragePercent?: number;
  /** Origins media may also come from (CDN_BASE_URL): the app's Content-Security-Policy allows them. */
  mediaOrigins?: string[];
  /** The process's metrics (metrics/): HTTP durations are measured when given. */
  metrics?: Metrics;
  /** METRICS_TOKEN: GET /metrics on this port needs it; undefined: 404 there (docs/monitoring.md). */
  metricsToken?: string;
}

/** Builds the HTTP app from its dependencies; starting and stopping belong to the caller. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    trustProxy: deps.trustProxy ?? false,
  });
  // First: its onRequest hooks run before any other hook can throw, so every answer carries the headers.
  await app.register(securityHeaders, { publicUrl: deps.publicUrl });
  if (deps.metrics) instrumentHttp(app, deps.metrics);

  // Before any route: it sees each route as it is added (id params) and checks every request's input.
  await app.register(inputGuard);
  await app.register(swagger, {
    openapi: { info: { title: 'Recorder API', version: '0.1.0' } },
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AppError) {
      return reply
        .status(err.status)
        .send({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
    }
    const e = err as {
      validation?: { instancePath: string; message?: string; params?: unknown }[];
      validationContext?: string;
      statusCode?: number;
      message: string;
    };
    if (e.validation) {
      const errors = e.validation.map((v) => {
        // A missing or unknown property is reported on its parent; name the property itself.
        const p = v.params as { missingProperty?: string; additionalProperty?: string } | undefined;
        const leaf = p?.missingProperty ?? p?.additionalProperty;
        const at = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const field = [at, leaf].filter(Boolean).join('.') || `(${e.validationContext ?? 'body'})`;
        const message = p?.additionalProperty ? 'is not a known property' : (v.message ?? 'is invalid');
        return { field, message, params: v.params };
      });
      return reply.status(400).send({
        code: 'VALIDATION_FAILED',
        message: `Invalid request: ${errors.map((x) => `${x.field} ${x.message}`).join('; ')}`,
        errors,
      });
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ code: 'BAD_REQUEST', message: e.message });
    }
    if (isDatabaseUnavailable(err)) {
      // An outage, not a bug: clients retry after Retry-After; the driver's text stays in the log.
      req.log.warn({ err: e.message }, 'database unavailable; answered 503');
      return reply
        .status(503)
        .header('Retry-After', String(DB_RETRY_AFTER_SECONDS))
        .send({ code: 'DB_UNAVAILABLE', message: ERRORS.DB_UNAVAILABLE.message });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ code: 'INTERNAL', message: ERRORS.INTERNAL.message });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'ROUTE_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}` }),
  );

  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  await app.register(healthRoutes, { probe: deps.probe });
  if (deps.services) {
    const s = deps.services;
    await app.register(cookie);
    await app.register(authPlugin, { auth: s.auth, publicOrigin: deps.publicUrl });
    await app.register(authRoutes, {
      auth: s.auth,
      signInLimits: deps.signInLimits,
      publicUrl: deps.publicUrl,
      databaseStoragePercent: deps.databaseStoragePercent ?? 100,
    });
    await app.register(projectRoutes, { projects: s.projects });
    await app.register(recordingRoutes, { recordings: s.recordings });
    await app.register(sessionRoutes, { sessions: s.sessions });
    await app.register(uploadRoutes, { tus: s.tus, uploads: s.uploads, publicOrigin: deps.publicUrl });
    if (s.imports) await app.register(importRoutes, { imports: s.imports });
    if (s.edits) await app.register(editRoutes, { edits: s.edits });
    if (s.versions) await app.register(versionRoutes, { versions: s.versions });
    if (s.comments) await app.register(commentRoutes, s.comments);
    if (s.storageMigrations) await app.register(storageMigrationRoutes, s.storageMigrations);
    if (s.analytics) await app.register(analyticsRoutes, { analytics: s.analytics });
    if (s.shares)
      await app.register(shareRoutes, { ...s.shares, publicUrl: deps.publicUrl, mediaOrigins: deps.mediaOrigins });
  }
  await app.register(metricsRoutes, { metrics: deps.metrics, token: deps.metricsToken });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The browser app: its catch-all route only gets paths no API route matches.
  await app.register(webPlugin, { mediaOrigins: deps.mediaOrigins });
  return app;
}
