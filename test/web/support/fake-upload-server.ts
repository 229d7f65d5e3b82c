/**
 * A stand-in for the Recorder server's take API, in-process: /api/sessions, tus 1.0 uploads with
 * deferred length on /api/uploads, and GET /api/recordings/:id — just enough for TakeManager, with the
 * upload contract the web app relies on (issue 8, part 3) written down as code:
 *
 *  - a PATCH is judged only once the upload holds ≥ 64 bytes (or the whole upload when it is shorter):
 *    a short first PATCH answers 204 as usual. `judgeEachFirstPatch` brings back the old bug (the first
 *    PATCH's bytes judged alone, so a 1-byte one is refused);
 *  - bytes that are not media answer 415 with JSON {code: 'UNSUPPORTED_MEDIA_TYPE', message}; the
 *    upload is then refused for good: every later PATCH answers the same, a HEAD answers 415 (no body);
 *  - the last byte (offset = Upload-Length) finishes the upload into a recording (Recording-Id header)
 *    whose metadata reports upload_size and upload_sha256, as the real server does.
 *
 * Every request is logged, so a test can tell that nothing was retried behind the user's back.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const SNIFF_BYTES = 64;
const WEBM_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

interface FakeUpload {
  id: string;
  sessionId: string;
  bytes: Buffer;
  length: number | undefined;
  judged: boolean;
  refusal: string | undefined;
  /** The server "lost" it: every request on it answers 404. */
  lost: boolean;
}

interface FakeSession {
  id: string;
  recordingType: string;
  status: string;
  startedAt: string;
  recordingId: string | null;
  discarded: boolean;
  take: Record<string, unknown> | null;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  /** PATCH body size. */
  bytes?: number;
}

export interface FakeUploadServerOptions {
  /** The server before the fix: an upload's first PATCH is judged on its own bytes, however few. */
  judgeEachFirstPatch?: boolean;
  /** Every upload is lost right after its creation (its PATCHes answer 404). */
  loseUploads?: boolean;
}

/** What the sniffing says about an upload's first bytes: undefined = media we accept. */
function detectRefusal(head: Buffer): string | undefined {
  if (WEBM_MAGIC.every((b, i) => head[i] === b)) return undefined;
  const detected = head.subarray(0, 5).toString('latin1') === '%PDF-' ? 'application/pdf' : 'application/octet-stream';
  return `This file type is not accepted (detected ${detected}); accepted: WebM/Matroska, MP4/QuickTime, Ogg, WAV, MP3`;
}

export class FakeUploadServer {
  readonly log: LoggedRequest[] = [];
  readonly uploads = new Map<string, FakeUpload>();
  readonly sessions = new Map<string, FakeSession>();
  readonly recordings = new Map<string, { bytes: Buffer; sha256: string }>();
  /** Status codes the next upload PATCHes answer with instead of handling them (e.g. 503 once). */
  readonly failNextPatches: number[] = [];
  /** Status codes the next upload HEADs answer with (e.g. 503 while the database is away). */
  readonly failNextHeads: number[] = [];
  private server: http.Server | undefined;
  url = '';

