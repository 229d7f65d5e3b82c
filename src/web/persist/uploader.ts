/**
 * The live upload of one take: a tus upload with deferred length (tus-js-client 4) that PATCHes each
 * slice as soon as it exists, and declares Upload-Length only when the take is finalized, which is
 * what makes the server finish it into a recording.
 *
 * How tus-js-client is used (read from its lib/upload.js, 4.3):
 *  - `_addChunkToRequest` asks our source for slice(offset, offset + chunkSize). Our slice waits until
 *    ANY byte beyond offset exists, then returns what there is: a PATCH goes out per recorder slice.
 *    With `uploadLengthDeferred`, a slice that says `done` makes it set `Upload-Length = offset + size`
 *    on that PATCH; an empty final slice is the zero-byte PATCH that only declares the length.
 *  - Its retries (`retryDelays`, `onShouldRetry`) restart from a HEAD, whose Upload-Offset becomes the
 *    next slice's start: the source must serve any offset the server reports (see take-source.ts).
 *  - Its retry counter resets whenever the offset advanced; once its delays are used up it calls
 *    onError and stops. We then start a new Upload from the same URL after our own backoff, forever,
 *    until the take is finished or discarded; a browser `online` event cuts the wait short.
 *  - We give it no `endpoint` once the upload exists: on any failed HEAD (a 404, a 503 while the database
 *    is away) it would otherwise silently create a NEW upload and send the take again from byte 0. The
 *    attempt that created the upload therefore never retries by itself: we retry from its URL. A lost
 *    upload is our decision (below).
 *  - `onAfterResponse` reads `Upload-Offset` (bytes the server holds) and `Recording-Id` (the final
 *    PATCH's answer, set by the server's onUploadFinish hook).
 *
 * The upload is gone (404/410 at HEAD): either the server finished it (its file is removed on finish;
 * the final PATCH's answer may have been lost) → `lookupRecording` asks the session for its recording;
 * or the server lost it → a new upload is created and the whole take is sent again from IndexedDB
 * (the server returns the session's recording, never a second one, if it had finished after all).
 * Once per LiveUpload: an upload lost again is a refusal, not a loop.
 *
 * The server refused the upload for good (415 not media, 413, 403, 400/422 — refusal.ts): `done`
 * rejects with an UploadRefusedError at once and nothing more is sent; only the user starts again.
 */
import * as tus from 'tus-js-client';
import { ApiError } from './api.ts';
import { isRefusal, plainReason, UploadRefusedError } from './refusal.ts';
import type { TakeSource } from './take-source.ts';

export interface LiveUploadOptions {
  /** Absolute URL of POST /api/uploads. */
  endpoint: string;
  /** An upload created before (resuming after a reload). */
  uploadUrl?: string;
  metadata: Record<string, string>;
  /** Extra request headers (Node tests: cookie and Origin; the browser's XHR sends the cookie itself). */
  headers?: Record<string, string>;
  source: TakeSource;
  /** Largest PATCH body; a recorder slice is far smaller, so this only matters when catching up. */
  chunkSize?: number;
  /** tus-js-client's own retry delays, before our supervisor takes over. */
  retryDelays?: number[];
  /** Ceiling of the supervisor's backoff between Upload restarts. */
  maxBackoffMs?: number;
  onUrl?: (url: string) => void | Promise<void>;
  /** Bytes the server holds (from PATCH and HEAD answers). */
  onAck?: (offset: number) => void;
  /** Reachability changed, with the error when it failed. */
  onReachable?: (reachable: boolean, err?: ApiError) => void;
  onProgress?: (sent: number) => void;
  /** The upload is gone from the server: the recording it became, if it did (undefined: it was lost). */
  lookupRecording?: () => Promise<string | undefined>;
}

const DEFAULT_DELAYS = [0, 1000, 2000, 4000, 8000];
const RETRYABLE = (status: number) =>
  status === 0 || status === 408 || status === 409 || status === 423 || status === 429 || status >= 500;
/** 409 is normally "offset conflict, HEAD and retry"; these 409s are final (the take's session is over). */
const FINAL_CODES = new Set(['SESSION_DISCARDED', 'SESSION_CLOSED', 'SESSION_NOT_FOUND']);

function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

