/**
 * Binds a Recorder to the store, the server session and the live upload — the "never lose a take"
 * promise in one place (docs/never-lose-a-take.md says what is safe where at each moment).
 *
 *  begin  → local take (IndexedDB) + Web Lock; every chunk: IndexedDB first (awaited, in order), then
 *           the live upload; in server mode the session and upload are created alongside, retried
 *           until the server answers.
 *  keep   → browser mode: state 'kept'. Server mode: session details (PATCH), finalize the upload
 *           (Upload-Length), Recording-Id, then GET the recording and compare upload_size and
 *           upload_sha256 with the local bytes; the local copy is deleted only when both match.
 *           An upload the server refused for good ends keep with the refusal (the local copy stays);
 *           retryUpload is the user's "Try again": a fresh upload of the local copy.
 *  discard→ tus DELETE, session discarded, local take deleted.
 */
import type { MediaProblem } from '../recorder/errors.ts';
import type { RecordingMode } from '../recorder/modes.ts';
import type { Quality } from '../recorder/quality.ts';
import { ApiClient, ApiError } from './api.ts';
import { type KeepDetails, keepOnServer, storedDetails } from './keep-on-server.ts';
import { LiveTake, type TakeStatus } from './live-take.ts';
import { holdLockBriefly, holdTakeLock, isTakeLockFree } from './locks.ts';
import type { UploadRefusal } from './refusal.ts';
import { getRecording, recordMediaProblem, type ServerSession, Sessions } from './sessions.ts';
import { defaultTitle } from '../../shared/take-names.ts';
import { type LocalTake, requestPersistentStorage, type TakeStore } from './take-store.ts';
import { linkInfoOf } from './take-session.ts';
import { uploadMismatch } from './verify-take.ts';

export type { KeepDetails } from './keep-on-server.ts';
export type { TakeStatus } from './live-take.ts';

/** What TakeManager needs of part C's Recorder (structural, so either side can move independently). */
export interface RecorderLike {
  readonly mimeType: string;
  on(ev: 'chunk', cb: (v: { data: Blob; seq: number; elapsedMs: number }) => void): () => void;
  on(ev: 'stopped', cb: (v: { durationMs: number; mimeType: string; reason: unknown }) => void): () => void;
  stop(): Promise<unknown>;
}

export interface TakeManagerOptions {
  store: TakeStore;
  userId: string;
  storage: 'server' | 'browser';
  fetchImpl?: typeof fetch;
  baseUrl?: string;
  /** Headers for tus requests (Node tests: cookie + Origin; browsers send the cookie themselves). */
  uploadHeaders?: Record<string, string>;
  /** tus-js-client's retry delays before our own backoff (tests shorten them). */
  uploadRetryDelays?: number[];
  /** Ceiling of every backoff (default 30 s). */
  maxBackoffMs?: number;
}

export interface BeginInfo {
  mode: RecordingMode;
  quality: Quality;
  projectId?: string | null;
  deviceInfo?: Record<string, unknown>;
  settings?: Record<string, unknown>;
}

export interface KeepResult {
  recordingId?: string;
  localId: string;
  /** Server mode: the server's size and sha256 matched ours and the local copy was deleted. */
  verified?: boolean;
  /** Why the local copy was kept after the upload. */
  problem?: string;
  /** The server refused the upload for good: nothing was uploaded, the local copy stays (retryUpload). */
  refused?: UploadRefusal;
}

function newId(): string {
  return globalThis.crypto.randomUUID();
}

export class TakeManager {
  readonly store: TakeStore;
  readonly userId: string;
  readonly storage: 'server' | 'browser';
  readonly client: ApiClient;
  readonly sessions: Sessions;
  private readonly live = new Map<string, LiveTake>();
  private readonly listeners = new Set<(s: TakeStatus) => void>();
  private readonly keeping = new Map<string, Promise<KeepResult>>();
  private askedPersist = false;
  private windowListeners: [string, (e: Event) => void][] = [];

