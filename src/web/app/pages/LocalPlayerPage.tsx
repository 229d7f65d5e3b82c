import { useEffect, useRef, useState } from 'react';
import { deleteKeptTake, getKeptTake, renameKeptTake } from '../../persist/library.ts';
import type { LocalTake } from '../../persist/take-store.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EditDetails } from '../components/EditDetails.tsx';
import { MediaView, SlideList, slideMarks } from '../components/MediaView.tsx';
import { formatBytes, formatDateTime, formatDuration, modeLabel } from '../format.ts';
import { errorText, useObjectUrl } from '../hooks/util.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

/** A take kept in this browser (browser-only storage): played from IndexedDB, edited there. */
export function LocalPlayerPage({ localId }: { localId: string }) {
  const { store, user } = useSession();
  const [take, setTake] = useState<LocalTake | null | undefined>(undefined);
  const [blob, setBlob] = useState<Blob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const media = useRef<HTMLMediaElement | null>(null);
  const url = useObjectUrl(blob);

  useEffect(() => {
    let live = true;
    (async () => {
      // Another account's take on a shared browser is not this user's to see (getKeptTake checks).
      const t = await getKeptTake(store, user.id, localId);
      if (!live) return;
      if (!t) return setTake(null);
      setTake(t);
      const b = await store.blob(localId);
      if (live) setBlob(b);
    })().catch((err) => live && setError(errorText(err)));
    return () => {
      live = false;
    };
  }, [store, localId, user.id]);

  if (error)
    return (
      <section>
        <h1>The recording could not be read</h1>
        <p role="alert">{error}</p>
        <Link to="/">Back to the library</Link>
      </section>
    );
  if (take === undefined) return <p role="status">Loading…</p>;
  if (take === null) {
    return (
      <section>
        <h1>Recording not found</h1>
        <p>It is not in this browser. Recordings kept in the browser only exist on the device they were made on.</p>
        <Link to="/">Back to the library</Link>
      </section>
    );
  }

  const title = take.title || 'Untitled recording';
  return (
    <article className="player-page">
      <p className="crumbs">
        <Link to="/">Library</Link>
      </p>
      {editing ? (
        <EditDetails
          title={title}
          description={take.description ?? ''}
          save={async (d) =>
            setTake(await renameKeptTake(store, user.id, localId, { title: d.title, description: d.description ?? '' }))
          }
          onClose={() => setEditing(false)}
        />
      ) : (
        <div className="page-head">
          <h1>{title}</h1>
          <div className="actions">
            <button type="button" onClick={() => setEditing(true)}>
              Edit details
            </button>
            <button type="button" className="danger-outline" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          </div>
        </div>
      )}
      {url ? (
        <MediaView src={url} audio={take.mode === 'audio'} title={title} mediaRef={media} />
      ) : (
        <p role="status">Loading the media…</p>
      )}
      {!editing && take.description && <p className="description">{take.description}</p>}
      <dl className="meta">
        <dt>Type</dt>
        <dd>{modeLabel(take.mode)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(take.durationMs / 1000)}</dd>
        <dt>Quality</dt>
        <dd>{take.quality.charAt(0).toUpperCase() + take.quality.slice(1)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(take.bytes)}</dd>
        <dt>Recorded</dt>
        <dd>
          <time dateTime={take.startedAt}>{formatDateTime(take.startedAt)}</time>
        </dd>
        <dt>Stored</dt>
        <dd>In this browser only</dd>
      </dl>
      <SlideList marks={slideMarks(take.metadata)} media={media} />
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this recording?"
        confirmLabel="Yes, remove it"
        danger
        onCancel={() => setConfirmDelete(false)}
        onConfirm={async () => {
          await deleteKeptTake(store, user.id, localId);
          navigate('/', { replace: true });
        }}
      >
        <p>“{title}” will be deleted from this browser. This cannot be undone.</p>
      </ConfirmDialog>
    </article>
  );
}
