import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../../persist/api.ts';
import { type RecordingVersion, type VersionList, VersionsClient } from '../../../editor/versions-client.ts';
import { formatBytes, formatDuration } from '../../format.ts';
import { ConfirmDialog } from '../ConfirmDialog.tsx';
import { errorText } from '../../hooks/util.ts';

const STATUS_WORDS = { rendering: 'Rendering', ready: 'Ready', failed: 'Failed' } as const;

/**
 * "Save as new version" renders the active edits on the server; the rendering version's progress is
 * polled until it is ready or failed. The list holds the original and every version; any ready one can
 * be made current (the library and player play the current one); versions can be deleted, the original
 * cannot.
 */
export function VersionsPanel(p: {
  recordingId: string;
  revision: string;
  canRender: boolean;
  originalDuration: number;
  onCurrentChanged?(current: string | null): void;
}) {
  const client = useRef(new VersionsClient(p.recordingId)).current;
  const [list, setList] = useState<VersionList | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState<RecordingVersion | null>(null);

  const load = useCallback(async () => {
    try {
      setList(await client.list());
      setUnavailable(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setUnavailable(true);
      else setError(errorText(e));
    }
  }, [client]);

  useEffect(() => void load(), [load]);
  // Each rendering version is polled until it is done; the set changing restarts the pollers.
  const rendering = (list?.versions ?? [])
    .filter((v) => v.status === 'rendering')
    .map((v) => v.id)
    .join(',');
  useEffect(() => {
    if (!rendering) return;
    const abort = new AbortController();
    const update = (x: RecordingVersion) => {
      setList((l) => (l ? { ...l, versions: l.versions.map((y) => (y.id === x.id ? x : y)) } : l));
      // A finished render is made current by the server: the list (and the page) learn it from a reload.
      if (x.status !== 'rendering') void load().then(() => p.onCurrentChanged?.(x.current ? x.id : null));
    };
    for (const id of rendering.split(',')) {
      void client.follow(id, update, abort.signal).catch((e) => abort.signal.aborted || setError(errorText(e)));
    }
    return () => abort.abort();
  }, [rendering, client, load, p.onCurrentChanged]);

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  if (unavailable) {
    return (
      <section className="editor-panel" aria-label="Versions">
        <h2>Versions</h2>
        <p className="hint">This server cannot save versions yet.</p>
      </section>
    );
  }
  const current = list?.current ?? null;
  const makeCurrent = (id: string | null) =>
    act(async () => {
      await client.setCurrent(id);
      p.onCurrentChanged?.(id);
    });
  return (
    <section className="editor-panel versions-panel" aria-label="Versions">
      <h2>Versions</h2>
      <button
        type="button"
        className="primary"
        disabled={busy || !p.canRender}
        onClick={() => void act(() => client.create(p.revision))}
      >
        Save as new version
      </button>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <ul className="version-list" data-testid="versions">
        <li data-version="original" data-current={current === null}>
          <span className="version-name">Original</span> · {formatDuration(p.originalDuration)}
          {current === null ? (
            <span className="badge">Current</span>
          ) : (
            <button type="button" className="small" disabled={busy} onClick={() => void makeCurrent(null)}>
              Make current
            </button>
          )}
        </li>
        {(list?.versions ?? []).map((v) => (
          <li key={v.id} data-version={v.id} data-status={v.status} data-current={current === v.id}>
            <span className="version-name">Version {v.number}</span> ·{' '}
            {v.status === 'ready'
              ? `${formatDuration((v.durationMs ?? 0) / 1000)} · ${formatBytes(v.fileSize)}`
              : STATUS_WORDS[v.status]}
            {v.status === 'rendering' && (
              <progress max={1} value={v.progress ?? 0} aria-label={`Version ${v.number} rendering`}>
                {Math.round((v.progress ?? 0) * 100)}%
              </progress>
            )}
            {v.status === 'failed' && v.error && <span className="error-text"> {v.error}</span>}
            {current === v.id ? (
              <span className="badge">Current</span>
            ) : (
              v.status === 'ready' && (
                <button type="button" className="small" disabled={busy} onClick={() => void makeCurrent(v.id)}>
                  Make current
                </button>
              )
            )}
            {v.status !== 'rendering' && (
              <button
                type="button"
                className="small danger-outline"
                disabled={busy}
                onClick={() => setDeleting(v)}
                aria-label={`Delete version ${v.number}`}
              >
                Delete
              </button>
            )}
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete version ${deleting?.number ?? ''}?`}
        confirmLabel="Yes, remove it"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting) await client.remove(deleting.id);
          setDeleting(null);
          await load();
        }}
      >
        <p>
          Its rendered file is deleted from the server. The original and the edits stay: you can save a new version from
          them at any time.
        </p>
      </ConfirmDialog>
    </section>
  );
}
