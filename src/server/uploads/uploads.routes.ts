/**
 * /api/uploads speaks tus 1.0 (creation, creation-with-upload, creation-defer-length, termination)
 * through @tus/server; any tus client works. Bytes stream to DATA_DIR/uploads (constant memory).
 * Fastify authenticates first; the tus hooks then bind every upload to its user.
 */
import type { FastifyInstance } from 'fastify';
import { Server, type Upload } from '@tus/server';
import path from 'node:path';
import { requireUser } from '../auth/auth.plugin.js';
import { AppError } from '../errors.js';
import { UPLOAD_EXPIRY_MS } from '../jobs/housekeeping.js';
import type { Logger } from '../logger.js';
import { SniffingFileStore, UnsupportedMediaError } from './sniffing-store.js';
import type { UploadsService } from './uploads.service.js';

/** Set by us on the raw request after authentication; any client-sent value is removed first. */
const USER_HEADER = 'x-recorder-authenticated-user';

const TUS_CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  403: 'FORBIDDEN',
  404: 'UPLOAD_NOT_FOUND',
  409: 'UPLOAD_OFFSET_CONFLICT',
  410: 'UPLOAD_GONE',
  412: 'TUS_VERSION_UNSUPPORTED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  460: 'UPLOAD_CHECKSUM_MISMATCH',
};

/** Our errors as tus hook errors: the status and a JSON body with a code, like every other route. */
function tusError(err: unknown): { status_code: number; body: string } {
  if (err instanceof AppError) {
    return {
      status_code: err.status,
      body: JSON.stringify({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }),
    };
  }
  if (err instanceof UnsupportedMediaError)
    return { status_code: 415, body: JSON.stringify({ code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message }) };
  throw err;
}

/**
 * A finish that can never succeed (the bytes are not media we can use): retrying cannot help, the client
 * cannot send other bytes to a complete upload, so it is over. Anything else (database, storage) may be
 * transient and leaves the upload `uploading`, complete on disk, for the next HEAD on it, the hourly
 * housekeeping or the next start (recoverFinished) to retry. An unmeasurable duration is not permanent:
 * finish keeps such a take (it may be the only copy) and processing measures it.
 */
const PERMANENT_FINISH_ERRORS = new Set(['UNSUPPORTED_MEDIA_TYPE', 'VALIDATION_FAILED', 'SESSION_DISCARDED']);
const isPermanent = (err: unknown) => err instanceof AppError && PERMANENT_FINISH_ERRORS.has(err.code);

/** What createTusServer adds to its Server for the Fastify handler below (finishing on a HEAD). */
const settlers = new WeakMap<Server, (id: string, userId: string) => Promise<string | undefined>>();
const removers = new WeakMap<Server, (id: string) => Promise<void>>();

export interface UploadRoutesOptions {
  uploads: UploadsService;
  dataDir: string;
  maxUploadBytes: number;
  logger: Logger;
}

