import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { MODE_LABELS } from '../format.ts';
import { useLibrary } from '../hooks/useLibrary.ts';
import { useProjects } from '../hooks/useProjects.ts';
import { useDebounced } from '../hooks/util.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { CardItem } from '../types.ts';
import { ConfirmDialog } from './ConfirmDialog.tsx';
import { RecordingCard, type CardActions } from './RecordingCard.tsx';

/** Loads the next page when the sentinel nears the viewport; the visible button does the same for keyboards. */
function useSentinel(onVisible: () => void, active: boolean) {
  const ref = useRef<HTMLDivElement>(null);
  const cb = useRef(onVisible);
  cb.current = onVisible;
  useEffect(() => {
    const el = ref.current;
    if (!el || !active || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && cb.current(), {
      rootMargin: '600px 0px',
    });
    io.observe(el);
    return () => io.disconnect();
  }, [active]);
  return ref;
}

/** The filterable grid of recordings; `projectId` pins it to one project (the project page). */
export function LibraryView({ projectId }: { projectId?: string }) {
  const session = useSession();
  const server = session.storage === 'server';
  const id = useId();
  const [type, setType] = useState('');
  const [project, setProject] = useState(projectId ?? '');
  const [search, setSearch] = useState('');
  const q = useDebounced(search, 250);
  const lib = useLibrary({ type, projectId: projectId ?? project, q }, session);
  const { projects } = useProjects(server);
  const [toDelete, setToDelete] = useState<CardItem | null>(null);
  const sentinel = useSentinel(lib.loadMore, lib.hasMore && !lib.loading);

  // Cards are memoised; a stable actions object keeps them from re-rendering on every library change.
  const libRef = useRef(lib);
  libRef.current = lib;
  const actions = useMemo<CardActions>(
    () => ({
      rename: (i, t) => libRef.current.rename(i, t),
      move: (i, p) => libRef.current.move(i, p),
      retry: (i) => libRef.current.retry(i),
      askDelete: setToDelete,
    }),
    [],
  );
  const filtering = Boolean(type || q || (!projectId && project));

  return (
    <section aria-labelledby={`${id}-h`} className="library">
      <h2 id={`${id}-h`} className="sr-only">
        Recordings
      </h2>
      {/* biome-ignore lint/a11y/useSemanticElements: <search> is no landmark in Safari 16 */}
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field grow">
          <label htmlFor={`${id}-q`}>Search</label>
          <input
            id={`${id}-q`}
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Title or description"
            maxLength={200}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-type`}>Type</label>
          <select id={`${id}-type`} value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">All types</option>
            {Object.entries(MODE_LABELS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        {server && !projectId && (
          <div className="field">
            <label htmlFor={`${id}-proj`}>Project</label>
            <select id={`${id}-proj`} value={project} onChange={(e) => setProject(e.target.value)}>
              <option value="">All projects</option>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
        )}
      </form>

      <p className="sr-only" role="status" aria-live="polite">
        {lib.loading ? 'Loading recordings' : `${lib.items.length}${lib.hasMore ? '+' : ''} recordings shown`}
      </p>
      {lib.error && (
        <p className="notice error" role="alert">
          The recordings could not be loaded: {lib.error}
        </p>
      )}

      {lib.items.length > 0 ? (
        <div className="grid">
          {lib.items.map((item) => (
            <RecordingCard key={item.id} item={item} projects={projects} actions={actions} />
          ))}
        </div>
      ) : (
        !lib.loading &&
        !lib.error && (
          <div className="empty">
            {filtering ? (
              <p>No recordings match these filters.</p>
            ) : (
              <>
                <p>No recordings yet.</p>
                <Link to="/record" className="button primary">
                  Make your first recording
                </Link>
              </>
            )}
          </div>
        )
      )}
      {lib.loading && lib.items.length === 0 && (
        <div className="grid" aria-hidden="true">
          {Array.from({ length: 6 }, (_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: six fixed placeholders that never reorder
            <div key={i} className="card skeleton" />
          ))}
        </div>
      )}

      <div ref={sentinel} className="sentinel" />
      {lib.hasMore && (
        <div className="load-more">
          <button type="button" onClick={lib.loadMore} disabled={lib.loading}>
            {lib.loading ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}

      <ConfirmDialog
        open={toDelete !== null}
        title="Delete this recording?"
        confirmLabel="Yes, remove it"
        danger
        onCancel={() => setToDelete(null)}
        onConfirm={async () => {
          if (toDelete) await lib.remove(toDelete.id);
          setToDelete(null);
        }}
      >
        <p>
          “{toDelete?.title}” will be deleted
          {server || toDelete?.where === 'server' ? ' from the server' : ' from this browser'}. This cannot be undone.
        </p>
      </ConfirmDialog>
    </section>
  );
}
