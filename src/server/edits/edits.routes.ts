/**
 * /api/recordings/:id/edits: the editor's history (issue 12; docs/editor.md, docs/api.md). Reading needs
 * the right to see the recording; changing it (an edit, undo, redo) the right to edit it, and the
 * revision the change was based on as If-Match: missing → 428, stale → 409 EDIT_CONFLICT with the
 * history as it stands. Every answer carries that revision as its ETag.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import type { Edit } from '../../shared/edits.js';
import { editBody, editHistory, editsParams, editsQuery } from './edits.schemas.js';
import type { EditHistory, EditsService } from './edits.service.js';

export async function editRoutes(root: FastifyInstance, opts: { edits: EditsService }) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const s = opts.edits;
  const tags = ['edits'];
  app.addHook('preHandler', requireUserHook);

  const send = (reply: FastifyReply, status: number, history: EditHistory) =>
    reply.status(status).header('etag', `"${history.revision}"`).send(history);
  const ifMatch = { type: 'object', properties: { 'if-match': { type: 'string' } } } as const;

  app.get(
    '/api/recordings/:id/edits',
    {
      schema: {
        tags,
        summary: 'The edit history, the state it folds into and the revision (ETag)',
        params: editsParams,
        querystring: editsQuery,
        response: { 200: editHistory },
      },
    },
    async (req, reply) => send(reply, 200, await s.history(req.params.id, requireUser(req).user.id, req.query.since)),
  );
  app.post(
    '/api/recordings/:id/edits',
    {
      schema: {
        tags,
        summary: 'Make an edit (If-Match: the revision it is based on); drops the redo branch',
        params: editsParams,
        querystring: editsQuery,
        headers: ifMatch,
        body: editBody,
        response: { 201: editHistory },
      },
    },
    async (req, reply) => {
      const userId = requireUser(req).user.id;
      const edit = req.body as Edit;
      return send(reply, 201, await s.apply(req.params.id, userId, req.headers['if-match'], edit, req.query.since));
    },
  );
  app.post(
    '/api/recordings/:id/edits/undo',
    {
      schema: {
        tags,
        summary: 'Undo the last active edit (If-Match)',
        params: editsParams,
        querystring: editsQuery,
        headers: ifMatch,
        response: { 200: editHistory },
      },
    },
    async (req, reply) =>
      send(reply, 200, await s.undo(req.params.id, requireUser(req).user.id, req.headers['if-match'], req.query.since)),
  );
  app.post(
    '/api/recordings/:id/edits/redo',
    {
      schema: {
        tags,
        summary: 'Redo the first undone edit (If-Match); none after a new edit',
        params: editsParams,
        querystring: editsQuery,
        headers: ifMatch,
        response: { 200: editHistory },
      },
    },
    async (req, reply) =>
      send(reply, 200, await s.redo(req.params.id, requireUser(req).user.id, req.headers['if-match'], req.query.since)),
  );
}