export function createTusServer(opts: UploadRoutesOptions) {
  const directory = path.join(opts.dataDir, 'uploads');
  const datastore = new SniffingFileStore({ directory, expirationPeriodInMilliseconds: UPLOAD_EXPIRY_MS });
  // Upload ids are ours (hex from @tus/server, checked by it against path separators).
  const fileOf = (id: string) => path.join(directory, id);
  const userOf = (req: Request) => {
    const user = req.headers.get(USER_HEADER);
    if (!user) throw tusError(new AppError('UNAUTHENTICATED'));
    return user;
  };
  const tus = new Server({
    path: '/api/uploads',
    datastore,
    maxSize: opts.maxUploadBytes,
    relativeLocation: true,
    async onIncomingRequest(req, uploadId) {
      const user = userOf(req);
      if (req.method !== 'POST' && req.method !== 'OPTIONS' && uploadId && !(await opts.uploads.owns(uploadId, user))) {
        throw tusError(new AppError('UPLOAD_NOT_FOUND')); // another user's upload: never reveal it exists
      }
      // Bytes arriving for a take say its tab is alive, even when a heartbeat is late.
      if (req.method === 'PATCH' && uploadId) {
        await opts.uploads
          .signOfLife(uploadId)
          .catch((err: Error) =>
            opts.logger.warn({ uploadId, err: err.message }, 'could not note an upload as a sign of life'),
          );
      }
    },
    async onUploadCreate(req, upload) {
      try {
        await opts.uploads.create(upload.id, userOf(req), upload.metadata ?? {}, upload.size);
      } catch (err) {
        throw tusError(err);
      }
      return {};
    },
    async onUploadFinish(_req, upload: Upload) {
      try {
        const { recordingId } = await opts.uploads.finish(upload.id, fileOf(upload.id), upload.offset);
        await datastore.remove(upload.id).catch(() => undefined);
        return { headers: { 'Recording-Id': recordingId } };
      } catch (err) {
        opts.logger.warn({ uploadId: upload.id, err: (err as Error).message }, 'upload could not be finished');
        if (isPermanent(err))
          await giveUp(upload.id).catch((e: Error) =>
            opts.logger.warn({ uploadId: upload.id, err: e.message }, 'could not mark the upload failed'),
          );
        throw tusError(err);
      }
    },
    async onResponseError(_req, err) {
      // Our errors thrown below a hook (the sniffing store's 415, from inside the write stream) reach
      // here as they are, not as hook errors: give them their status and JSON body too.
      if (err instanceof AppError || err instanceof UnsupportedMediaError) return tusError(err);
      const e = err as { status_code?: number; body?: string };
      if (e.status_code && e.body && !e.body.startsWith('{')) {
        return {
          status_code: e.status_code,
          body: JSON.stringify({ code: TUS_CODES[e.status_code] ?? 'UPLOAD_ERROR', message: e.body.trim() }),
        };
      }
      return undefined;
    },
  });
  // An event listener: nothing awaits it, so a failure is logged here (unhandled, it would end the process).
  tus.on('POST_TERMINATE', (_req, _res, id) => {
    opts.uploads
      .markTerminated(id)
      .catch((err: Error) =>
        opts.logger.warn({ uploadId: id, err: err.message }, 'could not mark the upload terminated'),
      );
  });

  /** The upload can never become a recording: mark it failed and drop its bytes. */
  async function giveUp(id: string) {
    await opts.uploads.markFailed(id);
    await datastore.remove(id).catch(() => undefined);
  }

  /**
   * Finishes uploads whose bytes all arrived but whose finish a crash or a transient failure
   * interrupted (at start, and hourly from housekeeping). One upload that cannot be finished must not
   * stop the others: it is marked failed (permanent) or left for the next run (anything else).
   */
  async function recoverFinished(): Promise<number> {
    let n = 0;
    for (const id of await opts.uploads.unfinished()) {
      const up = await datastore.getUpload(id).catch(() => undefined);
      if (!up || up.size === undefined || up.offset !== up.size) continue;
      try {
        await opts.uploads.finish(id, fileOf(id), up.offset);
      } catch (err) {
        opts.logger.warn(
          { uploadId: id, err: (err as Error).message },
          'a complete upload could not be finished at start',
        );
        if (isPermanent(err)) await giveUp(id);
        continue;
      }
      await datastore.remove(id).catch(() => undefined);
      n++;
    }
    return n;
  }

  /** What the sessions API reads of the store: bytes an unfinished upload holds (absent: undefined). */
  const files = {
    offset: async (id: string) => (await datastore.getUpload(id).catch(() => undefined))?.offset,
    remove: (id: string) => datastore.remove(id),
  };

  /**
   * A HEAD on an upload whose bytes all arrived but whose finish failed (storage or database briefly
   * down): finish it now, so the client resuming it gets its Recording-Id instead of waiting for the
   * next start. undefined: nothing to finish, or it failed again (the HEAD answers as usual).
   */
  settlers.set(tus, async (id, userId) => {
    const up = await datastore.getUpload(id).catch(() => undefined);
    if (!up || up.size === undefined || up.offset !== up.size) return undefined;
    if (!(await opts.uploads.owns(id, userId))) return undefined;
    try {
      return (await opts.uploads.finish(id, fileOf(id), up.offset)).recordingId;
    } catch (err) {
      opts.logger.warn(
        { uploadId: id, err: (err as Error).message },
        'a complete upload could not be finished on resume',
      );
      if (isPermanent(err)) await giveUp(id).catch(() => undefined);
      return undefined;
    }
  });
  removers.set(tus, (id) => datastore.remove(id).catch(() => undefined));

  return { tus, datastore, recoverFinished, files };
}

const uploadIdOf = (url: string) => /^\/api\/uploads\/([^/?#]+)/.exec(url)?.[1];

/**
 * @tus/server stores a PATCH's Upload-Length before it writes the body: a final PATCH cut off mid-body
 * leaves the length declared, and the client's retry (tus-js-client sends Upload-Length again) would get
 * 400 forever. The same length again changes nothing, so it is dropped (from rawHeaders, which
 * @tus/server reads); a different one still gets the 400.
 */
async function dropRepeatedLength(tus: Server, id: string, raw: import('node:http').IncomingMessage) {
  const up = await tus.datastore.getUpload(id).catch(() => undefined);
  if (up?.size === undefined || String(up.size) !== String(raw.headers['upload-length']).trim()) return;
  const h = raw.rawHeaders;
  for (let i = h.length - 2; i >= 0; i -= 2) if (h[i]!.toLowerCase() === 'upload-length') h.splice(i, 2);
  delete raw.headers['upload-length'];
}

export async function uploadRoutes(app: FastifyInstance, opts: { tus: Server }) {
  // tus bodies are raw bytes: leave the stream unread for @tus/server.
  app.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null));
  const handler = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    // @tus/server builds its Request from rawHeaders: strip any client-sent copy there, then add ours.
    const raw = req.raw.rawHeaders;
    for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === USER_HEADER) raw.splice(i, 2);
    delete req.raw.headers[USER_HEADER];
    if (req.method !== 'OPTIONS') {
      const userId = requireUser(req).user.id;
      raw.push(USER_HEADER, userId);
      req.raw.headers[USER_HEADER] = userId;
    }
    const id = uploadIdOf(req.url);
    if (id && req.method === 'PATCH' && req.headers['upload-length'] !== undefined)
      await dropRepeatedLength(opts.tus, id, req.raw);
    // The finish happens before the HEAD is answered (its Recording-Id with it); the bytes go after.
    const recordingId =
      id && req.method === 'HEAD' ? await settlers.get(opts.tus)?.(id, requireUser(req).user.id) : undefined;
    if (recordingId) reply.raw.setHeader('Recording-Id', recordingId);
    reply.hijack();
    await opts.tus.handle(req.raw, reply.raw);
    if (recordingId) await removers.get(opts.tus)?.(id!);
  };
  app.all('/api/uploads', { schema: { hide: true } }, handler);
  app.all('/api/uploads/*', { schema: { hide: true } }, handler);
}
