/**
 * One take while a page owns it: its bytes flowing recorder → IndexedDB → live upload, its server
 * session (created, heartbeat, interrupted on pagehide) and its status. TakeManager creates one per
 * take it records (begin) or recovers (adopt).
 *
 * The server link is best effort and never blocks recording: if the server is down when the take
 * starts, the session and the upload are created when it answers (retried with backoff, sooner on the
 * browser's `online` event), and the upload then catches up from IndexedDB.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ApiError, type ApiClient } from './api.ts';
import { isUploadRefused, type UploadRefusal } from './refusal.ts';
import type { Sessions } from './sessions.ts';
import { defaultTitle, extensionOf } from '../../shared/take-names.ts';
import { Heartbeat, type LinkInfo, openSession, sessionBody } from './take-session.ts';
import { TakeSource } from './take-source.ts';
import type { LocalTake, TakeStore } from './take-store.ts';
import { LiveUpload } from './uploader.ts';

export interface TakeStatus {
  takeId: string;
  /** Bytes safe in this browser (IndexedDB). */
  localBytes: number;
  /** Bytes the server acknowledged. */
  serverBytes: number;
  online: boolean;
  serverReachable: boolean;
  durationMs: number;
  state: LocalTake['state'];
  /** Something the user must know (local storage full, the server refusing to open the take). */
  problem?: { code: string; message: string };
  /** The server refused the upload for good: the take stays in this browser only (refusal.ts). */
  refused?: UploadRefusal;
}

export interface LinkOptions {
  client: ApiClient;
  sessions: Sessions;
  uploadHeaders?: Record<string, string>;
  uploadRetryDelays?: number[];
  maxBackoffMs?: number;
}

export class LiveTake {
  take: LocalTake;
  readonly source: TakeSource;
  upload: LiveUpload | undefined;
  /** sha256 over every byte handed to the source, in order (undefined for adopted takes: hashed from IndexedDB). */
  hasher: ReturnType<typeof sha256.create> | undefined;
  hashedBytes = 0;
  serverBytes = 0;
  reachable = true;
  problem: TakeStatus['problem'];
  /** Set once the server refused the upload for good; stored with the take as `uploadRefused`. */
  refusal: UploadRefusal | undefined;
  private storingRefusal: Promise<void> | undefined;
  localFailed = false;
  /** A slice could not be read: later ones are dropped (they would follow a hole). */
  unreadable = false;
  /** The user discarded the take (not merely closed the page): a session created now is thrown away. */
  discarded = false;
  /** Create refused the take's projectId: keep's PATCH sets it (or the one the user picks) instead. */
  projectDropped = false;
  /** Chunk processing, in order: store (awaited) then upload. */
  queue: Promise<void> = Promise.resolve();
  readonly stopped: Promise<void>;
  markStopped!: () => void;
  private readonly heartbeat: Heartbeat;
  private linking: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly onOnline = () => this.wake?.();
  release: (() => void) | undefined;
  unhook: (() => void)[] = [];

