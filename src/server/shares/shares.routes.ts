/**
 * Share links over HTTP (issue 13; docs/api.md "Share links"):
 *  - /api/recordings/:id/shares…  signed in, share.manage on the recording;
 *  - /api/s/:token…               public: no sign-in, never a cookie set, nothing beyond the link's recording;
 *  - /s/:token                    the HTML page (registered here, so the app's catch-all does not take it).
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import { withRetryAfter } from '../http/retry-after.js';
import { stream } from '../recordings/recordings.routes.js';
import { defaultOutDir } from '../web/build.js';
import { contentSecurityPolicy, htmlHeaders } from '../web/web.plugin.js';
import { gonePage, injectPreview, MISSING_PAGE, previewTags } from './share-page.js';
import type { ShareVisitsService } from './share-visits.service.js';
import {
  accessQuery,
  createdShare,
  createShareBody,
  recordingParams,
  shareList,
  shareParams,
  sharedRecording,
  tokenParams,
  unlockBody,
  unlocked,
  updateShareBody,
  share,
} from './shares.schemas.js';
import type { SharesService } from './shares.service.js';

export interface ShareRoutesOptions {
  shares: SharesService;
  visits: ShareVisitsService;
  /** PUBLIC_URL: the origin of the links handed out; else the request's own. */
  publicUrl?: string;
  /** The built app (index.html), default dist/web; and CDN origins for the page's CSP. */
  webRoot?: string;
  mediaOrigins?: string[];
}

const tags = ['shares'];

function originOf(req: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).origin : `${req.protocol}://${req.host}`;
}

/** The grant of a password link: X-Share-Access on API calls, ?access= where a <video> cannot send headers. */
function accessOf(req: FastifyRequest): string | undefined {
  const header = req.headers['x-share-access'];
  if (typeof header === 'string' && header) return header;
  return (req.query as { access?: string } | undefined)?.access || undefined;
}

async function managementRoutes(root: FastifyInstance, opts: ShareRoutesOptions) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const shares = opts.shares;
  app.addHook('preHandler', requireUserHook);
  app.post(
    '/api/recordings/:id/shares',
    {
      schema: {
        tags,
        summary: 'Make a share link (its token is shown only in this answer)',
        params: recordingParams,
        body: createShareBody,
        response: { 201: createdShare },
      },
    },
    async (req, reply) => {
      const made = await shares.create(req.params.id, requireUser(req).user.id, req.body);
      const url = `${originOf(req, opts.publicUrl)}/s/${made.token}`;
      return reply.status(201).send({ share: made.share, url, token: made.token });
    },
  );
  app.get(
    '/api/recordings/:id/shares',
    {
      schema: {
        tags,
        summary: 'The links of a recording, newest first (revoked and expired ones too)',
        params: recordingParams,
        response: { 200: shareList },
      },
    },
    async (req) => shares.list(req.params.id, requireUser(req).user.id),
  );
  app.patch(
    '/api/recordings/:id/shares/:shareId',
    {
      schema: {
        tags,
        summary: 'Change a link: permissions, password (null clears), expiry (null clears), label',
        params: shareParams,
        body: updateShareBody,
        response: { 200: share },
      },
    },
    async (req) => shares.update(req.params.id, req.params.shareId, requireUser(req).user.id, req.body),
  );
  app.delete(
    '/api/recordings/:id/shares/:shareId',
    { schema: { tags, summary: 'Revoke a link (it stays listed, with its views)', params: shareParams } },
    async (req, reply) => {
      await shares.revoke(req.params.id, req.params.shareId, requireUser(req).user.id);
      return reply.status(204).send();
    },
  );
}

async function publicRoutes(root: FastifyInstance, opts: ShareRoutesOptions) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const { shares, visits } = opts;
  app.get(
    '/api/s/:token',
    {
      schema: {
        tags,
        summary: "A link's recording, as its visitor sees it (counts a view); X-Share-Access for a password link",
        params: tokenParams,
        response: { 200: sharedRecording },
      },
    },
    async (req) => visits.view(req.params.token, accessOf(req), req.method === 'GET'),
  );
  app.post(
    '/api/s/:token/unlock',
    {
      schema: {
        tags,
        summary: "A password link's grant (12 hours): send it as X-Share-Access, or ?access= on media URLs",
        params: tokenParams,
        body: unlockBody,
        response: { 200: unlocked },
      },
    },
    async (req, reply) => withRetryAfter(reply, () => shares.unlock(req.params.token, req.body.password, req.ip)),
  );
  for (const which of ['media', 'thumbnail'] as const) {
    app.route({
      method: ['GET', 'HEAD'],
      url: `/api/s/:token/${which}`,
      schema: {
        tags,
        summary: which === 'media' ? 'The current version, with HTTP Range for seeking' : 'The thumbnail',
        params: tokenParams,
        querystring: accessQuery,
      },
      handler: async (req, reply) => {
        const { token } = req.params as { token: string };
        return stream(req, reply, await visits.mediaSource(token, accessOf(req), which));
      },
    });
  }
  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/s/:token/download',
    schema: {
      tags,
      summary: "The media as a file (the link needs 'download')",
      params: tokenParams,
      querystring: accessQuery,
    },
    handler: async (req, reply) => {
      const { token } = req.params as { token: string };
      const { source, filename } = await visits.download(token, accessOf(req));
      reply.header(
        'content-disposition',
        `attachment; filename="${filename.ascii}"; filename*=UTF-8''${encodeURIComponent(filename.utf8)}`,
      );
      // streamed through here even where media redirect (CDN, S3 presign): a redirect would lose the attachment name
      return stream(req, reply, { ...source, redirect: undefined });
    },
  });
}

async function pageRoute(app: FastifyInstance, opts: ShareRoutesOptions) {
  const root = opts.webRoot ?? defaultOutDir();
  const csp = contentSecurityPolicy(opts.mediaOrigins);
  app.get('/s/:token', { schema: { hide: true, params: tokenParams } }, async (req, reply) => {
    const { token } = req.params as { token: string };
    const page = await opts.visits.page(token);
    htmlHeaders(reply, csp);
    // never cached: a revoked link must show its 410 at the next load
    reply
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .type('text/html; charset=utf-8');
    if (page.kind === 'missing') return reply.status(404).send(MISSING_PAGE);
    if (page.kind === 'gone') return reply.status(410).send(gonePage(page));
    const index = await fsp.readFile(path.join(root, 'index.html'), 'utf8').catch(() => '');
    return reply.send(injectPreview(index, previewTags(page, originOf(req, opts.publicUrl), token)));
  });
}

export async function shareRoutes(app: FastifyInstance, opts: ShareRoutesOptions) {
  await app.register(managementRoutes, opts);
  await app.register(publicRoutes, opts);
  await app.register(pageRoute, opts);
}