/** A tus-js-client failure as the ApiError the app shows: our JSON code and message, or a plain reason. */
export function tusApiError(err: unknown): ApiError {
  const e = err as tus.DetailedError;
  const res = e?.originalResponse;
  if (!res)
    return new ApiError(
      0,
      'NETWORK',
      `The server could not be reached (${e?.causingError?.message ?? e?.message ?? String(err)})`,
    );
  const status = res.getStatus();
  let code = `HTTP_${status}`;
  // tus-js-client's own message names the request and the status; a person needs the reason.
  let message = plainReason(status) ?? e.message;
  try {
    const b = JSON.parse(res.getBody()) as { code?: string; message?: string };
    if (b.code) code = b.code;
    if (b.message) message = b.message;
  } catch {
    // not our JSON (a proxy's page): keep the HTTP status as the code
  }
  return new ApiError(status, code, message);
}

export class LiveUpload {
  url: string | undefined;
  /** Bytes the server holds, as last reported. */
  offset = 0;
  recordingId: string | undefined;
  readonly done: Promise<{ recordingId: string; url: string }>;
  private resolve!: (v: { recordingId: string; url: string }) => void;
  private reject!: (e: Error) => void;
  private current: { upload: tus.Upload; close(): void } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  /** The server lost this upload once and a new one was started: a second loss is not retried. */
  private recreated = false;
  private stopped = false;
  private settled = false;
  private readonly onOnline = () => {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.attempt();
    }
  };

  constructor(private readonly o: LiveUploadOptions) {
    this.url = o.uploadUrl;
    this.done = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.done.catch(() => undefined); // a caller that never awaits must not see an unhandled rejection
  }

  start(): void {
    if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline);
    this.attempt();
  }

  /** The take has all its bytes: the next PATCH that reaches the end declares Upload-Length. */
  finalize(): void {
    this.o.source.finalize();
  }

  /** Stops uploading; with terminate, also deletes the upload on the server (tus DELETE). */
  async abort(terminate = false): Promise<void> {
    this.stop();
    if (!this.settled) {
      this.settled = true;
      this.reject(new ApiError(0, 'ABORTED', 'The upload was stopped'));
    }
    if (terminate && this.url) {
      await tus.Upload.terminate(this.url, { headers: this.o.headers ?? {}, retryDelays: [0, 1000, 3000] });
    }
  }

  private stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.current?.close();
    this.current = undefined;
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline);
  }

  private ack(offset: number): void {
    if (!Number.isFinite(offset)) return;
    if (offset > this.offset) this.failures = 0; // progress: the next outage starts its backoff afresh
    this.offset = offset;
    this.o.source.ack(offset);
    this.o.onAck?.(offset);
  }

  private attempt(): void {
    if (this.stopped) return;
    this.current?.close();
    const reader = this.o.source.reader();
    // The attempt that creates the upload carries an endpoint; tus-js-client answers ANY failed HEAD on
    // its own retries (a 503 while the database is away) by creating a new upload from byte 0 through it.
    const creates = !this.url;
    const upload = new tus.Upload(new Blob([]), {
      ...(this.url ? { uploadUrl: this.url } : { endpoint: this.o.endpoint }),
      metadata: this.o.metadata,
      headers: this.o.headers ?? {},
      uploadLengthDeferred: true,
      chunkSize: this.o.chunkSize ?? 8 * 1024 * 1024,
      retryDelays: this.o.retryDelays ?? DEFAULT_DELAYS,
      fileReader: reader.reader as NonNullable<tus.UploadOptions['fileReader']>,
      // We keep the upload URL ourselves (in the take); tus-js-client's URL storage stays unused.
      storeFingerprintForResuming: false,
      fingerprint: () => Promise.resolve('recorder-take'),
      onShouldRetry: (err) => {
        const e = tusApiError(err);
        if (e.status === 0) this.o.onReachable?.(false, e);
        // Once the upload exists, the next try is ours: a new attempt from its URL, without the endpoint.
        if (creates && upload.url) return false;
        return RETRYABLE(e.status) && !FINAL_CODES.has(e.code) && !isRefusal(e.status, e.code) && !isOffline();
      },
      onUploadUrlAvailable: () => {
        if (upload.url && upload.url !== this.url) {
          this.url = upload.url;
          // Remembering the URL is for a later page (resume after reload); this upload goes on without it.
          const url = upload.url;
          void Promise.resolve()
            .then(() => this.o.onUrl?.(url))
            .catch((err: unknown) => console.warn('could not remember the upload URL', err));
        }
      },
      onAfterResponse: (_req, res) => {
        this.o.onReachable?.(true);
        const off = res.getHeader('Upload-Offset');
        if (off !== undefined && res.getStatus() < 300) this.ack(Number(off));
        const rid = res.getHeader('Recording-Id');
        if (rid) this.recordingId = rid;
      },
      onProgress: (sent) => this.o.onProgress?.(sent),
      onSuccess: ({ lastResponse }) => {
        const rid = lastResponse.getHeader('Recording-Id') ?? this.recordingId;
        void this.succeed(rid);
      },
      onError: (err) => void this.failed(err),
    });
    const close = () => {
      reader.close();
      void upload.abort();
    };
    this.current = { upload, close };
    upload.start();
  }

  private async succeed(recordingId: string | undefined): Promise<void> {
    // A HEAD that found the upload complete (the final PATCH's answer was lost) carries no Recording-Id.
    let id = recordingId;
    for (let i = 0; !id && this.o.lookupRecording && i < 20 && !this.stopped; i++) {
      id = await this.o.lookupRecording().catch(() => undefined);
      if (!id) await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** i, 5000)));
    }
    if (this.stopped) return;
    if (!id)
      return this.retryLater(
        new ApiError(0, 'NO_RECORDING_ID', 'The server finished the upload but has not said which recording it made'),
      );
    this.finish(id);
  }

  private finish(recordingId: string): void {
    this.recordingId = recordingId;
    this.stop();
    if (!this.settled) {
      this.settled = true;
      this.resolve({ recordingId, url: this.url ?? '' });
    }
  }

  private async failed(err: unknown): Promise<void> {
    if (this.stopped) return;
    const e = tusApiError(err);
    if (e.status === 404 || e.status === 410) return this.gone(e);
    if (FINAL_CODES.has(e.code)) {
      // A kept session may have its recording already (the page died before it learned the id).
      const looked = await this.lookup();
      if (this.stopped) return;
      if (looked.id) return this.finish(looked.id);
      if (looked.failed) return this.retryLater(looked.failed);
      return this.giveUp(e);
    }
    if (isRefusal(e.status, e.code)) return this.giveUp(new UploadRefusedError(e));
    this.retryLater(e);
  }

  /** 404/410: finished by the server (its recording is on the session), or lost (sent again, once). */
  private async gone(e: ApiError): Promise<void> {
    const looked = await this.lookup();
    if (this.stopped) return;
    // The session could not be asked: "lost" is not known, and re-sending from byte 0 would be a
    // guess. Ask again after the backoff (the upload URL stays).
    if (looked.failed) return this.retryLater(looked.failed);
    if (looked.id) return this.finish(looked.id);
    // Lost twice: a server that keeps losing uploads would otherwise get the take again and again.
    if (this.recreated) return this.giveUp(new UploadRefusedError(e));
    // The server lost the upload: start a new one; the source serves the whole take from IndexedDB.
    this.recreated = true;
    this.url = undefined;
    this.offset = 0;
    return this.retryLater(e);
  }

  /** Stops for good: `done` rejects with `e`, and nothing more is sent. */
  private giveUp(e: ApiError): void {
    this.stop();
    if (this.settled) return;
    this.settled = true;
    this.reject(e);
  }

  /** The session's recording; `failed` when the server could not be asked (no answer, 5xx). */
  private async lookup(): Promise<{ id?: string; failed?: ApiError }> {
    if (!this.o.lookupRecording) return {};
    try {
      const id = await this.o.lookupRecording();
      return id ? { id } : {};
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
      // A refusal (e.g. SESSION_NOT_FOUND) is an answer: the upload is treated as lost / final.
      return e.transient ? { failed: e } : {};
    }
  }

  /** Our own backoff once tus-js-client gave up: 1 s, 2 s, 4 s … up to maxBackoffMs, forever. */
  private retryLater(e: ApiError): void {
    if (this.stopped) return;
    this.current?.close();
    this.current = undefined;
    this.o.onReachable?.(false, e);
    const delay = Math.min(1000 * 2 ** this.failures, this.o.maxBackoffMs ?? 30_000);
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
  }
}
