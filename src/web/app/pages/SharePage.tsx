import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../../persist/api.ts';
import { timelineMs } from '../comments-model.ts';
import { CommentMarkers } from '../components/comments/CommentMarkers.tsx';
import { CommentsPanel } from '../components/comments/CommentsPanel.tsx';
import { useGuestComments } from '../components/comments/useCommentsView.ts';
import { ErrorText } from '../components/ErrorText.tsx';
import { MediaView } from '../components/MediaView.tsx';
import { formatDateTime, formatDuration, modeLabel } from '../format.ts';
import { GuestIdentity } from '../guest-identity.ts';
import { errorText } from '../hooks/util.ts';
import { type SharedRecording, shareRefusal, VisitorClient, withAccess } from '../share-client.ts';

type State =
  | { kind: 'loading' }
  | { kind: 'password'; error: string | null }
  | { kind: 'refused'; title: string; text: string }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; shared: SharedRecording };

/**
 * /s/:token, for anyone with the link and without signing in: no session call, no cookie. A password
 * link asks for its password first; the grant it earns lives in this tab (sessionStorage) for 12 h.
 */
export function SharePage({ token }: { token: string }) {
  const identity = useMemo(() => new GuestIdentity(token), [token]);
  const visitor = useMemo(() => new VisitorClient(token, () => identity.access()), [token, identity]);
  const [state, setState] = useState<State>({ kind: 'loading' });

  const open = useCallback(async () => {
    try {
      setState({ kind: 'ready', shared: await visitor.open() });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SHARE_PASSWORD_REQUIRED') {
        identity.forgetAccess();
        return setState({ kind: 'password', error: null });
      }
      const refusal = shareRefusal(err);
      setState(refusal ? { kind: 'refused', ...refusal } : { kind: 'error', message: errorText(err) });
    }
  }, [visitor, identity]);
  useEffect(() => void open(), [open]);

  useEffect(() => {
    const title = state.kind === 'ready' ? state.shared.recording.title : 'Shared recording';
    document.title = `${title} · Recorder`;
  }, [state]);

  const unlock = async (password: string) => {
    try {
      const grant = await visitor.unlock(password);
      identity.saveAccess(grant.access, grant.expiresAt);
      await open();
    } catch (err) {
      const refusal = shareRefusal(err);
      if (refusal) return setState({ kind: 'refused', ...refusal });
      setState({ kind: 'password', error: errorText(err) });
    }
  };

  return (
    <main className="share-page">
      <p className="brand-line">Recorder</p>
      {state.kind === 'loading' && <p role="status">Loading…</p>}
      {state.kind === 'password' && <PasswordForm error={state.error} onUnlock={unlock} />}
      {state.kind === 'refused' && (
        <section data-testid="share-refused">
          <h1>{state.title}</h1>
          <p>{state.text}</p>
        </section>
      )}
      {state.kind === 'error' && (
        <section role="alert">
          <h1>The recording could not be loaded</h1>
          <p>{state.message}</p>
          <button type="button" onClick={() => void open()}>
            Try again
          </button>
        </section>
      )}
      {state.kind === 'ready' && <SharedView token={token} identity={identity} shared={state.shared} />}
    </main>
  );
}

function PasswordForm({ error, onUnlock }: { error: string | null; onUnlock(password: string): Promise<void> }) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const password = String(new FormData(e.currentTarget).get('password') ?? '');
    if (!password) return;
    setBusy(true);
    await onUnlock(password);
    setBusy(false);
  };
  return (
    <section>
      <h1>Password-protected recording</h1>
      <form className="share-password" onSubmit={(e) => void submit(e)}>
        <p className="field">
          <label htmlFor={`${id}-pw`}>Password</label>
          {/* biome-ignore lint/a11y/noAutofocus: the page asks for nothing else */}
          <input id={`${id}-pw`} name="password" type="password" autoComplete="current-password" autoFocus />
        </p>
        <ErrorText error={error} className="form-error" />
        <button type="submit" className="primary" disabled={busy}>
          Open
        </button>
      </form>
    </section>
  );
}

function SharedView({ token, identity, shared }: { token: string; identity: GuestIdentity; shared: SharedRecording }) {
  const media = useRef<HTMLMediaElement | null>(null);
  const { recording, share } = shared;
  const canComment = share.permissions.includes('comment');
  const view = useGuestComments(token, identity, media, canComment);
  const access = identity.access();
  const [durationMs, setDurationMs] = useState(() => timelineMs(undefined, undefined, recording.duration));
  useEffect(() => {
    const element = media.current;
    if (!element) return;
    const update = () => setDurationMs(timelineMs(element.duration, undefined, recording.duration));
    element.addEventListener('durationchange', update);
    return () => element.removeEventListener('durationchange', update);
  }, [recording.duration]);

  return (
    <article className="player-page">
      <div className="page-head">
        <h1>{recording.title}</h1>
        {recording.downloadUrl && (
          <div className="actions">
            <a className="button" href={withAccess(recording.downloadUrl, access)} download>
              Download
            </a>
          </div>
        )}
      </div>
      {recording.mediaUrl ? (
        <MediaView
          src={withAccess(recording.mediaUrl, access)}
          audio={recording.recordingType === 'audio'}
          title={recording.title}
          mediaRef={media}
        />
      ) : (
        <p className="notice">The media is not available yet.</p>
      )}
      {canComment && <CommentMarkers threads={view.threads} durationMs={durationMs} media={media} />}
      {recording.description && <p className="description">{recording.description}</p>}
      <p className="muted">
        {modeLabel(recording.recordingType)} · {formatDuration(recording.duration)} ·{' '}
        <time dateTime={recording.createdAt}>{formatDateTime(recording.createdAt)}</time>
      </p>
      {canComment && <CommentsPanel {...view} />}
    </article>
  );
}
