/**
 * Takes a page started and never finished (tab closed, browser killed, crash, power cut), found on the
 * next load from both sides: IndexedDB takes not kept whose Web Lock is free (no live page owns them),
 * and the server's unfinished sessions. The two are matched by sessionId.
 *
 * Recovering uploads what the server lacks from IndexedDB (the upload resumes at the server's offset),
 * then runs the ordinary keep (details, Upload-Length, Recording-Id, size + sha256 check, local copy
 * deleted). A take the server holds but this browser does not (another device, cleared storage) is
 * finished with the zero-byte final PATCH declaring Upload-Length = the server's offset.
 */
import { ApiError, apiClient, type ApiClient } from './api.ts';
import { defaultTitle } from '../../shared/take-names.ts';
import { isTakeLockFree } from './locks.ts';
import type { UploadRefusal } from './refusal.ts';
import { Sessions, type ServerSession } from './sessions.ts';
import type { RecordingMode } from '../recorder/modes.ts';
import { TakeSource } from './take-source.ts';
import type { LocalTake, TakeStore } from './take-store.ts';
import type { TakeManager } from './take-manager.ts';
import { LiveUpload } from './uploader.ts';

export interface UnfinishedTake {
  localId?: string;
  sessionId?: string;
  mode: RecordingMode;
  startedAt: string;
  localBytes: number;
  serverBytes: number;
  durationMs: number;
  where: 'local' | 'server' | 'both';
  title?: string;
  /** The server's session, when it answered (its upload: URL and offset). */
  session?: ServerSession;
  /**
   * Uploaded, but the check failed (size/sha256 differ, the recording was deleted …): the local copy
   * is kept and this says why. recoverTake sends it again as a new recording; the old one stays.
   */
  problem?: string;
  /** The recording the failed check was about (state `uploaded` only). */
  recordingId?: string;
  /**
   * The server refused the take's upload for good (not media it accepts, too large …): nothing was cut
   * off, the local copy is the only one. recoverTake sends it again as a fresh upload.
   */
  refused?: UploadRefusal;
}

export interface FindOptions {
  client?: ApiClient;
  /** Filled when the server could not be asked: the list then holds local takes only. */
  onServerError?: (err: ApiError) => void;
}

const OPEN_STATES = new Set<LocalTake['state']>(['recording', 'stopped']);
/** An uploaded take whose check failed is offered too: its local copy is the one known-good one. */
const offered = (t: LocalTake) => OPEN_STATES.has(t.state) || (t.state === 'uploaded' && !!t.problem);
/** A session heard from this recently may still be recording on another device: not ours to finish. */
const LIVE_ELSEWHERE_MS = 30_000;

