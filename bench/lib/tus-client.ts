/**
 * tus-js-client as the benchmarks and the cluster tests drive it in Node: a file streamed from disk,
 * an HTTP stack that can see each request go out, and the timings of one upload.
 */
import type { ClientRequest } from 'node:http';
import fs from 'node:fs';
import * as tus from 'tus-js-client';
import { msBetween, now } from './stats.js';

/** `req` with its send replaced: the hook for HTTP stacks that route, time or break requests. */
export function withSend(req: tus.HttpRequest, send: (body: unknown) => Promise<tus.HttpResponse>): tus.HttpRequest {
  return {
    getMethod: () => req.getMethod(),
    getURL: () => req.getURL(),
    setHeader: (name, value) => req.setHeader(name, value),
    getHeader: (name) => req.getHeader(name),
    setProgressHandler: (handler) => req.setProgressHandler(handler),
    abort: () => req.abort(),
    getUnderlyingObject: () => req.getUnderlyingObject(),
    send,
  };
}

/**
 * tus-js-client's Node stack, noting when the last request body was all handed to the kernel (the
 * request's 'finish'): the moment the client's last byte went out, to the socket buffer's precision.
 * tus-js-client's own progress events are throttled, and its last one comes only with the response.
 */
export class TimingStack implements tus.HttpStack {
  lastBodySentAt: bigint | undefined;
  private readonly inner = new tus.DefaultHttpStack({});

  getName(): string {
    return 'TimingStack';
  }

  createRequest(method: string, url: string): tus.HttpRequest {
    const req = this.inner.createRequest(method, url);
    return withSend(req, (body) => {
      const response = req.send(body);
      // The Node stack makes its ClientRequest synchronously inside send().
      (req.getUnderlyingObject() as ClientRequest).once('finish', () => {
        if (body) this.lastBodySentAt = now();
      });
      return response;
    });
  }
}

/**
 * tus-js-client's file source: each chunk streamed from disk (constant memory, any file size).
 * `beforeSlice` may hold a chunk back (a live recording whose next bytes do not exist yet).
 */
export function fileSource(
  file: string,
  size: number,
  beforeSlice?: () => Promise<void>,
): NonNullable<tus.UploadOptions['fileReader']> {
  return {
    async openFile() {
      return {
        size,
        async slice(start: number, end: number) {
          await beforeSlice?.();
          const stop = Math.min(end, size);
          const value = Object.assign(fs.createReadStream(file, { start, end: stop - 1 }), { size: stop - start });
          return { value, done: stop >= size };
        },
        close() {},
      };
    },
  };
}

export interface TusTiming {
  /** First request out to the last PATCH's response, ms. */
  ms: number;
  /** First request out to the last byte out, ms. */
  sentMs: number;
  /** The finish: last byte out to the response carrying Recording-Id (the recording row exists), ms. */
  finishMs: number;
  recordingId: string;
}

export interface TusUploadOptions {
  endpoint: string;
  headers: Record<string, string>;
  file: string;
  size: number;
  /** tus chunkSize; default: the whole file in one PATCH (tus-js-client's default). */
  chunkSize?: number;
  metadata: Record<string, string>;
}

/** One upload with tus-js-client, timed; rejects on any error (no retries: a benchmark measures, it does not hide). */
export async function timedTusUpload(o: TusUploadOptions): Promise<TusTiming> {
  const stack = new TimingStack();
  const t0 = now();
  const recordingId = await new Promise<string>((resolve, reject) => {
    new tus.Upload(Buffer.alloc(0), {
      endpoint: o.endpoint,
      headers: o.headers,
      httpStack: stack,
      fileReader: fileSource(o.file, o.size),
      metadata: o.metadata,
      ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
      retryDelays: null,
      onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Recording-Id') ?? ''),
      onError: reject,
    }).start();
  });
  const done = now();
  if (stack.lastBodySentAt === undefined) throw new Error('no request body was ever sent: timing is broken');
  return {
    ms: msBetween(t0, done),
    sentMs: msBetween(t0, stack.lastBodySentAt),
    finishMs: msBetween(stack.lastBodySentAt, done),
    recordingId,
  };
}

/** Throws unless the recording holds exactly the source: the server's sha256 of what it stored against ours. */
export async function verifyStored(
  url: string,
  headers: Record<string, string>,
  recordingId: string,
  source: { size: number; sha256: string },
): Promise<void> {
  const res = await fetch(`${url}/api/recordings/${recordingId}`, { headers });
  const body = (await res.json()) as { fileSize?: number; metadata?: { sha256?: string } };
  if (res.status !== 200 || body.fileSize !== source.size || body.metadata?.sha256 !== source.sha256) {
    const got = JSON.stringify(body).slice(0, 300);
    throw new Error(`recording ${recordingId} does not match the source: HTTP ${res.status}, ${got}`);
  }
}
