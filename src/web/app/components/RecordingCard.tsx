import { memo, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { formatBytes, formatDuration, modeLabel, relativeTime, formatDateTime } from '../format.ts';
import { Link } from '../router.tsx';
import type { CardItem, Project } from '../types.ts';
import { Thumb } from './Thumb.tsx';

export interface CardActions {
  rename(id: string, title: string): Promise<void>;
  move(id: string, projectId: string | null): Promise<void>;
  retry(id: string): Promise<void>;
  askDelete(item: CardItem): void;
}

function Status({ item, onRetry }: { item: CardItem; onRetry(): void }) {
  if (item.status === 'processing') {
    const pct = item.progress == null ? undefined : Math.round(item.progress * 100);
    return (
      <div className="card-status">
        <span>Processing{pct !== undefined ? ` ${pct}%` : '…'}</span>
        <progress max={100} value={pct} aria-label={`Processing ${item.title}`} />
      </div>
    );
  }
  if (item.status === 'failed') {
    return (
      // biome-ignore lint/a11y/useSemanticElements: a status and its Retry button, not form fields for a fieldset
      <div className="card-status failed" role="group" aria-label="Processing failed">
        <span className="error-text">Failed{item.error ? `: ${item.error}` : ''}</span>
        <button type="button" className="small" onClick={onRetry}>
          Retry
        </button>
      </div>
    );
  }
  return null;
}

export const RecordingCard = memo(function RecordingCard(p: {
  item: CardItem;
  projects: Project[];
  actions: CardActions;
}) {
  const { item, actions } = p;
  const id = useId();
  const [menu, setMenu] = useState(false);
  const [mode, setMode] = useState<'view' | 'rename' | 'move'>('view');
  const [error, setError] = useState<string | null>(null);
  const menuRef = useRef<HTMLDivElement>(null);

  // Close the menu on a click outside or Escape, as a menu button is expected to.
  useEffect(() => {
    if (!menu) return;
    const onDoc = (e: Event) => !menuRef.current?.contains(e.target as Node) && setMenu(false);
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setMenu(false);
    document.addEventListener('pointerdown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [menu]);

  const run = (f: () => Promise<void>) =>
    f().then(
      () => {
        setMode('view');
        setError(null);
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );

  const submitRename = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const title = String(new FormData(e.currentTarget).get('title') ?? '').trim();
    if (title) void run(() => actions.rename(item.id, title));
  };
  const submitMove = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget).get('project') ?? '');
    void run(() => actions.move(item.id, v || null));
  };
  const pick = (m: 'rename' | 'move' | 'delete') => {
    setMenu(false);
    if (m === 'delete') actions.askDelete(item);
    else setMode(m);
  };

  return (
    <article
      className="card"
      data-testid="recording-card"
      data-id={item.id}
      data-duration={item.durationSeconds}
      data-status={item.status}
      data-where={item.where ?? undefined}
      aria-labelledby={`${id}-t`}
    >
      <Link to={item.href} className="card-media" tabIndex={-1} aria-hidden="true">
        <Thumb src={item.thumbnailUrl} mode={item.type} />
        <span className="card-duration">{formatDuration(item.durationSeconds)}</span>
      </Link>
      <div className="card-body">
        {mode === 'rename' ? (
          <form onSubmit={submitRename} className="inline-form">
            <label htmlFor={`${id}-rn`} className="sr-only">
              New title
            </label>
            {/* biome-ignore lint/a11y/noAutofocus: opened by "Rename" to type a title */}
            <input id={`${id}-rn`} name="title" defaultValue={item.title} maxLength={300} required autoFocus />
            <button type="submit" className="small primary">
              Save
            </button>
            <button type="button" className="small" onClick={() => setMode('view')}>
              Cancel
            </button>
          </form>
        ) : (
          <h3 id={`${id}-t`} className="card-title">
            <Link to={item.href}>{item.title}</Link>
          </h3>
        )}
        {mode === 'move' && (
          <form onSubmit={submitMove} className="inline-form">
            <label htmlFor={`${id}-mv`} className="sr-only">
              Move to project
            </label>
            {/* biome-ignore lint/a11y/noAutofocus: opened by "Move to project" */}
            <select id={`${id}-mv`} name="project" defaultValue={item.projectId ?? ''} autoFocus>
              <option value="">No project</option>
              {p.projects.map((pr) => (
                <option key={pr.id} value={pr.id}>
                  {pr.name}
                </option>
              ))}
            </select>
            <button type="submit" className="small primary">
              Move
            </button>
            <button type="button" className="small" onClick={() => setMode('view')}>
              Cancel
            </button>
          </form>
        )}
        <p className="card-meta">
          {item.where === 'server' && (
            <span className="badge badge-server" data-testid="on-server">
              On the server
            </span>
          )}
          {item.shared && (
            <span className="badge badge-shared" data-testid="shared-badge">
              Shared
            </span>
          )}
          <span>{modeLabel(item.type)}</span>
          <span aria-hidden="true">·</span>
          <span>{formatBytes(item.bytes)}</span>
          <span aria-hidden="true">·</span>
          <time dateTime={item.createdAt} title={formatDateTime(item.createdAt)}>
            {relativeTime(item.createdAt)}
          </time>
          {item.commentCount ? (
            <>
              <span aria-hidden="true">·</span>
              <span data-testid="comment-count">
                {item.commentCount === 1 ? '1 comment' : `${item.commentCount} comments`}
              </span>
            </>
          ) : null}
        </p>
        <Status item={item} onRetry={() => void run(() => actions.retry(item.id))} />
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
      </div>
      {(item.canEdit || item.canDelete) && (
        <div className="card-menu" ref={menuRef}>
          <button
            type="button"
            className="icon-button"
            aria-haspopup="true"
            aria-expanded={menu}
            aria-controls={`${id}-menu`}
            aria-label={`Actions for ${item.title}`}
            onClick={() => setMenu((m) => !m)}
          >
            <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
              <circle cx="5" cy="12" r="2" />
              <circle cx="12" cy="12" r="2" />
              <circle cx="19" cy="12" r="2" />
            </svg>
          </button>
          {menu && (
            <ul id={`${id}-menu`} className="menu">
              {item.canEdit && (
                <li>
                  {/* biome-ignore lint/a11y/noAutofocus: an opened menu focuses its first item */}
                  <button type="button" onClick={() => pick('rename')} autoFocus>
                    Rename
                  </button>
                </li>
              )}
              {/* The editor works on server recordings that finished processing (issue 12). */}
              {item.canEdit && item.href.startsWith('/recordings/') && item.status === 'completed' && (
                <li>
                  <Link to={`${item.href}/edit`} className="menu-link">
                    Edit
                  </Link>
                </li>
              )}
              {/* Moving takes it away from where it is: the same right as deleting it there (access.ts). */}
              {item.canDelete && p.projects.length > 0 && (
                <li>
                  <button type="button" onClick={() => pick('move')}>
                    Move to project
                  </button>
                </li>
              )}
              {item.canDelete && (
                <li>
                  <button type="button" className="danger-text" onClick={() => pick('delete')}>
                    Delete
                  </button>
                </li>
              )}
            </ul>
          )}
        </div>
      )}
    </article>
  );
});