  constructor(private readonly o: TakeManagerOptions) {
    this.store = o.store;
    this.userId = o.userId;
    this.storage = o.storage;
    this.client = new ApiClient({
      ...(o.baseUrl !== undefined ? { baseUrl: o.baseUrl } : {}),
      ...(o.fetchImpl ? { fetchImpl: o.fetchImpl } : {}),
    });
    this.sessions = new Sessions(this.client);
    if (typeof window !== 'undefined') {
      const changed = () => {
        for (const t of this.live.values()) this.emit(t);
      };
      const pagehide = () => {
        for (const t of this.live.values())
          if (t.take.state === 'recording' || t.take.state === 'stopped') t.interruptOnUnload();
      };
      const pageshow = (e: Event) => {
        if ((e as PageTransitionEvent).persisted) for (const t of this.live.values()) t.resumeAfterShow();
      };
      this.windowListeners = [
        ['pagehide', pagehide],
        ['pageshow', pageshow],
        ['online', changed],
        ['offline', changed],
      ];
      for (const [ev, fn] of this.windowListeners) window.addEventListener(ev, fn);
    }
  }

  get uploadHeaders(): Record<string, string> | undefined {
    return this.o.uploadHeaders;
  }

  /** Drops the page's runtime for a take (after close) without touching its stored data. */
  forget(takeId: string): void {
    this.live.delete(takeId);
  }

  onStatus(cb: (s: TakeStatus) => void): () => void {
    this.listeners.add(cb);
    for (const t of this.live.values()) cb(t.status());
    return () => void this.listeners.delete(cb);
  }

  status(takeId: string): TakeStatus | undefined {
    return this.live.get(takeId)?.status();
  }

  /** One listener that throws must not keep the others (or the take's own work) from going on. */
  private emit(t: LiveTake): void {
    const s = t.status();
    for (const cb of this.listeners) {
      try {
        cb(s);
      } catch (err) {
        console.warn('a take status listener threw', err);
      }
    }
  }

  private linkOptions() {
    return {
      client: this.client,
      sessions: this.sessions,
      ...(this.o.uploadHeaders ? { uploadHeaders: this.o.uploadHeaders } : {}),
      ...(this.o.uploadRetryDelays ? { uploadRetryDelays: this.o.uploadRetryDelays } : {}),
      ...(this.o.maxBackoffMs ? { maxBackoffMs: this.o.maxBackoffMs } : {}),
    };
  }

  /** Call before rec.start(): the first chunk must find the take ready. */
  async begin(rec: RecorderLike, info: BeginInfo): Promise<LocalTake> {
    const take = await this.store.create({
      id: newId(),
      userId: this.userId,
      storage: this.storage,
      mode: info.mode,
      quality: info.quality,
      mimeType: rec.mimeType,
      startedAt: new Date().toISOString(),
      projectId: info.projectId ?? null,
      ...(info.deviceInfo ? { deviceInfo: info.deviceInfo } : {}),
      ...(info.settings ? { settings: info.settings } : {}),
    });
    // Once per page is enough; the browser remembers the answer. Declining still works, with eviction risk.
    if (!this.askedPersist) {
      this.askedPersist = true;
      void requestPersistentStorage();
    }
    const t = new LiveTake(take, this.store, this.linkOptions(), () => this.emit(t), true);
    const release = await holdLockBriefly(take.id);
    if (!release) {
      // Recording without the lock would let other tabs offer this live take as abandoned (and delete it).
      await this.store.delete(take.id).catch(() => undefined);
      await t.close(false);
      throw new ApiError(
        409,
        'TAKE_LOCK_UNAVAILABLE',
        'This browser would not let the page claim the new take (Web Lock); recording was not started. Try again.',
      );
    }
    t.release = release;
    this.live.set(take.id, t);
    const stopRecorder = () => void rec.stop().catch(() => undefined);
    t.unhook.push(
      rec.on('chunk', (c) => t.addChunk(c, stopRecorder)),
      rec.on('stopped', (s) => {
        void (async () => {
          try {
            await t.queue;
            t.take = await this.store
              .update(take.id, {
                state: 'stopped',
                durationMs: s.durationMs || t.take.durationMs,
                ...(s.mimeType ? { mimeType: s.mimeType } : {}),
              })
              .catch(() => ({ ...t.take, state: 'stopped' as const }));
          } finally {
            // Whatever failed above, keep() must not wait forever for the stop.
            t.markStopped();
            this.emit(t);
          }
        })().catch((err: unknown) => console.warn('could not record the end of the take', err));
      }),
    );
    if (this.storage === 'server') void t.link(info).catch(() => undefined);
    this.emit(t);
    return take;
  }

