import { useEffect, useState } from 'react';
import { type Filters, fetchSessions } from '../../../analytics/client.ts';
import { outcome, sessionsTable } from '../../../analytics/series.ts';
import type { SessionRow } from '../../../analytics/types.ts';
import { formatDateTime, formatDuration, modeLabel } from '../../format.ts';
import { errorText } from '../../hooks/util.ts';
import { CsvButton } from './DataTable.tsx';

const STATUSES = ['', 'active', 'completed', 'interrupted', 'discarded'] as const;

/** The sessions of the range, newest first, 25 at a time; choosing one opens its detail. */
export function SessionsList({
  filters,
  admin,
  selected,
  onSelect,
}: {
  filters: Filters;
  admin: boolean;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const [status, setStatus] = useState('');
  const [rows, setRows] = useState<SessionRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    fetchSessions(filters, { status }).then(
      (page) => {
        if (!live) return;
        setRows(page.sessions);
        setNext(page.nextCursor);
        setLoading(false);
      },
      (err: unknown) => {
        if (!live) return;
        setError(errorText(err));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [filters, status]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await fetchSessions(filters, { status, after: next });
      setRows((r) => [...r, ...page.sessions]);
      setNext(page.nextCursor);
    } catch (err) {
      setError(errorText(err));
    }
  };

  const withUser = admin && filters.scope.kind !== 'me';
  return (
    <section className="analytics-panel" aria-labelledby="sessions-title" data-testid="panel-sessions">
      <div className="analytics-panel-head">
        <h2 id="sessions-title">Sessions</h2>
        <label>
          Outcome{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'Any'}
              </option>
            ))}
          </select>
        </label>
        <CsvButton table={sessionsTable(rows, withUser)} name="Sessions" range={filters} />
      </div>
      {error && <p role="alert">The sessions could not be loaded: {error}</p>}
      {loading && <p role="status">Loading…</p>}
      {!loading && rows.length === 0 && !error && <p className="muted">No sessions in this range.</p>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table className="data-table" data-testid="sessions-table">
            <caption className="sr-only">Sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                {withUser && <th scope="col">User</th>}
                <th scope="col">Type</th>
                <th scope="col">Outcome</th>
                <th scope="col" className="num">
                  Length
                </th>
                <th scope="col">Browser</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={r.id}
                  data-id={r.id}
                  data-outcome={outcome(r)}
                  aria-current={selected === r.id ? 'true' : undefined}
                >
                  <th scope="row">
                    <button type="button" className="button-link" onClick={() => onSelect(r.id)}>
                      {formatDateTime(r.startedAt)}
                    </button>
                  </th>
                  {withUser && <td>{r.user?.email ?? '—'}</td>}
                  <td>{modeLabel(r.recordingType)}</td>
                  <td>{outcome(r)}</td>
                  <td className="num">{r.duration === null ? '—' : formatDuration(r.duration)}</td>
                  <td>{[r.browser, r.os, r.deviceKind].filter(Boolean).join(' · ') || '—'}</td>
                  <td>{r.errorMessage ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" className="small" onClick={() => void more()}>
          Show more
        </button>
      )}
    </section>
  );
}