export async function findUnfinishedTakes(
  store: TakeStore,
  userId: string,
  storage: 'server' | 'browser',
  opts: FindOptions = {},
): Promise<UnfinishedTake[]> {
  const all = await store.list(userId);
  const free = new Map<string, boolean>();
  await Promise.all(all.map(async (t) => free.set(t.id, await isTakeLockFree(t.id))));
  const local = all.filter((t) => offered(t) && free.get(t.id));
  // Sessions a local take of ours stands for, whatever its state: a take live in another tab, or kept
  // and being verified, is not offered as a server-only take.
  const localSessions = new Map(all.filter((t) => t.sessionId).map((t) => [t.sessionId!, t]));

  let sessions: ServerSession[] = [];
  if (storage === 'server') {
    try {
      sessions = await new Sessions(opts.client ?? apiClient()).unfinished();
    } catch (err) {
      opts.onServerError?.(err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err)));
    }
  }
  const bySession = new Map(sessions.map((s) => [s.id, s]));
  const out: UnfinishedTake[] = local.map((t) => {
    const s = t.sessionId ? bySession.get(t.sessionId) : undefined;
    return {
      localId: t.id,
      ...(t.sessionId ? { sessionId: t.sessionId } : {}),
      mode: t.mode,
      startedAt: t.startedAt,
      localBytes: t.bytes,
      serverBytes: s?.upload?.offset ?? t.serverOffset ?? 0,
      durationMs: t.durationMs,
      where: s ? 'both' : 'local',
      ...(t.title ? { title: t.title } : {}),
      ...(s ? { session: s } : {}),
      ...(t.state === 'uploaded' && t.problem
        ? { problem: t.problem, ...(t.recordingId ? { recordingId: t.recordingId } : {}) }
        : {}),
      ...(t.uploadRefused ? { refused: t.uploadRefused } : {}),
    };
  });
  for (const s of sessions) {
    if (localSessions.has(s.id)) continue;
    out.push({
      sessionId: s.id,
      mode: s.recordingType as RecordingMode,
      startedAt: s.startedAt,
      localBytes: 0,
      serverBytes: s.upload?.offset ?? 0,
      durationMs: (s.duration ?? 0) * 1000,
      where: 'server',
      ...(s.take?.title ? { title: s.take.title } : {}),
      session: s,
    });
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** Finishes an unfinished take into a recording (server mode) or a kept local take (browser mode). */
export async function recoverTake(
  store: TakeStore,
  manager: TakeManager,
  t: UnfinishedTake,
  details: { title?: string } = {},
): Promise<{ recordingId?: string; localId?: string; verified?: boolean; problem?: string; refused?: UploadRefusal }> {
  if (t.localId) {
    let take = await store.get(t.localId);
    if (!take) throw new ApiError(404, 'TAKE_NOT_FOUND', 'This take is no longer stored in this browser');
    if (take.state === 'uploaded') {
      if (!take.problem)
        throw new ApiError(409, 'TAKE_UPLOADED', 'This take was uploaded already; verifyUploadedTakes checks it');
      if (!(await isTakeLockFree(take.id))) throw new ApiError(409, 'TAKE_IN_USE', 'This take is open in another tab');
      // The server's copy is wrong or gone: send ours again as a new session + upload (a new
      // recording; the old one stays for the user to compare or delete). A crash from here on leaves
      // an ordinary stopped take, offered for recovery again.
      take = await store.forgetServer(take.id, {
        state: 'stopped',
        metadata: {
          ...(take.metadata ?? {}),
          ...(take.recordingId ? { resentAfterFailedCheckOf: take.recordingId } : {}),
        },
      });
    } else if (take.uploadRefused) {
      // Only the user's "Try again" gets here: a fresh upload of the local copy, on the same session.
      take = await manager.forgetRefusedUpload(take.id);
    } else if (manager.storage === 'server' && t.session) await manager.adopt(take.id, t.session);
    const title = details.title ?? take.title ?? defaultTitle(take.mode, take.startedAt, true);
    return manager.keep(take.id, {
      title,
      ...(take.description !== undefined ? { description: take.description } : {}),
      ...(take.projectId !== undefined ? { projectId: take.projectId } : {}),
      metadata: { ...(take.metadata ?? {}), recovered: true },
    });
  }
  if (!t.sessionId)
    throw new ApiError(400, 'NOTHING_TO_RECOVER', 'This take has neither a local copy nor a server session');
  return finishServerOnly(manager, t, details.title);
}

/** The server's bytes are all there is: declare them complete (zero-byte PATCH, Upload-Length = offset). */
async function finishServerOnly(
  manager: TakeManager,
  t: UnfinishedTake,
  title?: string,
): Promise<{ recordingId: string }> {
  const sessions = manager.sessions;
  // Asked afresh: the list may be minutes old, and the heartbeat decides whose take this is.
  const s = await sessions.get(t.sessionId!);
  if (s.recordingId) return { recordingId: s.recordingId };
  const heardMsAgo = Date.now() - Date.parse(s.lastHeartbeatAt ?? s.startedAt);
  if (s.status === 'active' && heardMsAgo < LIVE_ELSEWHERE_MS) {
    throw new ApiError(
      409,
      'TAKE_STILL_RECORDING',
      'This take is still being recorded on another device or tab ' +
        `(last heard from ${Math.max(0, Math.round(heardMsAgo / 1000))} s ago). ` +
        'Finish it there, or try again once it has stopped.',
    );
  }
  if (!s.upload?.offset)
    throw new ApiError(
      409,
      'NOTHING_TO_RECOVER',
      'The server received no bytes of this take, and this browser has no copy of it',
    );
  const durationMs = Math.round(t.durationMs || (s.duration ?? 0) * 1000);
  await sessions.update(s.id, {
    title: title ?? s.take?.title ?? defaultTitle(t.mode, t.startedAt, true),
    ...(durationMs >= 1 ? { durationMs } : {}),
    metadata: { recovered: true },
  });
  const path = s.upload.url.replace(/^https?:\/\/[^/]+/, '');
  const source = new TakeSource(undefined, `session-${s.id}`, 0);
  source.finalize();
  const upload = new LiveUpload({
    endpoint: manager.client.absolute('/api/uploads'),
    uploadUrl: manager.client.absolute(path),
    metadata: {},
    ...(manager.uploadHeaders ? { headers: manager.uploadHeaders } : {}),
    source,
    lookupRecording: async () => (await sessions.get(s.id)).recordingId ?? undefined,
  });
  upload.start();
  const { recordingId } = await upload.done;
  return { recordingId };
}

/** The user chose not to keep it: local copy deleted, session discarded, upload deleted (best effort). */
export async function dropUnfinished(
  store: TakeStore,
  t: UnfinishedTake,
  client: ApiClient = apiClient(),
): Promise<void> {
  const take = t.localId ? await store.get(t.localId) : undefined;
  if (take && !(await isTakeLockFree(take.id)))
    throw new ApiError(409, 'TAKE_IN_USE', 'This take is open in another tab');
  const sessionId = t.sessionId ?? take?.sessionId;
  const uploadUrl = take?.uploadUrl ?? t.session?.upload?.url;
  if (uploadUrl) {
    const path = uploadUrl.replace(/^https?:\/\/[^/]+/, '');
    await client.request('DELETE', path, undefined, { headers: { 'Tus-Resumable': '1.0.0' } }).catch(() => undefined);
  }
  if (sessionId)
    await new Sessions(client).discard(sessionId).catch((err: unknown) => {
      // A local-only drop must still work offline; a server-only one must not pretend it worked.
      if (!take) throw err;
    });
  if (take) await store.delete(take.id);
}

/**
 * Takes whose upload finished but whose check did not complete (the page died between the two, or the
 * server's hash differed): check again, and delete the local copy when it now matches. One attempt per
 * take and one take's failure never stops the others: a recording deleted on the server (404) keeps
 * the local copy with the reason (findUnfinishedTakes then offers it); no answer (offline) leaves the
 * take as it is for the next load.
 */
export async function verifyUploadedTakes(
  store: TakeStore,
  manager: TakeManager,
): Promise<{ localId: string; verified: boolean; problem?: string }[]> {
  const out: { localId: string; verified: boolean; problem?: string }[] = [];
  for (const take of await store.list(manager.userId)) {
    if (take.state !== 'uploaded' || !take.recordingId || !(await isTakeLockFree(take.id))) continue;
    let t: Awaited<ReturnType<TakeManager['adopt']>>;
    try {
      t = await manager.adopt(take.id);
    } catch {
      continue; // another tab took it meanwhile: that tab checks it
    }
    try {
      const r = await manager.verify(t, take.recordingId, { retry: false });
      out.push({ localId: take.id, verified: !!r.verified, ...(r.problem ? { problem: r.problem } : {}) });
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
      if (e.status === 404) {
        const problem = `Recording ${take.recordingId} is no longer on the server; the local copy is kept`;
        await store.update(take.id, { problem }).catch(() => undefined);
        out.push({ localId: take.id, verified: false, problem });
      } else {
        out.push({
          localId: take.id,
          verified: false,
          problem: `Could not check this take now (${e.message}); it is checked again next time`,
        });
      }
    } finally {
      await t.close(true);
      manager.forget(take.id);
    }
  }
  return out;
}
