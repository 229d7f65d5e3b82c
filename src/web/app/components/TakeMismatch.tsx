import { useEffect, useState, type ReactNode } from 'react';
import { takeBlob } from '../../persist/library.ts';
import type { UnfinishedTake } from '../../persist/recovery.ts';
import type { LocalTake, TakeStore } from '../../persist/take-store.ts';
import { errorText, useObjectUrl } from '../hooks/util.ts';
import { Link } from '../router.tsx';

/** What a person is told when the server's size or sha256 differs from the bytes this browser holds. */
export const MISMATCH_TEXT =
  "The server's copy of this take doesn't match what this browser recorded. " +
  'Your full take is still safe in this browser.';
/** The same, when the check found the recording deleted on the server (recovery's 404 reason). */
export const GONE_TEXT = 'The server no longer has this take. Your full take is still safe in this browser.';

const gone = (problem?: string) => !!problem && /no longer on the server/i.test(problem);

function extensionOf(mime: string): string {
  if (/mp4/i.test(mime)) return 'mp4';
  if (/ogg/i.test(mime)) return 'ogg';
  if (/wav/i.test(mime)) return 'wav';
  return 'webm';
}

/** A file name the usual file systems accept: the take's title without path or reserved characters. */
function fileName(title: string | undefined, mime: string): string {
  const base =
    (title ?? '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must go from a file name
      .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 120) || 'recording';
  return `${base}.${extensionOf(mime)}`;
}

/**
 * A download link for the whole take as this browser recorded it: the copy to trust when the server's
 * differs. The blob is read once from IndexedDB; its object URL is revoked when the link goes away.
 */
export function DownloadTake({ store, localId, title }: { store: TakeStore; localId: string; title?: string }) {
  const [blob, setBlob] = useState<Blob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const url = useObjectUrl(blob);

  useEffect(() => {
    let live = true;
    setBlob(null);
    setError(null);
    takeBlob(store, localId).then(
      (b) => live && setBlob(b),
      (err) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [store, localId]);

  if (error)
    return (
      <span className="error-text" role="alert">
        The take could not be read from this browser: {error}
      </span>
    );
  if (!url || !blob) return <span className="muted">Preparing the download…</span>;
  return (
    <a className="button small" href={url} download={fileName(title, blob.type)}>
      Download the take
    </a>
  );
}

/** The problem in plain words, then the ways out: the local bytes, the server's copy, another upload. */
export function MismatchActions(p: {
  store: TakeStore;
  localId: string;
  title?: string;
  recordingId?: string;
  /** The technical reason (sizes, hashes), shown under the plain words for whoever has to look into it. */
  detail?: string;
  busy: boolean;
  error?: string | null;
  /** Announce it (the answer to the click just made); a list shown on load stays quiet. */
  alert?: boolean;
  onRetry(): void;
  /** More actions after "Try again" (the recovery list's Discard). */
  children?: ReactNode;
}) {
  const deleted = gone(p.detail);
  return (
    <div className="notice error take-problem" role={p.alert ? 'alert' : undefined}>
      <p>{deleted ? GONE_TEXT : MISMATCH_TEXT}</p>
      {p.detail && <p className="small-print">{p.detail}</p>}
      {p.error && <p className="small-print">Trying again failed: {p.error}</p>}
      <div className="actions">
        <DownloadTake store={p.store} localId={p.localId} title={p.title} />
        {p.recordingId && !deleted && (
          <Link to={`/recordings/${p.recordingId}`} className="button small">
            Open the server's copy
          </Link>
        )}
        <button type="button" className="small primary" onClick={p.onRetry} disabled={p.busy}>
          {p.busy ? 'Sending the take again…' : 'Try again'}
        </button>
        {p.children}
      </div>
    </div>
  );
}

/** The unfinished-take entry recovery works from, for a take this page kept and whose check failed. */
export function unfinishedFromLocal(take: LocalTake): UnfinishedTake {
  return {
    localId: take.id,
    ...(take.sessionId ? { sessionId: take.sessionId } : {}),
    mode: take.mode,
    startedAt: take.startedAt,
    localBytes: take.bytes,
    serverBytes: take.serverOffset ?? 0,
    durationMs: take.durationMs,
    where: 'local',
    ...(take.title ? { title: take.title } : {}),
    ...(take.recordingId ? { recordingId: take.recordingId } : {}),
    ...(take.problem ? { problem: take.problem } : {}),
  };
}