  constructor(
    take: LocalTake,
    private readonly store: TakeStore,
    private readonly o: LinkOptions,
    private readonly emit: () => void,
    live: boolean,
  ) {
    this.take = take;
    this.source = new TakeSource(store, take.id, live ? 0 : take.bytes);
    if (live) this.hasher = sha256.create();
    this.stopped = new Promise((r) => (this.markStopped = r));
    if (!live) this.markStopped();
    this.serverBytes = take.serverOffset ?? 0;
    this.heartbeat = new Heartbeat(
      o.sessions,
      () => ({ sessionId: this.take.sessionId, durationMs: this.take.durationMs, bytes: this.take.bytes }),
      (err) => this.heardBack(err),
    );
    this.refusal = take.uploadRefused;
    if (this.refusal) this.storingRefusal = Promise.resolve(); // stored already
    if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline);
  }

  get alive(): boolean {
    return !this.closed;
  }

  status(): TakeStatus {
    return {
      takeId: this.take.id,
      localBytes: this.take.bytes,
      serverBytes: this.serverBytes,
      online: typeof navigator === 'undefined' || navigator.onLine !== false,
      serverReachable: this.reachable,
      durationMs: this.take.durationMs,
      state: this.take.state,
      ...(this.problem ? { problem: this.problem } : {}),
      ...(this.refusal ? { refused: this.refusal } : {}),
    };
  }

  /**
   * The server refused the upload for good: remembered here and in IndexedDB (a reload then says why
   * instead of offering the take as cut off), and told to the status listeners. Idempotent.
   */
  noteRefusal(refusal: UploadRefusal): Promise<void> {
    if (this.storingRefusal) return this.storingRefusal;
    this.refusal = refusal;
    this.reachable = true; // it answered: the server is reachable, it just says no
    this.notify();
    this.storingRefusal = this.store.update(this.take.id, { uploadRefused: refusal }).then(
      (take) => {
        this.take = take;
      },
      (err: unknown) => console.warn('could not store why the upload was refused', err),
    );
    return this.storingRefusal;
  }

  /**
   * Store first (awaited, in order), then the upload; a failure stops the recording cleanly. Each
   * step has its own catch and the chain never rejects: a rejected `queue` would drop every later
   * slice without a word and leave keep() waiting on it forever.
   */
  addChunk(c: { data: Blob; seq: number; elapsedMs: number }, stopRecorder: () => void): void {
    this.queue = this.queue
      .then(() => this.storeChunk(c, stopRecorder))
      .catch((err: unknown) =>
        this.fail(
          'CHUNK_FAILED',
          `Recording stopped: a slice could not be handled (${(err as Error)?.message ?? String(err)}). ` +
            'What was recorded before it is kept.',
          stopRecorder,
        ),
      );
  }

  private async storeChunk(c: { data: Blob; seq: number; elapsedMs: number }, stopRecorder: () => void): Promise<void> {
    if (this.closed || this.unreadable) return;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await c.data.arrayBuffer());
    } catch (err) {
      // Later slices would leave a hole in the media: stop here, with everything before this slice.
      this.unreadable = true;
      return this.fail(
        'CHUNK_UNREADABLE',
        `The browser could not read a recorded slice (${(err as Error)?.message ?? String(err)}), ` +
          'so recording was stopped. What was recorded before it is kept.',
        stopRecorder,
      );
    }
    let durable = false;
    if (!this.localFailed) {
      try {
        this.take = await this.store.appendChunk(this.take.id, c.seq, bytes, c.elapsedMs);
        durable = true;
      } catch (err) {
        this.localFailed = true;
        const quota = (err as { code?: string }).code === 'QUOTA_EXCEEDED';
        this.fail(
          quota ? 'LOCAL_STORAGE_FULL' : 'LOCAL_STORAGE_FAILED',
          quota
            ? 'This browser has no room left to store the recording, so recording was stopped. ' +
                'What was recorded so far is kept.'
            : `This browser could not store the recording (${(err as Error).message}), so recording was stopped. ` +
                'What was recorded so far is kept.',
          stopRecorder,
        );
      }
    }
    this.hasher?.update(bytes);
    this.hashedBytes += bytes.byteLength;
    // In browser mode nothing reads the source: do not hold the take in memory for nobody.
    if (this.take.storage === 'server') this.source.push(bytes, durable);
    if (!durable) this.take = { ...this.take, durationMs: Math.max(this.take.durationMs, c.elapsedMs) };
    this.notify();
  }

  /** Records what went wrong in the status (the first problem wins), stops the recorder, tells listeners. */
  private fail(code: string, message: string, stopRecorder: () => void): void {
    this.problem ??= { code, message };
    try {
      stopRecorder();
    } catch (err) {
      console.warn('could not stop the recorder', err);
    }
    this.notify();
  }

  /** A status listener that throws must not break the chunk chain or the stop handling. */
  notify(): void {
    try {
      this.emit();
    } catch (err) {
      console.warn('a take status listener threw', err);
    }
  }

  /** Every byte of the take is in IndexedDB: it can be sent again from there as a new upload. */
  get allBytesLocal(): boolean {
    return !this.localFailed && !this.unreadable;
  }

  /**
   * Creates the session and the upload when missing, retrying until the server answers; idempotent.
   * A refusal (4xx twice) rejects, and the next call tries again (keep after the user fixed the cause).
   */
  link(info: LinkInfo): Promise<void> {
    this.linking ??= this.doLink(info).catch((err: unknown) => {
      this.linking = undefined;
      throw err;
    });
    return this.linking;
  }

  private async doLink(info: LinkInfo): Promise<void> {
    const sessionId = this.take.sessionId ?? (await this.createSession(info));
    this.notify();
    if (!this.closed) this.heartbeat.start();
    const upload = new LiveUpload({
      endpoint: this.o.client.absolute('/api/uploads'),
      ...(this.take.uploadUrl ? { uploadUrl: this.take.uploadUrl } : {}),
      metadata: {
        sessionId,
        recordingType: this.take.mode,
        quality: this.take.quality,
        title: this.take.title ?? defaultTitle(this.take.mode, this.take.startedAt, false),
        filename: `recording-${this.take.startedAt.replace(/[:.]/g, '-')}.${extensionOf(this.take.mimeType)}`,
      },
      ...(this.o.uploadHeaders ? { headers: this.o.uploadHeaders } : {}),
      ...(this.o.uploadRetryDelays ? { retryDelays: this.o.uploadRetryDelays } : {}),
      ...(this.o.maxBackoffMs ? { maxBackoffMs: this.o.maxBackoffMs } : {}),
      source: this.source,
      onUrl: async (url) => {
        this.take = await this.store.update(this.take.id, { uploadUrl: url });
      },
      onAck: (offset) => {
        this.serverBytes = offset;
        this.notify();
        // Remembered for the recovery list shown while offline; the server's HEAD stays the truth.
        void this.store.update(this.take.id, { serverOffset: offset }).catch(() => undefined);
      },
      onReachable: (ok, err) => {
        this.reachable = ok;
        if (err && (err.status === 401 || err.status === 403)) this.problem = { code: err.code, message: err.message };
        else if (ok && this.problem && (this.problem.code === 'UNAUTHENTICATED' || this.problem.code === 'FORBIDDEN'))
          this.problem = undefined;
        this.notify();
      },
      lookupRecording: async () => (await this.o.sessions.get(sessionId)).recordingId ?? undefined,
    });
    this.upload = upload;
    upload.done.catch((err: unknown) => {
      if (isUploadRefused(err)) void this.noteRefusal(err.refusal);
    });
    upload.start();
  }

  /** Opens the take's session (retried until the server answers) and stores its id with the take. */
  private async createSession(info: LinkInfo): Promise<string> {
    let opened: Awaited<ReturnType<typeof openSession>>;
    try {
      opened = await openSession({
        sessions: this.o.sessions,
        body: sessionBody(this.take, info),
        closed: () => this.closed,
        discarded: () => this.discarded,
        onTransientError: (err) => this.noteError(err),
        backoff: (failures) => this.backoff(failures),
      });
    } catch (err) {
      if (err instanceof ApiError && err.status !== 0) {
        this.problem = { code: err.code, message: `The server refused to open this take: ${err.message}` };
        this.notify();
      }
      throw err;
    }
    this.reachable = true;
    if (opened.projectDropped) this.projectDropped = true;
    this.take = await this.store.update(this.take.id, { sessionId: opened.session.id });
    if (this.closed) throw new ApiError(0, 'ABORTED', 'The take was closed');
    return opened.session.id;
  }

  /**
   * The server threw this take's session away (discarded elsewhere, or closed without a recording)
   * while every byte is still in IndexedDB: forget the old session and upload and send the whole take
   * again as a new session + upload. The old upload is only stopped (the server owns it now).
   */
  async startOver(info: LinkInfo): Promise<void> {
    await this.upload?.abort(false).catch(() => undefined);
    this.upload = undefined;
    this.heartbeat.stop();
    this.linking = undefined;
    this.serverBytes = 0;
    this.take = await this.store.forgetServer(this.take.id);
    this.notify();
    return this.link(info);
  }

  /** A heartbeat's outcome: an answer means the server is reachable again. */
  private heardBack(err: unknown): void {
    if (err !== undefined) {
      this.noteError(err);
      return;
    }
    if (this.reachable) return;
    this.reachable = true;
    this.notify();
  }

  private noteError(err: unknown): void {
    const e = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
    this.reachable = !(e.status === 0 || e.status >= 500);
    if (!e.transient) this.problem = { code: e.code, message: e.message };
    this.notify();
  }

  /** Waits 1 s, 2 s, 4 s … (cap maxBackoffMs), or until the browser says it is online again. */
  async backoff(failures: number): Promise<void> {
    const ms = Math.min(1000 * 2 ** failures, this.o.maxBackoffMs ?? 30_000);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** Retries a server call on transient failures until it succeeds; a refusal (4xx) is thrown. */
  async persist<T>(fn: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      try {
        const v = await fn();
        this.reachable = true;
        return v;
      } catch (err) {
        if (!(err instanceof ApiError) || !err.transient) throw err;
        this.noteError(err);
        if (this.closed) throw err;
        await this.backoff(failures);
      }
    }
  }

  /** The page is going away mid-take: tell the server now (keepalive survives the unload). */
  interruptOnUnload(): void {
    if (!this.closed) this.heartbeat.interruptOnUnload();
  }

  /** A page restored from the back/forward cache: the heartbeat re-activates the interrupted session. */
  resumeAfterShow(): void {
    if (!this.closed) this.heartbeat.beatOnce();
  }

  /** sha256 (hex) of the take's bytes: the running hash when every byte went through it, else IndexedDB. */
  async digest(): Promise<string> {
    if (this.hasher && this.hashedBytes === this.source.size) return toHex(this.hasher.clone().digest());
    const h = sha256.create();
    await this.store.forEachChunk(this.take.id, (b) => h.update(b));
    return toHex(h.digest());
  }

  /** Ends everything this page does for the take (timers, upload, lock); the stored data stays. */
  async close(abortUpload = true): Promise<void> {
    this.closed = true;
    this.heartbeat.stop();
    this.wake?.();
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline);
    for (const u of this.unhook) u();
    this.unhook = [];
    if (abortUpload) await this.upload?.abort(false);
    this.release?.();
    this.release = undefined;
  }
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
