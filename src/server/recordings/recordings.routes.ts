import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import { AppError } from '../errors.js';
import { type GetResult, NotFoundError, type ObjectInfo, RangeNotSatisfiableError } from '../storage/storage.js';
import { parseRange } from './range.js';
import { MAX_THUMBNAIL_BYTES, THUMBNAIL_TYPES } from './thumbnail-upload.js';
import { listQuery, mediaQuery, recording, recordingList, recordingParams, updateBody } from './recordings.schemas.js';
import type { MediaSource, RecordingsService } from './recordings.service.js';

const unavailable = () => new AppError('MEDIA_UNAVAILABLE', 'The media object is missing from storage');

/**
 * Streams an object with Range support, so a <video> element can seek. Sizes and positions in the
 * headers come from the object get() opened, not from stat(): processing may replace the object (the
 * WebM remux) between the two, and the headers must describe the bytes actually sent.
 */
export async function stream(req: FastifyRequest, reply: FastifyReply, src: MediaSource) {
  // The URL expires: a cached redirect would outlive it, so every play asks again (and is checked again).
  if (src.redirect) return reply.header('Cache-Control', 'private, no-store').redirect(src.redirect, 302);
  let info: ObjectInfo;
  try {
    info = await src.storage.stat(src.key);
  } catch (err) {
    if (err instanceof NotFoundError) throw unavailable();
    throw err;
  }
  const range = parseRange(req.headers.range, info.size);
  reply
    .header('Accept-Ranges', 'bytes')
    .header('Cache-Control', 'private, max-age=3600')
    .header('Content-Type', src.contentType ?? info.contentType ?? 'application/octet-stream');
  const unsatisfiable = (size: number) => {
    reply.header('Content-Range', `bytes */${size}`);
    return new AppError('RANGE_NOT_SATISFIABLE');
  };
  if (range.kind === 'unsatisfiable') throw unsatisfiable(info.size);
  if (req.method === 'HEAD') return reply.header('Content-Length', info.size).send();
  let obj: GetResult;
  try {
    obj = await src.storage.get(src.key, range.kind === 'ok' ? { start: range.start, end: range.end } : undefined);
  } catch (err) {
    if (err instanceof NotFoundError) throw unavailable();
    if (err instanceof RangeNotSatisfiableError) throw unsatisfiable(err.size);
    throw err;
  }
  if (!obj.range) return reply.header('Content-Length', obj.size).send(obj.body);
  return reply
    .status(206)
    .header('Content-Range', `bytes ${obj.range.start}-${obj.range.end}/${obj.size}`)
    .header('Content-Length', obj.range.end - obj.range.start + 1)
    .send(obj.body);
}

export async function recordingRoutes(root: FastifyInstance, opts: { recordings: RecordingsService }) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const r = opts.recordings;
  const tags = ['recordings'];
  app.addHook('preHandler', requireUserHook);

  app.get(
    '/api/recordings',
    {
      schema: {
        tags,
        summary: 'Recordings you can see, newest first (keyset pagination)',
        querystring: listQuery,
        response: { 200: recordingList },
      },
    },
    async (req) => r.list(requireUser(req).user.id, req.query),
  );
  app.get(
    '/api/recordings/:id',
    {
      schema: {
        tags,
        summary: 'One recording, with processing status and progress',
        params: recordingParams,
        response: { 200: recording },
      },
    },
    async (req) => r.get(req.params.id, requireUser(req).user.id),
  );
  app.patch(
    '/api/recordings/:id',
    {
      schema: {
        tags,
        summary: 'Change title, description or project',
        params: recordingParams,
        body: updateBody,
        response: { 200: recording },
      },
    },
    async (req) => r.update(req.params.id, requireUser(req).user.id, req.body),
  );
  app.delete(
    '/api/recordings/:id',
    { schema: { tags, summary: 'Delete (its media is removed by a job right after)', params: recordingParams } },
    async (req, reply) => {
      await r.delete(req.params.id, requireUser(req).user.id);
      return reply.status(204).send();
    },
  );
  app.post(
    '/api/recordings/:id/retry',
    {
      schema: {
        tags,
        summary: 'Process a failed recording again',
        params: recordingParams,
        response: { 200: recording },
      },
    },
    async (req) => r.retry(req.params.id, requireUser(req).user.id),
  );
  // A thumbnail's bytes (PUT /thumbnail); its type is decided again from them (thumbnail-upload.ts).
  app.addContentTypeParser(
    [...THUMBNAIL_TYPES],
    { parseAs: 'buffer', bodyLimit: MAX_THUMBNAIL_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.put(
    '/api/recordings/:id/thumbnail',
    {
      schema: {
        tags,
        summary: 'Upload its thumbnail (image/jpeg, image/png or image/webp, at most 2 MB)',
        params: recordingParams,
        response: { 200: recording },
      },
      // before the body is read: a wrong type or an announced size past the limit is refused unread
      preParsing: async (req) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (!(THUMBNAIL_TYPES as readonly string[]).includes(type))
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'A thumbnail must be image/jpeg, image/png or image/webp');
        if (Number(req.headers['content-length']) > MAX_THUMBNAIL_BYTES)
          throw new AppError('PAYLOAD_TOO_LARGE', 'A thumbnail is at most 2 MB');
      },
    },
    async (req) => r.putThumbnail(req.params.id, requireUser(req).user.id, req.body as Buffer),
  );
  for (const which of ['media', 'thumbnail'] as const) {
    app.route({
      method: ['GET', 'HEAD'],
      url: `/api/recordings/:id/${which}`,
      schema: {
        tags,
        summary:
          which === 'media'
            ? 'The media (the current version unless ?version= says otherwise), with HTTP Range for seeking'
            : 'The thumbnail JPEG (the current version’s, unless ?version= says otherwise)',
        params: recordingParams,
        querystring: mediaQuery,
      },
      handler: async (req, reply) => {
        const version = (req.query as { version?: string } | undefined)?.version;
        return stream(req, reply, await r.mediaSource(req.params.id, requireUser(req).user.id, which, version));
      },
    });
  }
}
