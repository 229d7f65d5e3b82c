import { useEffect, useId, useState, type FormEvent } from 'react';
import { recoverTake } from '../../persist/recovery.ts';
import type { UploadRefusal } from '../../persist/refusal.ts';
import type { KeepResult, TakeManager } from '../../persist/take-manager.ts';
import { MODES } from '../../recorder/modes.ts';
import { defaultTitle, formatBytes, formatDuration } from '../format.ts';
import type { Finished } from '../hooks/useTake.ts';
import { useProjects } from '../hooks/useProjects.ts';
import { errorText, useObjectUrl } from '../hooks/util.ts';
import { navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ConfirmDialog } from './ConfirmDialog.tsx';
import { fixUnknownDuration } from './MediaView.tsx';
import { MismatchActions, unfinishedFromLocal } from './TakeMismatch.tsx';
import { RefusedActions } from './TakeRefused.tsx';

/**
 * The last slice reaches IndexedDB just after the recorder's `stopped`; the manager reports the take
 * 'stopped' once it is written. Waits for that (5 s at most) so the preview has the whole take.
 */
function waitStored(manager: TakeManager, takeId: string): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    let off: (() => void) | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off?.();
      resolve();
    };
    const timer = setTimeout(finish, 5000);
    off = manager.onStatus((s) => s.takeId === takeId && s.state !== 'recording' && finish());
    if (done) off();
    if (!manager.status(takeId)) finish();
  });
}

type Saving = { kind: 'idle' } | { kind: 'saving'; sent: number; total: number } | { kind: 'failed'; message: string };

/** The upload finished but the server's size or sha256 differs: the local copy was kept. */
type Mismatch = {
  localId: string;
  recordingId?: string;
  problem?: string;
  title: string;
  retrying: boolean;
  error: string | null;
};

/** The server refused the upload for good: nothing was uploaded, the local copy stays for Try again. */
type Refused = { refusal: UploadRefusal; title: string; refusedAgain: number; retrying: boolean; error: string | null };

const LEAVE_NOTE =
  'If you leave this page, the take stays in this browser and is offered again at the top of your library.';