  /**
   * Takes over a stored take no live page owns (recovery): its bytes are all in IndexedDB, the upload
   * resumes from the server's offset. Throws when another page holds its lock.
   */
  async adopt(takeId: string, session?: ServerSession): Promise<LiveTake> {
    const existing = this.live.get(takeId);
    if (existing) return existing;
    let take = await this.store.get(takeId);
    if (!take || take.userId !== this.userId)
      throw new ApiError(404, 'TAKE_NOT_FOUND', 'This take is not stored in this browser');
    const release = await holdTakeLock(takeId);
    if (!release) throw new ApiError(409, 'TAKE_IN_USE', 'This take is open in another tab');
    if (take.state === 'recording') take = await this.store.update(takeId, { state: 'stopped' });
    if (!take.uploadUrl && session?.upload?.url)
      take = await this.store.update(takeId, {
        uploadUrl: this.client.absolute(session.upload.url.replace(/^https?:\/\/[^/]+/, '')),
      });
    if (!take.sessionId && session) take = await this.store.update(takeId, { sessionId: session.id });
    const t = new LiveTake(take, this.store, this.linkOptions(), () => this.emit(t), false);
    t.release = release;
    this.live.set(takeId, t);
    // An uploaded take only needs its check (verify); the rest need their session and upload back,
    // except a refused one: its upload would only be refused again (the user's Try again sends it anew).
    const open = take.state === 'stopped' && !take.uploadRefused;
    if (open && this.storage === 'server' && take.storage === 'server')
      void t.link(linkInfoOf(take)).catch(() => undefined);
    return t;
  }

  keep(takeId: string, d: KeepDetails, onProgress?: (sent: number, total: number) => void): Promise<KeepResult> {
    let p = this.keeping.get(takeId);
    if (!p) {
      p = this.doKeep(takeId, d, onProgress).finally(() => this.keeping.delete(takeId));
      this.keeping.set(takeId, p);
    }
    return p;
  }

  private async doKeep(
    takeId: string,
    d: KeepDetails,
    onProgress?: (sent: number, total: number) => void,
  ): Promise<KeepResult> {
    const t = this.live.get(takeId) ?? (await this.adopt(takeId));
    await t.stopped;
    await t.queue;
    // A blank title would be refused by the server (400) after the user pressed Keep: name it instead.
    const title = d.title.trim() || defaultTitle(t.take.mode, t.take.startedAt, false);
    const details = {
      title,
      ...(d.description !== undefined ? { description: d.description } : {}),
      ...(d.projectId !== undefined ? { projectId: d.projectId } : {}),
      ...(d.metadata ? { metadata: d.metadata } : {}),
    };
    t.take = await this.store.update(takeId, { ...details, keepRequested: true });
    if (this.storage === 'browser' || t.take.storage === 'browser') {
      t.take = await this.store.update(takeId, { state: 'kept' });
      this.emit(t);
      await this.finishLive(t);
      return { localId: takeId };
    }
    if (t.refusal) return this.leaveRefused(t, t.refusal);
    const outcome = await keepOnServer(t, {
      sessions: this.sessions,
      details: { ...d, title },
      onStatus: (cb) => this.onStatus(cb),
      ...(onProgress ? { onProgress } : {}),
    });
    if (outcome.refused) return this.leaveRefused(t, outcome.refused);
    const { recordingId } = outcome;
    const total = t.source.size;
    t.serverBytes = total;
    t.take = await this.store.update(takeId, { state: 'uploaded', recordingId, serverOffset: total });
    this.emit(t);
    const result = await this.verify(t, recordingId);
    await this.finishLive(t);
    return result;
  }

