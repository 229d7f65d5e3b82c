/**
 * The sessions analytics API and the instance panel (issue 14): thin; the service decides who sees what
 * (access.ts) and answers. Signed-in users only (the auth hook answers 401 before).
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireUser } from '../auth/auth.plugin.js';
import {
  instance,
  sessionDetail,
  sessionPage,
  sessionParams,
  sessionsQuery,
  summary,
  summaryQuery,
} from './analytics.schemas.js';
import type { AnalyticsService } from './analytics.service.js';

export interface AnalyticsRoutesOptions {
  analytics: AnalyticsService;
}

const viewerOf = (req: FastifyRequest) => {
  const { user } = requireUser(req);
  return { id: user.id, email: user.email };
};

export async function analyticsRoutes(root: FastifyInstance, opts: AnalyticsRoutesOptions) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const a = opts.analytics;
  const tags = ['analytics'];
  app.get(
    '/api/analytics/sessions/summary',
    {
      schema: {
        tags,
        summary: 'Recording sessions over a date range: totals, by day, by type, errors, devices, settings',
        querystring: summaryQuery,
        response: { 200: summary },
      },
    },
    async (req) => a.summary(viewerOf(req), req.query),
  );
  app.get(
    '/api/analytics/sessions',
    {
      schema: {
        tags,
        summary: 'The sessions behind the summary, newest first, a page at a time',
        querystring: sessionsQuery,
        response: { 200: sessionPage },
      },
    },
    async (req) => a.sessions(viewerOf(req), req.query),
  );
  app.get(
    '/api/analytics/sessions/:id',
    {
      schema: {
        tags,
        summary: 'One session: device, settings, error and its timeline of events',
        params: sessionParams,
        response: { 200: sessionDetail },
      },
    },
    async (req) => a.session(viewerOf(req), req.params.id),
  );
  app.get(
    '/api/admin/instance',
    {
      schema: {
        tags: ['admin'],
        summary: 'The instance: storage per provider, processing failures, job queues (administrator only)',
        response: { 200: instance },
      },
    },
    async (req) => a.instance(viewerOf(req)),
  );
}