/** The take just recorded, played from this browser, with the details it will be kept under. */
export function Review({ f, onDone }: { f: Finished; onDone(): void }) {
  const { store, manager, storage } = useSession();
  const id = useId();
  const [blob, setBlob] = useState<Blob | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const url = useObjectUrl(blob);
  const { projects } = useProjects(storage === 'server');
  const [saving, setSaving] = useState<Saving>({ kind: 'idle' });
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  const [mismatch, setMismatch] = useState<Mismatch | null>(null);
  const [refused, setRefused] = useState<Refused | null>(null);
  const [title] = useState(() => defaultTitle(f.mode, new Date(f.take.startedAt)));
  const video = MODES[f.mode].video;

  useEffect(() => {
    let live = true;
    waitStored(manager, f.take.id)
      .then(() => store.blob(f.take.id))
      .then(
        (b) => live && setBlob(b),
        (err) => live && setLoadError(errorText(err)),
      );
    return () => {
      live = false;
    };
  }, [store, manager, f.take.id]);

  async function keep(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const t = String(d.get('title') ?? '').trim() || title;
    const description = String(d.get('description') ?? '').trim() || undefined;
    const projectId = String(d.get('project') ?? '') || null;
    setSaving({ kind: 'saving', sent: 0, total: blob?.size ?? 0 });
    try {
      // Why a take ended early (screen share stopped, device lost) stays on its session and recording.
      const meta = {
        ...(f.slideChanges.length ? { slides: f.slideChanges } : {}),
        ...(f.endedBy ? { endedBy: f.endedBy } : {}),
      };
      const metadata = Object.keys(meta).length ? meta : undefined;
      const r = await manager.keep(f.take.id, { title: t, description, projectId, metadata }, (sent, total) =>
        setSaving({ kind: 'saving', sent, total }),
      );
      setSaving({ kind: 'idle' });
      settle(r, t);
    } catch (err) {
      setSaving({ kind: 'failed', message: errorText(err) });
    }
  }

  /**
   * Where a kept (or re-sent) take goes: its recording; or it stays here, saying that the server refused
   * the upload, or that the server's copy failed the check.
   */
  function settle(r: KeepResult | Awaited<ReturnType<typeof recoverTake>>, keptTitle: string, refusedAgain = 0) {
    setMismatch(null);
    setRefused(null);
    if (r.refused) {
      setRefused({ refusal: r.refused, title: keptTitle, refusedAgain, retrying: false, error: null });
      return;
    }
    if (r.verified === false) {
      // Stay: leaving would hide that the server's copy is not the take (the local one is the good one).
      setMismatch({
        localId: r.localId ?? f.take.id,
        ...(r.recordingId ? { recordingId: r.recordingId } : {}),
        ...(r.problem ? { problem: r.problem } : {}),
        title: keptTitle,
        retrying: false,
        error: null,
      });
      return;
    }
    onDone();
    navigate(r.recordingId ? `/recordings/${r.recordingId}` : `/local/${r.localId ?? f.take.id}`);
  }

  /** Try again after a refusal: a fresh upload of the local copy; refused again, it says so again. */
  async function retryRefused(rf: Refused) {
    setRefused({ ...rf, retrying: true, error: null });
    try {
      settle(await manager.retryUpload(f.take.id), rf.title, rf.refusedAgain + 1);
    } catch (err) {
      setRefused({ ...rf, retrying: false, error: errorText(err) });
    }
  }

  /** Sends the whole take again (recovery's path for a take whose check failed). */
  async function retry(m: Mismatch) {
    setMismatch({ ...m, retrying: true, error: null });
    try {
      const take = await store.get(m.localId);
      if (!take) throw new Error('This take is no longer stored in this browser');
      settle(await recoverTake(store, manager, unfinishedFromLocal(take), { title: take.title ?? m.title }), m.title);
    } catch (err) {
      setMismatch({ ...m, retrying: false, error: errorText(err) });
    }
  }

  const busy = saving.kind === 'saving';
  const discardDialog = (
    <ConfirmDialog
      open={confirmDiscard}
      title="Discard this take?"
      confirmLabel="Yes, throw it away"
      danger
      onCancel={() => setConfirmDiscard(false)}
      onConfirm={async () => {
        await manager.discard(f.take.id);
        setConfirmDiscard(false);
        onDone();
      }}
    >
      <p>
        The recording will be deleted from this browser{storage === 'server' ? ' and the server' : ''}. This cannot be
        undone.
      </p>
    </ConfirmDialog>
  );
  if (refused) {
    return (
      <section className="review" aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`}>Your recording was not uploaded</h2>
        <div className="review-grid">
          <div className="review-media">
            <LocalTakePlayer url={url} video={video} durationMs={f.durationMs} bytes={blob?.size} />
          </div>
          <div>
            <RefusedActions
              alert
              store={store}
              localId={f.take.id}
              title={refused.title}
              refusal={refused.refusal}
              refusedAgain={refused.refusedAgain}
              busy={refused.retrying}
              error={refused.error}
              onRetry={() => void retryRefused(refused)}
            >
              <button
                type="button"
                className="small"
                onClick={() => setConfirmDiscard(true)}
                disabled={refused.retrying}
              >
                Discard
              </button>
            </RefusedActions>
            <p className="muted small-print">{LEAVE_NOTE}</p>
          </div>
        </div>
        {discardDialog}
      </section>
    );
  }
  if (mismatch) {
    return (
      <section className="review" aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`}>Your recording was not saved as recorded</h2>
        <div className="review-grid">
          <div className="review-media">
            <LocalTakePlayer url={url} video={video} durationMs={f.durationMs} bytes={blob?.size} />
          </div>
          <div>
            <MismatchActions
              alert
              store={store}
              localId={mismatch.localId}
              title={mismatch.title}
              recordingId={mismatch.recordingId}
              detail={mismatch.problem}
              busy={mismatch.retrying}
              error={mismatch.error}
              onRetry={() => void retry(mismatch)}
            />
            <p className="muted small-print">{LEAVE_NOTE}</p>
          </div>
        </div>
      </section>
    );
  }
  return (
    <section className="review" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Review your recording</h2>
      {f.endedBy && (
        <p className="notice warn" role="status">
          {f.endedBy.message}
        </p>
      )}
      <div className="review-grid">
        <div className="review-media">
          {loadError && (
            <p className="error-text" role="alert">
              The take could not be read back from this browser: {loadError}
            </p>
          )}
          <LocalTakePlayer url={url} video={video} durationMs={f.durationMs} bytes={blob?.size} />
        </div>
        <form className="review-form" onSubmit={keep}>
          <div className="field">
            <label htmlFor={`${id}-title`}>Title</label>
            <input id={`${id}-title`} name="title" defaultValue={title} maxLength={300} required disabled={busy} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-desc`}>Description</label>
            <textarea id={`${id}-desc`} name="description" rows={3} maxLength={10000} disabled={busy} />
          </div>
          {storage === 'server' && (
            <div className="field">
              <label htmlFor={`${id}-proj`}>Project</label>
              <select id={`${id}-proj`} name="project" defaultValue={f.take.projectId ?? ''} disabled={busy}>
                <option value="">No project</option>
                {projects
                  .filter((p) => p.role !== 'viewer')
                  .map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
              </select>
            </div>
          )}
          <div aria-live="polite" className="save-progress">
            {saving.kind === 'saving' && (
              <>
                <progress
                  max={saving.total || undefined}
                  value={saving.total ? saving.sent : undefined}
                  aria-label="Saving"
                />
                <span>
                  {storage === 'server'
                    ? saving.total && saving.sent >= saving.total
                      ? 'Checking the server has every byte…'
                      : `Uploading ${formatBytes(saving.sent)} of ${formatBytes(saving.total)}…`
                    : 'Saving…'}
                </span>
              </>
            )}
          </div>
          {saving.kind === 'failed' && (
            <p className="error-text" role="alert">
              Not saved yet: {saving.message}. The take is still safe in this browser; try Keep again.
            </p>
          )}
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              Keep
            </button>
            <button type="button" onClick={() => setConfirmDiscard(true)} disabled={busy}>
              Discard
            </button>
          </div>
        </form>
      </div>
      {discardDialog}
    </section>
  );
}

/** The take as this browser holds it: plays from the local blob, with its length and size. */
function LocalTakePlayer({
  url,
  video,
  durationMs,
  bytes,
}: {
  url: string | null | undefined;
  video: boolean;
  durationMs: number;
  bytes: number | undefined;
}) {
  return (
    <>
      {url &&
        (video ? (
          // biome-ignore lint/a11y/useMediaCaption: the take just recorded: there is no caption track to offer
          <video
            src={url}
            controls
            playsInline
            aria-label="Your recording"
            onLoadedMetadata={(e) => fixUnknownDuration(e.currentTarget)}
          />
        ) : (
          // biome-ignore lint/a11y/useMediaCaption: the take just recorded: there is no caption track to offer
          <audio
            src={url}
            controls
            aria-label="Your recording"
            onLoadedMetadata={(e) => fixUnknownDuration(e.currentTarget)}
          />
        ))}
      <p className="muted">
        {formatDuration(durationMs / 1000)} · {formatBytes(bytes)} · saved in this browser
      </p>
    </>
  );
}
