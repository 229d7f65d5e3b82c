/**
 * The comments API (issue 13; docs/api.md "Comments"). Members: /api/recordings/:id/comments (signed in;
 * access.ts decides). Link visitors: /api/s/:token/comments (no sign-in, never a cookie; X-Share-Access
 * for a password link, X-Guest-Key for their own comments). Live updates are polled:
 * GET …/comments/changes?since=<revision>.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireUser } from '../auth/auth.plugin.js';
import { withRetryAfter } from '../http/retry-after.js';
import type { GuestComments, GuestHeaders } from './comments-guests.js';
import {
  changesQuery,
  commentAnswer,
  commentChanges,
  commentPage,
  createBody,
  editBody,
  guestCommentAnswer,
  guestCommentParams,
  guestCreateBody,
  guestHeaders,
  guestParams,
  memberCommentParams,
  memberParams,
  pageQuery,
} from './comments.schemas.js';
import type { CommentsService } from './comments.service.js';

export interface CommentRoutesOptions {
  comments: CommentsService;
  /** Comments through share links; absent in apps built without shares. */
  guests?: GuestComments;
}

const tags = ['comments'];

/** The member behind a request (401 without sign-in, 404 RECORDING_NOT_FOUND for a stranger). */
const memberOf = (s: CommentsService, req: FastifyRequest, recordingId: string) =>
  s.member(recordingId, requireUser(req).user.id);

export async function commentRoutes(root: FastifyInstance, opts: CommentRoutesOptions) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const s = opts.comments;
  const base = '/api/recordings/:id/comments';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "A page of the recording's comments and replies, in id order",
        params: memberParams,
        querystring: pageQuery,
        response: { 200: commentPage },
      },
    },
    async (req) => {
      const viewer = await memberOf(s, req, req.params.id);
      return s.page(req.params.id, viewer, req.query.after, req.query.limit ?? 100);
    },
  );
  app.get(
    `${base}/changes`,
    {
      schema: {
        tags,
        summary: 'What changed after a revision (the polling cursor of live updates)',
        params: memberParams,
        querystring: changesQuery,
        response: { 200: commentChanges },
      },
    },
    async (req) => s.changes(req.params.id, await memberOf(s, req, req.params.id), req.query.since),
  );
  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Comment (at a time, or on the whole recording) or reply',
        params: memberParams,
        body: createBody,
        response: { 201: commentAnswer },
      },
    },
    async (req, reply) => {
      const viewer = await memberOf(s, req, req.params.id);
      return reply.status(201).send({ comment: await s.create(req.params.id, viewer, req.body, null) });
    },
  );
  app.patch(
    `${base}/:commentId`,
    {
      schema: {
        tags,
        summary: 'Change the text of your comment',
        params: memberCommentParams,
        body: editBody,
        response: { 200: commentAnswer },
      },
    },
    async (req) => {
      const viewer = await memberOf(s, req, req.params.id);
      return { comment: await s.edit(req.params.id, viewer, req.params.commentId, req.body.body) };
    },
  );
  app.delete(
    `${base}/:commentId`,
    {
      schema: {
        tags,
        summary: 'Delete a comment (yours; or any, for those who may change the recording)',
        params: memberCommentParams,
      },
    },
    async (req, reply) => {
      await s.remove(req.params.id, await memberOf(s, req, req.params.id), req.params.commentId);
      return reply.status(204).send();
    },
  );
  for (const [verb, resolved] of [
    ['resolve', true],
    ['reopen', false],
  ] as const) {
    app.post(
      `${base}/:commentId/${verb}`,
      {
        schema: {
          tags,
          summary: `${resolved ? 'Resolve' : 'Reopen'} a thread (owners and editors)`,
          params: memberCommentParams,
          response: { 200: commentAnswer },
        },
      },
      async (req) => {
        const viewer = await memberOf(s, req, req.params.id);
        return { comment: await s.setResolved(req.params.id, viewer, req.params.commentId, resolved) };
      },
    );
  }
  if (opts.guests) await guestRoutes(root, opts.guests);
}

const headersOf = (req: FastifyRequest): GuestHeaders => {
  const h = req.headers as { 'x-share-access'?: string; 'x-guest-key'?: string };
  return { access: h['x-share-access'], guestKey: h['x-guest-key'] };
};

async function guestRoutes(root: FastifyInstance, g: GuestComments) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const base = '/api/s/:token/comments';
  const headers = guestHeaders;

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "A page of the link's recording's comments (links with 'comment')",
        params: guestParams,
        headers,
        querystring: pageQuery,
        response: { 200: commentPage },
      },
    },
    async (req) => g.page(req.params.token, headersOf(req), req.query.after, req.query.limit ?? 100),
  );
  app.get(
    `${base}/changes`,
    {
      schema: {
        tags,
        summary: 'What changed after a revision (polling)',
        params: guestParams,
        headers,
        querystring: changesQuery,
        response: { 200: commentChanges },
      },
    },
    async (req) => g.changes(req.params.token, headersOf(req), req.query.since),
  );
  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Comment as a guest; the answer holds the key to edit or delete it',
        params: guestParams,
        headers,
        body: guestCreateBody,
        response: { 201: guestCommentAnswer },
      },
    },
    async (req, reply) => {
      const answer = await withRetryAfter(reply, () => g.create(req.params.token, headersOf(req), req.ip, req.body));
      return reply.status(201).send(answer);
    },
  );
  app.patch(
    `${base}/:commentId`,
    {
      schema: {
        tags,
        summary: 'Change the text of your comment (X-Guest-Key)',
        params: guestCommentParams,
        headers,
        body: editBody,
        response: { 200: commentAnswer },
      },
    },
    async (req) => ({
      comment: await g.edit(req.params.token, headersOf(req), req.params.commentId, req.body.body),
    }),
  );
  app.delete(
    `${base}/:commentId`,
    {
      schema: { tags, summary: 'Delete your comment (X-Guest-Key)', params: guestCommentParams, headers },
    },
    async (req, reply) => {
      await g.remove(req.params.token, headersOf(req), req.params.commentId);
      return reply.status(204).send();
    },
  );
}
