/**
 * /api/uploads speaks tus 1.0 (creation, creation-with-upload, creation-defer-length, termination,
 * expiration) through @tus/server; any tus client works. Bytes stream into the recording's storage as
 * they arrive (upload-store.ts); every upload's state is in PostgreSQL, so any app server can take any
 * request. Fastify authenticates first; the tus hooks then bind every upload to its user.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server, type Upload } from '@tus/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { requireUser } from '../auth/auth.plugin.js';
import { DB_RETRY_AFTER_SECONDS, databaseUnavailable, isDatabaseUnavailable } from '../db/outage.js';
import { AppError } from '../errors.js';
import { bodyOf, finishTusResponse, tusJsonError } from '../http/tus-errors.js';
import type { Logger } from '../logger.js';
import { instrumentUploadWrites } from '../metrics/instrument.js';
import type { Metrics } from '../metrics/metrics.js';
import { UploadLeaseLocker } from './upload-lease.js';
import type { Sinks } from './upload-sink.js';
import { RecordingUploadStore } from './upload-store.js';
import { isPermanent, type UploadsService } from './uploads.service.js';

/** Set by us on the raw request after authentication; any client-sent value is removed first. */
const USER_HEADER = 'x-recorder-authenticated-user';
/** Seconds a client should wait before retrying when storage is unreachable. */
const STORAGE_RETRY_AFTER = '5';

/** Our errors as tus hook errors: the status and a JSON body with a code, like every other route. */
function tusError(err: unknown): { status_code: number; body: string } {
  if (err instanceof AppError) {
    const details = err.details ? { details: err.details } : {};
    return { status_code: err.status, body: JSON.stringify({ code: err.code, message: err.message, ...details }) };
  }
  throw err;
}

/** The Node response behind a tus request (srvx's NodeRequest keeps it). */
const nodeOf = (req: Request) =>
  (req as { runtime?: { node?: { req: IncomingMessage; res: ServerResponse } } }).runtime?.node;

export interface UploadRoutesOptions {
  uploads: UploadsService;
  sinks: Sinks;
  maxUploadBytes: number;
  logger: Logger;
  /** Counts bytes stored and requests carrying them (metrics/). */
  metrics?: Metrics;
}

export function createTusServer(opts: UploadRoutesOptions) {
  const { uploads, logger } = opts;
  const locker = new UploadLeaseLocker(uploads.repo, logger);
  const requestSizes = new Map<string, number>();
  const datastore = new RecordingUploadStore(uploads.repo, locker, opts.sinks, requestSizes, logger);
  if (opts.metrics) instrumentUploadWrites(datastore, opts.metrics);
  const userOf = (req: Request) => {
    const user = req.headers.get(USER_HEADER);
    if (!user) throw tusError(new AppError('UNAUTHENTICATED'));
    return user;
  };
  /** The request's Content-Length, for the store to stream whole parts (forgotten when it ends). */
  const noteRequestSize = (req: Request, uploadId: string) => {
    const length = Number(req.headers.get('content-length'));
    const node = nodeOf(req);
    if (!Number.isSafeInteger(length) || length <= 0 || !node) return;
    requestSizes.set(uploadId, length);
    node.res.once('close', () => requestSizes.delete(uploadId));
  };
  const tus = new Server({
    path: '/api/uploads',
    datastore,
    locker,
    maxSize: opts.maxUploadBytes,
    relativeLocation: true,
    // tus itself never answers CORS (it would say `*`); the route allows our own origin only.
    allowedOrigins: [],
    async onIncomingRequest(req, uploadId) {
      const user = userOf(req);
      if (req.method !== 'POST' && req.method !== 'OPTIONS' && uploadId && !(await uploads.owns(uploadId, user))) {
        throw tusError(new AppError('UPLOAD_NOT_FOUND')); // another user's upload: never reveal it exists
      }
      if (req.method === 'PATCH' || req.method === 'POST') noteRequestSize(req, uploadId);
      // Bytes arriving for a take say its tab is alive, even when a heartbeat is late.
      if (req.method === 'PATCH' && uploadId) {
        await uploads.signOfLife(uploadId).catch((err: Error) => {
          logger.warn({ uploadId, err: err.message }, 'could not note an upload as a sign of life');
        });
      }
    },
    async onUploadCreate(req, upload) {
      try {
        await uploads.create(upload.id, userOf(req), upload.metadata ?? {}, upload.size);
      } catch (err) {
        throw tusError(err);
      }
      return {};
    },
    async onUploadFinish(_req, upload: Upload) {
      try {
        const { recordingId, importOutcome } = await uploads.finish(upload.id);
        // a legacy item says whether it made the recording or found it there (none: deleted since)
        const headers: Record<string, string> = importOutcome ? { 'Import-Outcome': importOutcome } : {};
        if (recordingId) headers['Recording-Id'] = recordingId;
        return { headers };
      } catch (err) {
        logger.warn({ uploadId: upload.id, err: (err as Error).message }, 'upload could not be finished');
        if (isPermanent(err)) await uploads.giveUp(upload.id).catch(() => undefined);
        throw tusError(err instanceof AppError ? err : new AppError('STORAGE_UNAVAILABLE'));
      }
    },
    async onResponseError(req, err) {
      // The database away: 503 DB_UNAVAILABLE with Retry-After (tus clients retry), never the driver's text.
      if (isDatabaseUnavailable(err)) {
        nodeOf(req)?.res.setHeader('Retry-After', String(DB_RETRY_AFTER_SECONDS));
        return tusError(databaseUnavailable());
      }
      if (err instanceof AppError) {
        if (err.status === 503) nodeOf(req)?.res.setHeader('Retry-After', STORAGE_RETRY_AFTER);
        return tusError(err);
      }
      const e = err as { status_code?: number; body?: string };
      if (e.body?.startsWith('{')) return undefined; // ours already (upload-store.ts tusBody)
      // Not a tus protocol error: a failure nobody foresaw. Logged here; the client gets no text of it.
      if (!e.status_code) logger.error({ err }, 'tus request failed');
      const error = tusJsonError(e.status_code ?? 500, e.body ?? '');
      return { status_code: error.status, body: bodyOf(error) };
    },
  });

  /** What the sessions API reads of uploads: bytes an unfinished upload holds, and discarding them. */
  const files = {
    offset: (id: string) => uploads.offset(id),
    remove: (id: string) => uploads.discardBytes(id),
  };
  return { tus, files };
}