  /**
   * Keep ends here for a refused upload: asking again would get the same answer. The page lets go of
   * the take (lock, heartbeat), so it is listed with its refusal like after a reload.
   */
  private async leaveRefused(t: LiveTake, refused: UploadRefusal): Promise<KeepResult> {
    await t.noteRefusal(refused);
    this.emit(t);
    await this.finishLive(t);
    return { localId: t.take.id, refused };
  }

  /**
   * The user's "Try again" on a take whose upload was refused: drops the refused upload (the session
   * stays) and keeps the take again with its stored details, which sends the local copy as a new upload.
   */
  async retryUpload(takeId: string, d?: KeepDetails): Promise<KeepResult> {
    const take = await this.forgetRefusedUpload(takeId);
    return this.keep(takeId, d ?? storedDetails(take));
  }

  /** Readies a refused take for a fresh upload; TAKE_IN_USE when another tab owns it. */
  async forgetRefusedUpload(takeId: string): Promise<LocalTake> {
    const live = this.live.get(takeId);
    if (live) {
      await live.stopped;
      await live.queue;
      await this.finishLive(live);
    } else if (!(await isTakeLockFree(takeId))) {
      throw new ApiError(409, 'TAKE_IN_USE', 'This take is open in another tab');
    }
    return this.store.forgetUpload(takeId);
  }

  /** Compares the server's record of the bytes with ours; deletes the local copy only on a full match. */
  async verify(t: LiveTake, recordingId: string, o: { retry?: boolean } = {}): Promise<KeepResult> {
    const rec =
      o.retry === false
        ? await getRecording(this.client, recordingId)
        : await t.persist(() => getRecording(this.client, recordingId));
    const problem = uploadMismatch(rec, t.source.size, await t.digest());
    if (problem) {
      t.take = await this.store.update(t.take.id, { problem });
      t.problem = { code: 'VERIFY_FAILED', message: problem };
      this.emit(t);
      return { recordingId, localId: t.take.id, verified: false, problem };
    }
    await this.store.delete(t.take.id);
    return { recordingId, localId: t.take.id, verified: true };
  }

  private async finishLive(t: LiveTake): Promise<void> {
    await t.close(false);
    this.live.delete(t.take.id);
  }

  /** Throws the upload away on the server (tus DELETE, session discarded) and deletes the local take. */
  async discard(takeId: string): Promise<void> {
    const t = this.live.get(takeId);
    const take = t?.take ?? (await this.store.get(takeId));
    if (t) {
      t.discarded = true;
      await t.queue.catch(() => undefined);
      await t.upload?.abort(true).catch(() => undefined);
      await t.close(false);
      this.live.delete(takeId);
    } else if (take?.uploadUrl) {
      const { Upload } = await import('tus-js-client');
      await Upload.terminate(take.uploadUrl, { headers: this.o.uploadHeaders ?? {}, retryDelays: [0, 1000] }).catch(
        () => undefined,
      );
    }
    // Best effort: a server that cannot be told now still has the session, which it later offers as unfinished.
    if (take?.sessionId) await this.sessions.discard(take.sessionId).catch(() => undefined);
    await this.store.delete(takeId);
  }

  /** A take that could not start (permission denied, no device): recorded on the server as an interrupted session. */
  async recordProblem(mode: RecordingMode, problem: MediaProblem, deviceInfo?: Record<string, unknown>): Promise<void> {
    if (this.storage === 'server') await recordMediaProblem(this.sessions, mode, problem, deviceInfo);
  }

  /** Stops this page's work on every live take (the stored data stays for recovery). */
  async close(): Promise<void> {
    for (const t of this.live.values()) await t.close(true);
    this.live.clear();
    if (typeof window !== 'undefined') for (const [ev, fn] of this.windowListeners) window.removeEventListener(ev, fn);
    this.windowListeners = [];
  }
}
