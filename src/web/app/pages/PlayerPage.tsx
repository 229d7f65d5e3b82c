import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../../persist/api.ts';
import { timelineMs } from '../comments-model.ts';
import { CommentMarkers } from '../components/comments/CommentMarkers.tsx';
import { CommentsPanel } from '../components/comments/CommentsPanel.tsx';
import { useMemberComments } from '../components/comments/useCommentsView.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { ShareDialog } from '../components/share/ShareDialog.tsx';
import { EditDetails } from '../components/EditDetails.tsx';
import { MediaView, SlideList, slideMarks } from '../components/MediaView.tsx';
import { formatBytes, formatDateTime, formatDuration, modeLabel } from '../format.ts';
import { useProjects } from '../hooks/useProjects.ts';
import { errorText, useInterval } from '../hooks/util.ts';
import { Link, navigate } from '../router.tsx';
import type { Recording } from '../types.ts';

const QUALITY_WORDS = { high: 'High', medium: 'Medium', low: 'Low' } as const;

export function PlayerPage({ id }: { id: string }) {
  const [rec, setRec] = useState<Recording | null>(null);
  const [error, setError] = useState<{ message: string; notFound: boolean } | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [sharing, setSharing] = useState(false);
  const media = useRef<HTMLMediaElement | null>(null);
  const comments = useMemberComments(id, media);
  const { projects } = useProjects();

  const load = useCallback(async () => {
    try {
      setRec(await api<Recording>('GET', `/api/recordings/${id}`));
      setError(null);
    } catch (err) {
      setError({ message: errorText(err), notFound: err instanceof ApiError && err.status === 404 });
    }
  }, [id]);
  useEffect(() => void load(), [load]);
  // Processing replaces the file (duration fix, thumbnail): follow it so the page shows the final state.
  useInterval(() => void load(), 2000, rec?.status === 'processing');

  if (error) {
    return (
      <section>
        <h1>{error.notFound ? 'Recording not found' : 'The recording could not be loaded'}</h1>
        <p role="alert">{error.notFound ? 'It was deleted, or it belongs to someone else.' : error.message}</p>
        <Link to="/">Back to the library</Link>
      </section>
    );
  }
  if (!rec) return <p role="status">Loading…</p>;

  const project = projects.find((p) => p.id === rec.projectId);
  const marks = slideMarks(rec.metadata);
  return (
    <article className="player-page">
      <p className="crumbs">
        <Link to="/">Library</Link>
      </p>
      {editing ? (
        <EditDetails
          title={rec.title}
          description={rec.description ?? ''}
          save={async (d) => setRec(await api<Recording>('PATCH', `/api/recordings/${id}`, d))}
          onClose={() => setEditing(false)}
        />
      ) : (
        <div className="page-head">
          <h1>{rec.title}</h1>
          <div className="actions">
            {rec.canShare && (
              <button type="button" className="primary" onClick={() => setSharing(true)}>
                Share
              </button>
            )}
            {rec.canEdit !== false && (
              <button type="button" onClick={() => setEditing(true)}>
                Edit details
              </button>
            )}
            {rec.canEdit !== false && rec.status === 'completed' && (
              <Link to={`/recordings/${id}/edit`} className="button">
                Edit
              </Link>
            )}
            {rec.canDelete !== false && (
              <button type="button" className="danger-outline" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            )}
          </div>
        </div>
      )}
      {rec.mediaUrl ? (
        <>
          <MediaView src={rec.mediaUrl} audio={rec.recordingType === 'audio'} title={rec.title} mediaRef={media} />
          <CommentMarkers
            threads={comments.threads}
            // The original's exact ms (metadata) only while the original plays; a version has its own length.
            durationMs={timelineMs(
              media.current?.duration,
              rec.currentVersionId ? undefined : rec.metadata?.duration_ms,
              rec.duration,
            )}
            media={media}
          />
        </>
      ) : (
        <p className="notice">The media is not available yet.</p>
      )}
      {rec.status === 'processing' && (
        <p className="notice" role="status">
          Processing{rec.progress != null ? ` (${Math.round(rec.progress * 100)}%)` : ''}. It plays already; the
          thumbnail and exact duration follow.
        </p>
      )}
      {rec.status === 'failed' && (
        <div className="notice error" role="alert">
          <p>Processing failed{rec.error ? `: ${rec.error}` : ''}. The recording itself is kept.</p>
          <button
            type="button"
            className="small"
            onClick={() =>
              void api<Recording>('POST', `/api/recordings/${id}/retry`).then(setRec, (e) =>
                setError({ message: errorText(e), notFound: false }),
              )
            }
          >
            Retry
          </button>
        </div>
      )}
      {!editing && rec.description && <p className="description">{rec.description}</p>}
      <dl className="meta">
        <dt>Type</dt>
        <dd>{modeLabel(rec.recordingType)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(rec.duration)}</dd>
        <dt>Quality</dt>
        <dd>{QUALITY_WORDS[rec.quality]}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(rec.fileSize)}</dd>
        <dt>Recorded</dt>
        <dd>
          <time dateTime={rec.createdAt}>{formatDateTime(rec.createdAt)}</time>
        </dd>
        <dt>Project</dt>
        <dd>{project ? <Link to={`/projects/${project.id}`}>{project.name}</Link> : 'None'}</dd>
        <dt>Status</dt>
        <dd>
          {rec.status === 'completed' ? 'Ready' : rec.status === 'processing' ? 'Processing' : 'Processing failed'}
        </dd>
      </dl>
      <SlideList marks={marks} media={media} />
      <CommentsPanel {...comments} />
      {rec.canShare && <ShareDialog recordingId={id} open={sharing} onClose={() => setSharing(false)} />}
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this recording?"
        confirmLabel="Yes, remove it"
        danger
        onCancel={() => setConfirmDelete(false)}
        onConfirm={async () => {
          await api('DELETE', `/api/recordings/${id}`);
          navigate('/', { replace: true });
        }}
      >
        <p>“{rec.title}” and its media will be deleted from the server. This cannot be undone.</p>
      </ConfirmDialog>
    </article>
  );
}
