/**
 * tus requests spelled out (as curl would send them), for tests that need to control each PATCH: its
 * bytes, its offset, when it is sent. Answers are { status, headers, body } with the JSON body parsed.
 */
import type { Readable } from 'node:stream';

export interface TusAnswer {
  status: number;
  headers: Headers;
  body: { code?: string; message?: string } | undefined;
}

const TUS = { 'Tus-Resumable': '1.0.0' };

/** base64 Upload-Metadata from plain pairs. */
export function uploadMetadata(meta: Record<string, string>): string {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

async function answer(res: Response): Promise<TusAnswer> {
  const text = await res.text();
  let body: TusAnswer['body'];
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = { message: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** POST: a new upload; `length` undefined defers it. With `bytes`, creation-with-upload. */
export async function createUpload(
  url: string,
  auth: Record<string, string>,
  meta: Record<string, string>,
  opts: { length?: number; bytes?: Buffer } = {},
): Promise<TusAnswer & { location: string }> {
  const headers: Record<string, string> = { ...TUS, ...auth, 'Upload-Metadata': uploadMetadata(meta) };
  if (opts.length === undefined) headers['Upload-Defer-Length'] = '1';
  else headers['Upload-Length'] = String(opts.length);
  if (opts.bytes) headers['Content-Type'] = 'application/offset+octet-stream';
  const body = opts.bytes as BodyInit | undefined;
  const res = await fetch(`${url}/api/uploads`, { method: 'POST', headers, body });
  const location = new URL(res.headers.get('location') ?? '/', url).toString();
  return { ...(await answer(res)), location };
}

export async function patchUpload(
  location: string,
  auth: Record<string, string>,
  offset: number,
  bytes: Buffer | Readable,
  extra: Record<string, string> = {},
): Promise<TusAnswer> {
  const res = await fetch(location, {
    method: 'PATCH',
    headers: {
      ...TUS,
      ...auth,
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      ...extra,
    },
    body: bytes as BodyInit,
    ...(Buffer.isBuffer(bytes) ? {} : { duplex: 'half' }),
  } as RequestInit);
  return answer(res);
}

export async function headUpload(location: string, auth: Record<string, string>): Promise<TusAnswer> {
  return answer(await fetch(location, { method: 'HEAD', headers: { ...TUS, ...auth } }));
}

export async function deleteUpload(location: string, auth: Record<string, string>): Promise<TusAnswer> {
  return answer(await fetch(location, { method: 'DELETE', headers: { ...TUS, ...auth } }));
}

/** Bytes the sniff takes for WebM (an EBML header), then `size` bytes of payload: fast, unprocessed media. */
export function fakeWebm(size: number, seed = 1): Buffer {
  const header = Buffer.from('1a45dfa39f4286810142f7810142f2810442f381084282847765626d42878104428581021853', 'hex');
  const body = Buffer.alloc(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    body[i] = state >>> 24;
  }
  return Buffer.concat([header, body]);
}
