import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import {
  createBody,
  heartbeatBody,
  interruptBody,
  listQuery,
  session,
  sessionList,
  sessionParams,
  takeBody,
} from './sessions.schemas.js';
import type { SessionsService } from './sessions.service.js';

/**
 * /api/sessions: the server side of a take (docs/api.md, "Recording sessions"). Authentication (cookie
 * or Bearer) and the cross-site Origin check come from the auth plugin; every call is the user's own.
 */
export async function sessionRoutes(root: FastifyInstance, opts: { sessions: SessionsService }) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const s = opts.sessions;
  const tags = ['sessions'];
  app.addHook('preHandler', requireUserHook);

  app.post(
    '/api/sessions',
    {
      schema: {
        tags,
        summary: 'Start a take: an active recording session',
        body: createBody,
        response: { 201: session },
      },
    },
    async (req, reply) => reply.status(201).send(await s.create(requireUser(req).user.id, req.body)),
  );
  app.get(
    '/api/sessions',
    {
      schema: {
        tags,
        summary: 'Your sessions, newest first; state=unfinished lists the takes to offer for recovery',
        querystring: listQuery,
        response: { 200: sessionList },
      },
    },
    async (req) => s.list(requireUser(req).user.id, req.query),
  );
  app.get(
    '/api/sessions/:id',
    {
      schema: {
        tags,
        summary: 'One session, with its latest upload',
        params: sessionParams,
        response: { 200: session },
      },
    },
    async (req) => s.get(req.params.id, requireUser(req).user.id),
  );
  app.post(
    '/api/sessions/:id/heartbeat',
    {
      schema: {
        tags,
        summary: 'The take is still being recorded (re-activates an interrupted one)',
        params: sessionParams,
        body: heartbeatBody,
        response: { 200: session },
      },
    },
    async (req) => s.heartbeat(req.params.id, requireUser(req).user.id, req.body),
  );
  app.post(
    '/api/sessions/:id/interrupt',
    {
      schema: {
        tags,
        summary: 'The take stopped before it was kept; reason becomes errorMessage',
        params: sessionParams,
        body: interruptBody,
        response: { 200: session },
      },
    },
    async (req) => s.interrupt(req.params.id, requireUser(req).user.id, req.body?.reason),
  );
  app.patch(
    '/api/sessions/:id',
    {
      schema: {
        tags,
        summary: 'Details of the take to keep (used when its upload finishes)',
        params: sessionParams,
        body: takeBody,
        response: { 200: session },
      },
    },
    async (req) => s.setTake(req.params.id, requireUser(req).user.id, req.body),
  );
  app.post(
    '/api/sessions/:id/discard',
    {
      schema: {
        tags,
        summary: 'Throw the take away: no recording, never offered for recovery',
        params: sessionParams,
        response: { 200: session },
      },
    },
    async (req) => s.discard(req.params.id, requireUser(req).user.id),
  );
}
