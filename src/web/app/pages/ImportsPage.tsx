import { useEffect, useState } from 'react';
import { getImport, type Import, type ImportItem, listImports } from '../../persist/legacy-import.ts';
import { reasonWords } from '../../persist/legacy-words.ts';
import { formatBytes, formatDateTime } from '../format.ts';
import { errorText } from '../hooks/util.ts';
import { Link } from '../router.tsx';

const STATUS_WORDS: Record<Import['status'], string> = {
  running: 'Running',
  completed: 'Finished',
  interrupted: 'Interrupted (closed before it finished)',
};

const OUTCOME_WORDS: Record<ImportItem['outcome'], string> = {
  imported: 'Imported',
  already: 'Already on the server',
  skipped: 'Not imported',
  failed: 'Failed',
};

function countsText(imp: Import): string {
  const counts = `${imp.imported} imported, ${imp.already} already on the server`;
  const rest = `${imp.skipped} not imported, ${imp.failed} failed`;
  return `${counts}, ${rest} · ${imp.itemCount} items, ${formatBytes(imp.byteCount)}`;
}

function Items({ id }: { id: string }) {
  const [items, setItems] = useState<ImportItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    getImport(id).then(
      (r) => setItems(r.items),
      (err: unknown) => setError(errorText(err)),
    );
  }, [id]);
  if (error) return <p role="alert">{error}</p>;
  if (!items) return <p role="status">Loading…</p>;
  if (items.length === 0) return <p className="muted">No items.</p>;
  return (
    <ul className="import-items">
      {items.map((it, i) => (
        <li
          // biome-ignore lint/suspicious/noArrayIndexKey: one row per item of one import, in the server's order
          key={i}
          data-testid="import-history-item"
          data-outcome={it.outcome}
        >
          <strong>{it.title ?? (it.legacyId ? `Recording ${it.legacyId}` : 'Saved list')}</strong>{' '}
          <span className="muted">
            {it.size !== null ? `${formatBytes(it.size)} · ` : ''}
            {OUTCOME_WORDS[it.outcome]}
            {it.outcome === 'skipped' || it.outcome === 'failed'
              ? `: ${it.reason ? reasonWords(it.reason) : (it.message ?? '')}`
              : ''}
            {it.outcome === 'already' && !it.recordingId ? ' (imported before, deleted since)' : ''}
          </span>{' '}
          {it.recordingId && <Link to={`/recordings/${it.recordingId}`}>Open</Link>}
        </li>
      ))}
    </ul>
  );
}

/** Every import of this account (browser or command line): counts, and per item what happened. */
export function ImportsPage() {
  const [imports, setImports] = useState<Import[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    listImports().then(setImports, (err: unknown) => setError(errorText(err)));
  }, []);
  return (
    <section>
      <p className="crumbs">
        <Link to="/">Library</Link>
      </p>
      <h1>Import history</h1>
      <p className="muted">Recordings moved to your account from a browser or by an administrator.</p>
      {error && <p role="alert">The history could not be loaded: {error}</p>}
      {imports && imports.length === 0 && <p>No imports yet.</p>}
      {imports && imports.length > 0 && (
        <ul className="imports" data-testid="import-history">
          {imports.map((imp) => (
            <li
              key={imp.id}
              data-testid="import-history-row"
              data-id={imp.id}
              data-status={imp.status}
              data-imported={imp.imported}
              data-already={imp.already}
            >
              <div>
                <strong>{formatDateTime(imp.startedAt)}</strong>{' '}
                <span className="muted">
                  · {imp.origin === 'cli' ? 'command line' : 'browser'} · {STATUS_WORDS[imp.status]}
                </span>
              </div>
              <div>
                {countsText(imp)}{' '}
                <button
                  type="button"
                  className="small"
                  aria-expanded={open === imp.id}
                  onClick={() => setOpen(open === imp.id ? null : imp.id)}
                >
                  {open === imp.id ? 'Hide items' : 'Show items'}
                </button>
              </div>
              {open === imp.id && <Items id={imp.id} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