  constructor(private readonly o: FakeUploadServerOptions = {}) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Requests on /api/uploads so far (creation, HEAD, PATCH, DELETE). */
  uploadRequests(): LoggedRequest[] {
    return this.log.filter((r) => r.path.startsWith('/api/uploads'));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const r = this.reply({ method: req.method ?? '', path, headers: req.headers, body });
    this.log.push({
      method: req.method ?? '',
      path,
      status: r.status,
      ...(req.method === 'PATCH' ? { bytes: body.length } : {}),
    });
    res.writeHead(r.status, {
      'Tus-Resumable': '1.0.0',
      ...(r.json !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...r.headers,
    });
    res.end(r.json !== undefined ? JSON.stringify(r.json) : undefined);
  }

  private reply(req: Request): Reply {
    if (req.path.startsWith('/api/uploads')) return this.uploadReply(req);
    if (req.path.startsWith('/api/sessions')) return this.sessionReply(req);
    const r = this.recordings.get(/^\/api\/recordings\/([^/]+)$/.exec(req.path)?.[1] ?? '');
    if (!r) return errorReply(404, 'ROUTE_NOT_FOUND', 'No such route');
    const metadata = { upload_size: r.bytes.length, upload_sha256: r.sha256 };
    return { status: 200, json: { id: req.path.split('/').pop(), fileSize: r.bytes.length, metadata } };
  }

  private sessionReply(req: Request): Reply {
    if (req.method === 'POST' && req.path === '/api/sessions') {
      const b = JSON.parse(req.body.toString() || '{}') as { recordingType?: string; startedAt?: string };
      const s: FakeSession = {
        id: randomUUID(),
        recordingType: b.recordingType ?? 'camera',
        status: 'active',
        startedAt: b.startedAt ?? new Date().toISOString(),
        recordingId: null,
        discarded: false,
        take: null,
      };
      this.sessions.set(s.id, s);
      return { status: 201, json: sessionJson(s) };
    }
    if (req.method === 'GET' && req.path === '/api/sessions') return { status: 200, json: { items: [] } };
    const m = /^\/api\/sessions\/([^/]+)(?:\/(heartbeat|interrupt|discard))?$/.exec(req.path);
    const s = m ? this.sessions.get(m[1]!) : undefined;
    if (!m || !s) return errorReply(404, 'SESSION_NOT_FOUND', 'No such session');
    if (m[2] === 'interrupt') s.status = 'interrupted';
    if (m[2] === 'heartbeat') s.status = 'active';
    if (m[2] === 'discard') s.discarded = true;
    if (req.method === 'PATCH') s.take = JSON.parse(req.body.toString() || '{}') as Record<string, unknown>;
    return { status: 200, json: sessionJson(s) };
  }

  private uploadReply(req: Request): Reply {
    if (req.method === 'POST' && req.path === '/api/uploads') return this.createUpload(req);
    const up = this.uploads.get(req.path.slice('/api/uploads/'.length));
    if (!up || up.lost) return errorReply(404, 'UPLOAD_NOT_FOUND', 'No such upload');
    if (req.method === 'DELETE') {
      this.uploads.delete(up.id);
      return { status: 204 };
    }
    // Refused for good: the same answer to everything; a HEAD has no body.
    if (up.refusal)
      return req.method === 'HEAD' ? { status: 415 } : errorReply(415, 'UNSUPPORTED_MEDIA_TYPE', up.refusal);
    if (req.method === 'PATCH') return this.patch(req, up);
    if (req.method !== 'HEAD') return errorReply(405, 'METHOD_NOT_ALLOWED', req.method);
    const headFailure = this.failNextHeads.shift();
    if (headFailure !== undefined) return { status: headFailure, headers: { 'Retry-After': '1' } };
    const length: Record<string, string> =
      up.length === undefined ? { 'Upload-Defer-Length': '1' } : { 'Upload-Length': String(up.length) };
    return {
      status: 200,
      headers: { 'Upload-Offset': String(up.bytes.length), 'Cache-Control': 'no-store', ...length },
    };
  }

  private createUpload(req: Request): Reply {
    const meta = parseMetadata(String(req.headers['upload-metadata'] ?? ''));
    const up: FakeUpload = {
      id: randomUUID().replace(/-/g, ''),
      sessionId: meta.sessionId ?? '',
      bytes: Buffer.alloc(0),
      length: undefined,
      judged: false,
      refusal: undefined,
      lost: this.o.loseUploads ?? false,
    };
    this.uploads.set(up.id, up);
    return { status: 201, headers: { Location: `/api/uploads/${up.id}` } };
  }

  private patch(req: Request, up: FakeUpload): Reply {
    const failure = this.failNextPatches.shift();
    if (failure) return { ...errorReply(failure, 'UNAVAILABLE', 'Try later'), headers: { 'Retry-After': '0' } };
    if (Number(req.headers['upload-offset']) !== up.bytes.length)
      return errorReply(409, 'UPLOAD_OFFSET_CONFLICT', 'Offset mismatch');
    const declared = req.headers['upload-length'];
    if (declared !== undefined) up.length = Number(declared);
    const held = Buffer.concat([up.bytes, req.body]);
    const whole = up.length !== undefined && held.length >= up.length;
    if (!up.judged && (held.length >= SNIFF_BYTES || whole || this.o.judgeEachFirstPatch)) {
      up.judged = true;
      up.refusal = detectRefusal(held);
      if (up.refusal) return errorReply(415, 'UNSUPPORTED_MEDIA_TYPE', up.refusal);
    }
    up.bytes = held;
    const headers: Record<string, string> = { 'Upload-Offset': String(up.bytes.length) };
    if (up.length !== undefined && up.bytes.length === up.length) headers['Recording-Id'] = this.finish(up);
    return { status: 204, headers };
  }

  private finish(up: FakeUpload): string {
    const session = this.sessions.get(up.sessionId);
    if (session?.recordingId) return session.recordingId;
    const id = randomUUID();
    this.recordings.set(id, { bytes: up.bytes, sha256: createHash('sha256').update(up.bytes).digest('hex') });
    if (session) {
      session.recordingId = id;
      session.status = 'completed';
    }
    return id;
  }
}

interface Request {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Reply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

/** An error answer with the API's JSON body. */
function errorReply(status: number, code: string, message: string): Reply {
  return { status, json: { code, message } };
}

function sessionJson(s: FakeSession) {
  return { ...s, endedAt: null, duration: null, deviceInfo: null, settings: null, errorMessage: null };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function parseMetadata(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of header.split(',')) {
    const [key, value] = pair.trim().split(' ');
    if (key) out[key] = value ? Buffer.from(value, 'base64').toString() : '';
  }
  return out;
}

type Listener = (v: never) => void;

/**
 * Stands in for part C's Recorder (MediaRecorder exists only in browsers): emits the slices the test
 * gives it, in order, as MediaRecorder's dataavailable would.
 */
export class SliceRecorder {
  readonly mimeType = 'video/webm;codecs=vp9,opus';
  private readonly listeners = new Map<string, Set<Listener>>();
  private seq = 0;

  on(ev: 'chunk', cb: (v: { data: Blob; seq: number; elapsedMs: number }) => void): () => void;
  on(ev: 'stopped', cb: (v: { durationMs: number; mimeType: string; reason: unknown }) => void): () => void;
  on(ev: string, cb: Listener): () => void {
    const set = this.listeners.get(ev) ?? new Set<Listener>();
    this.listeners.set(ev, set);
    set.add(cb);
    return () => void set.delete(cb);
  }

  private emit(ev: string, v: unknown): void {
    for (const cb of this.listeners.get(ev) ?? []) (cb as (v: unknown) => void)(v);
  }

  slice(bytes: Uint8Array): void {
    this.seq++;
    this.emit('chunk', {
      data: new Blob([bytes as Uint8Array<ArrayBuffer>]),
      seq: this.seq,
      elapsedMs: this.seq * 1000,
    });
  }

  async stop(): Promise<{ durationMs: number }> {
    const durationMs = this.seq * 1000;
    this.emit('stopped', { durationMs, mimeType: this.mimeType, reason: 'user' });
    return { durationMs };
  }
}

/** `size` bytes that the fake sniffing takes for WebM (its magic, then noise). */
export function webmLikeBytes(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7919 + 13) % 251;
  b.set(WEBM_MAGIC, 0);
  return b;
}
