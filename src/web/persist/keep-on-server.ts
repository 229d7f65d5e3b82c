/**
 * Keep in server mode, for a take this page owns: the session's details (PATCH), then the final
 * PATCH that declares Upload-Length, answered with the Recording-Id. A session thrown away elsewhere
 * is replaced once by a new session + upload of the local copy; an upload the server refused for
 * good (refusal.ts) ends the keep with the refusal, and nothing is sent again until the user asks.
 */
import { ApiError } from './api.ts';
import type { LiveTake, TakeStatus } from './live-take.ts';
import { isUploadRefused, type UploadRefusal } from './refusal.ts';
import type { Sessions, TakeDetails } from './sessions.ts';
import { defaultTitle } from '../../shared/take-names.ts';
import type { LinkInfo } from './take-session.ts';
import type { LocalTake } from './take-store.ts';

export interface KeepDetails {
  title: string;
  description?: string;
  projectId?: string | null;
  metadata?: Record<string, unknown>;
}

export type ServerKeepOutcome = { recordingId: string; refused?: undefined } | { refused: UploadRefusal };

export interface ServerKeepOptions {
  sessions: Sessions;
  /** The details with the title already decided (a blank one is refused by the server). */
  details: KeepDetails;
  onStatus(cb: (s: TakeStatus) => void): () => void;
  onProgress?: (sent: number, total: number) => void;
}

/** The session was discarded (another tab) or closed with no recording: the take needs a new one. */
const isGone = (err: unknown) =>
  err instanceof ApiError &&
  (err.code === 'SESSION_DISCARDED' ||
    (err.code === 'SESSION_CLOSED' && !(err.details as { recordingId?: string } | undefined)?.recordingId));

export async function keepOnServer(t: LiveTake, o: ServerKeepOptions): Promise<ServerKeepOutcome> {
  const info = { mode: t.take.mode, quality: t.take.quality, projectId: t.take.projectId ?? null };
  await t.link(info);
  const patch = () => o.sessions.update(t.take.sessionId!, detailsPatch(t, o.details));
  const startOver = startOverOnce(t, info, patch);
  await t.persist(patch).catch(async (err: unknown) => {
    if (isGone(err)) return startOver(err);
    // The server finished this take already (a page died after the final PATCH, before its answer).
    // We finalize only after this PATCH succeeded, so the recording has the details: go on to
    // learn its id (the upload's HEAD finds it gone and asks the session) and verify.
    if (!(err instanceof ApiError && err.code === 'SESSION_CLOSED')) throw err;
  });
  try {
    return await finalize(t, o).catch(async (err: unknown) => {
      if (!isGone(err)) throw err;
      await startOver(err);
      return finalize(t, o);
    });
  } catch (err) {
    if (!isUploadRefused(err)) throw err;
    await t.noteRefusal(err.refusal);
    return { refused: err.refusal };
  }
}

/** What keep's PATCH /api/sessions/:id sends: the details, and the duration when it is known. */
function detailsPatch(t: LiveTake, d: KeepDetails): TakeDetails {
  // Create refused the take's project: it is set here (the user's choice at keep, else the take's).
  const projectId = d.projectId !== undefined ? d.projectId : t.projectDropped ? (t.take.projectId ?? null) : undefined;
  return {
    title: d.title,
    ...(d.description !== undefined ? { description: d.description } : {}),
    ...(projectId !== undefined ? { projectId } : {}),
    ...(t.take.durationMs >= 1 ? { durationMs: Math.round(t.take.durationMs) } : {}),
    ...(d.metadata ? { metadata: d.metadata } : {}),
  };
}

/**
 * The session was thrown away elsewhere: with every byte still here, the take becomes a new session +
 * upload instead of being lost, and gets its details again. Once: a second refusal is real.
 */
function startOverOnce(t: LiveTake, info: LinkInfo, patch: () => Promise<unknown>): (err: unknown) => Promise<void> {
  let startedOver = false;
  return async (err) => {
    if (startedOver || !t.allBytesLocal) throw err;
    startedOver = true;
    await t.startOver(info);
    await t.persist(patch);
  };
}

/** Declares the take complete (the next PATCH carries Upload-Length) and waits for its recording. */
async function finalize(t: LiveTake, o: ServerKeepOptions): Promise<{ recordingId: string }> {
  const upload = t.upload!;
  const total = t.source.size;
  if (o.onProgress) {
    const report = o.onProgress;
    report(t.serverBytes, total);
    const unsub = o.onStatus((s) => s.takeId === t.take.id && report(s.serverBytes, total));
    void upload.done.finally(unsub).catch(() => undefined);
  }
  upload.finalize();
  return { recordingId: (await upload.done).recordingId };
}

/** The details a take was kept under (stored by keep), for keeping it again. */
export function storedDetails(take: LocalTake): KeepDetails {
  return {
    title: take.title ?? defaultTitle(take.mode, take.startedAt, false),
    ...(take.description !== undefined ? { description: take.description } : {}),
    ...(take.projectId !== undefined ? { projectId: take.projectId } : {}),
    ...(take.metadata ? { metadata: take.metadata } : {}),
  };
}
