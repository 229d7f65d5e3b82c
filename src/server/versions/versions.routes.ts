/**
 * /api/recordings/:id/versions and /current (issue 12; docs/editor.md "Versions", docs/api.md). Listing
 * needs the right to see the recording; rendering, deleting a version and choosing the current one the
 * right to render versions (owners and project editors). A render answers 202 at once: poll the version.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import { revisionFromIfMatch } from '../edits/edits.service.js';
import { currentBody, version, versionList, versionParams, versionsParams } from './versions.schemas.js';
import type { VersionsService } from './versions.service.js';

export async function versionRoutes(root: FastifyInstance, opts: { versions: VersionsService }) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const s = opts.versions;
  const tags = ['versions'];
  app.addHook('preHandler', requireUserHook);
  const ifMatch = { type: 'object', properties: { 'if-match': { type: 'string' } } } as const;

  app.get(
    '/api/recordings/:id/versions',
    {
      schema: {
        tags,
        summary: 'The rendered versions, newest first, and which one plays',
        params: versionsParams,
        response: { 200: versionList },
      },
    },
    async (req) => s.list(req.params.id, requireUser(req).user.id),
  );
  app.post(
    '/api/recordings/:id/versions',
    {
      schema: {
        tags,
        summary: 'Render the active edits into a new version (If-Match, optional: the edit revision you saw)',
        params: versionsParams,
        headers: ifMatch,
        response: { 202: version },
      },
    },
    async (req, reply) => {
      const header = req.headers['if-match'];
      const revision = header === undefined ? undefined : revisionFromIfMatch(header);
      return reply.status(202).send(await s.create(req.params.id, requireUser(req).user.id, revision));
    },
  );
  app.get(
    '/api/recordings/:id/versions/:vid',
    {
      schema: {
        tags,
        summary: 'One version, with its render progress',
        params: versionParams,
        response: { 200: version },
      },
    },
    async (req) => s.get(req.params.id, req.params.vid, requireUser(req).user.id),
  );
  app.delete(
    '/api/recordings/:id/versions/:vid',
    {
      schema: {
        tags,
        summary: 'Delete a version (its media is removed by a job); if it played, the original plays again',
        params: versionParams,
      },
    },
    async (req, reply) => {
      await s.delete(req.params.id, req.params.vid, requireUser(req).user.id);
      return reply.status(204).send();
    },
  );
  app.put(
    '/api/recordings/:id/current',
    {
      schema: {
        tags,
        summary: 'Choose what plays: a ready version, or the original (versionId null)',
        params: versionsParams,
        body: currentBody,
        response: { 200: versionList },
      },
    },
    async (req) => s.setCurrent(req.params.id, req.body.versionId ?? null, requireUser(req).user.id),
  );
}
