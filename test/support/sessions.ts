/**
 * Helpers for the recording-session tests: the sessions API as the web app calls it, and tus requests
 * written out by hand where a test needs one exact request (a zero-byte final PATCH, two final PATCHes
 * racing); the real tus-js-client drives the ordinary uploads.
 */
import { Readable } from 'node:stream';
import * as tus from 'tus-js-client';
import type { SessionsService } from '../../src/server/sessions/sessions.service.js';
import { call, type ApiResponse } from './recordings-fixtures.js';

export const TUS = { 'Tus-Resumable': '1.0.0' };
type Headers = Record<string, string>;

/** A session as the API sends it: what the server's service returns for it (dates as ISO strings). */
export type ApiSession = Awaited<ReturnType<SessionsService['get']>>;

export function sessionsApi(url: string, headers: Headers) {
  const ok = (r: ApiResponse, status: number) => {
    if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.body.toString('utf8')}`);
    return r.json as unknown as ApiSession;
  };
  return {
    raw: (method: string, path: string, body?: unknown) => call(url, method, path, headers, body),
    create: async (body: Record<string, unknown> = { recordingType: 'camera' }) =>
      ok(await call(url, 'POST', '/api/sessions', headers, body), 201),
    get: async (id: string) => ok(await call(url, 'GET', `/api/sessions/${id}`, headers), 200),
    list: async (query = '') =>
      ((await call(url, 'GET', `/api/sessions${query}`, headers)).json as unknown as { items: ApiSession[] }).items,
    heartbeat: async (id: string, body: Record<string, unknown> = {}) =>
      ok(await call(url, 'POST', `/api/sessions/${id}/heartbeat`, headers, body), 200),
    interrupt: async (id: string, body: Record<string, unknown> = {}) =>
      ok(await call(url, 'POST', `/api/sessions/${id}/interrupt`, headers, body), 200),
    setTake: async (id: string, body: Record<string, unknown>) =>
      ok(await call(url, 'PATCH', `/api/sessions/${id}`, headers, body), 200),
    discard: async (id: string) => ok(await call(url, 'POST', `/api/sessions/${id}/discard`, headers, {}), 200),
  };
}

const encodeMeta = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');

/** POST /api/uploads with a deferred length; the absolute upload URL. */
export async function createDeferredUpload(
  url: string,
  headers: Headers,
  metadata: Record<string, string>,
): Promise<{ status: number; uploadUrl: string; body: string }> {
  const res = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: { ...TUS, ...headers, 'Upload-Defer-Length': '1', 'Upload-Metadata': encodeMeta(metadata) },
  });
  const loc = res.headers.get('location');
  return { status: res.status, uploadUrl: loc ? new URL(loc, url).toString() : '', body: await res.text() };
}

/** One PATCH; `length` declares Upload-Length (the final PATCH of a deferred-length upload). */
export async function patch(uploadUrl: string, headers: Headers, offset: number, body: Buffer, length?: number) {
  const res = await fetch(uploadUrl, {
    method: 'PATCH',
    headers: {
      ...TUS,
      ...headers,
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      ...(length !== undefined ? { 'Upload-Length': String(length) } : {}),
    },
    body: new Uint8Array(body),
  });
  return {
    status: res.status,
    offset: Number(res.headers.get('upload-offset')),
    recordingId: res.headers.get('recording-id'),
    body: await res.text(),
  };
}

export async function head(uploadUrl: string, headers: Headers) {
  const res = await fetch(uploadUrl, { method: 'HEAD', headers: { ...TUS, ...headers } });
  return { status: res.status, offset: res.headers.get('upload-offset'), length: res.headers.get('upload-length') };
}

/** The real tus-js-client, as the browser uses it: deferred length, small chunks; resolves with Recording-Id. */
export function tusUpload(
  url: string,
  headers: Headers,
  bytes: Buffer,
  metadata: Record<string, string>,
  chunkSize = 64 * 1024,
) {
  return new Promise<{ uploadUrl: string; recordingId: string }>((resolve, reject) => {
    // A stream of slices, like MediaRecorder's: the length is only known at the end.
    const slices = Array.from({ length: Math.ceil(bytes.length / 16_384) }, (_, i) =>
      bytes.subarray(i * 16_384, (i + 1) * 16_384),
    );
    const upload = new tus.Upload(Readable.from(slices), {
      endpoint: `${url}/api/uploads`,
      headers,
      metadata,
      chunkSize,
      uploadLengthDeferred: true,
      retryDelays: null,
      onSuccess: ({ lastResponse }) =>
        resolve({ uploadUrl: upload.url!, recordingId: lastResponse.getHeader('Recording-Id') ?? '' }),
      onError: reject,
    });
    upload.start();
  });
}