const uploadIdOf = (url: string) => /^\/api\/uploads\/([^/?#]+)/.exec(url)?.[1];

/**
 * @tus/server stores a PATCH's Upload-Length before it writes the body: a final PATCH cut off mid-body
 * leaves the length declared, and the client's retry (tus-js-client sends Upload-Length again) would get
 * 400 forever. The same length again changes nothing, so it is dropped (from rawHeaders, which
 * @tus/server reads); a different one still gets the 400.
 */
async function dropRepeatedLength(uploads: UploadsService, id: string, raw: IncomingMessage) {
  const row = await uploads.repo.get(id);
  if (row?.upload_length == null || row.upload_length !== String(raw.headers['upload-length']).trim()) return;
  const h = raw.rawHeaders;
  for (let i = h.length - 2; i >= 0; i -= 2) if (h[i]!.toLowerCase() === 'upload-length') h.splice(i, 2);
  delete raw.headers['upload-length'];
}

/**
 * A HEAD on an upload whose bytes all arrived: its recording's id, finishing it first when a crash or a
 * failure cut its finish short, so a client resuming it learns its Recording-Id.
 */
async function recordingOnHead(uploads: UploadsService, id: string, userId: string): Promise<string | undefined> {
  const row = await uploads.repo.get(id);
  if (!row || row.user_id !== userId) return undefined;
  if (row.status === 'completed') return row.recording_id ?? undefined;
  if (row.status !== 'uploading' || row.upload_length === null || row.upload_offset !== row.upload_length) return;
  return uploads.settle(id);
}

/** Removes any client-sent copy of our user header (from rawHeaders, which @tus/server reads), adds ours. */
function authenticate(req: FastifyRequest): string | undefined {
  const raw = req.raw.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === USER_HEADER) raw.splice(i, 2);
  delete req.raw.headers[USER_HEADER];
  if (req.method === 'OPTIONS') return undefined;
  const userId = requireUser(req).user.id;
  raw.push(USER_HEADER, userId);
  req.raw.headers[USER_HEADER] = userId;
  return userId;
}

export interface UploadRoutesDeps {
  tus: Server;
  uploads: UploadsService;
  /** PUBLIC_URL: the one origin CORS allows; without it, the request's own origin. */
  publicOrigin?: string;
}

export async function uploadRoutes(app: FastifyInstance, opts: UploadRoutesDeps) {
  const publicOrigin = opts.publicOrigin ? new URL(opts.publicOrigin).origin : undefined;
  // tus bodies are raw bytes: leave the stream unread for @tus/server.
  app.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null));
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const userId = authenticate(req);
    const id = uploadIdOf(req.url);
    if (id && req.method === 'PATCH' && req.headers['upload-length'] !== undefined) {
      await dropRepeatedLength(opts.uploads, id, req.raw);
    }
    // The finish happens before the HEAD is answered, its Recording-Id with it.
    const recordingId =
      id && userId && req.method === 'HEAD' ? await recordingOnHead(opts.uploads, id, userId) : undefined;
    if (recordingId) reply.raw.setHeader('Recording-Id', recordingId);
    reply.hijack();
    // What tus.handle does, with its answer passed through our CORS and JSON error mapping on the way.
    const answer = await opts.tus.handleWeb(new NodeRequest({ req: req.raw, res: reply.raw }));
    const ours = publicOrigin ?? `${req.protocol}://${req.host}`;
    await sendNodeResponse(reply.raw, await finishTusResponse(answer, req.headers.origin, ours));
  };
  app.all('/api/uploads', { schema: { hide: true } }, handler);
  app.all('/api/uploads/*', { schema: { hide: true } }, handler);
}
