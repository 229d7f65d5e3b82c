/**
 * /api/imports: a signed-in user's legacy imports (session or token), their items, and the steps the web
 * app takes around each item's tus upload: look the keys up, report what it could not import, finish.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import {
  importAnswer,
  importList,
  importParams,
  importWithItems,
  lookupAnswer,
  lookupBody,
  skipsBody,
  startBody,
} from './imports.schemas.js';
import type { ImportsService } from './imports.service.js';

export async function importRoutes(root: FastifyInstance, opts: { imports: ImportsService }) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const s = opts.imports;
  const tags = ['imports'];
  app.addHook('preHandler', requireUserHook);

  app.post(
    '/api/imports',
    { schema: { tags, summary: 'Start a legacy import', body: startBody, response: { 201: importAnswer } } },
    async (req, reply) => {
      const client = req.headers['user-agent'] ?? null;
      const started = await s.startImport(requireUser(req).user.id, { ...req.body, client });
      return reply.status(201).send({ import: started });
    },
  );
  app.get(
    '/api/imports',
    { schema: { tags, summary: 'Your imports, newest first (at most 50)', response: { 200: importList } } },
    async (req) => ({ imports: await s.list(requireUser(req).user.id) }),
  );
  app.get(
    '/api/imports/:id',
    {
      schema: {
        tags,
        summary: 'One import, with every item and what became of it',
        params: importParams,
        response: { 200: importWithItems },
      },
    },
    async (req) => s.describe(requireUser(req).user.id, req.params.id),
  );
  app.post(
    '/api/imports/:id/lookup',
    {
      schema: {
        tags,
        summary: 'Which legacy keys are on the server already (each found one counts as "already")',
        params: importParams,
        body: lookupBody,
        response: { 200: lookupAnswer },
      },
    },
    async (req) => ({ items: await s.lookup(requireUser(req).user.id, req.params.id, req.body.items) }),
  );
  app.post(
    '/api/imports/:id/skips',
    {
      schema: {
        tags,
        summary: 'Items that could not be imported, with their reasons',
        params: importParams,
        body: skipsBody,
      },
    },
    async (req, reply) => {
      await s.recordSkips(requireUser(req).user.id, req.params.id, req.body.items);
      return reply.status(204).send();
    },
  );
  app.post(
    '/api/imports/:id/finish',
    {
      schema: { tags, summary: 'Mark the import completed', params: importParams, response: { 200: importAnswer } },
    },
    async (req) => ({ import: await s.finishImport(requireUser(req).user.id, req.params.id) }),
  );
}
