import { useEffect, useRef, useState } from 'react';
import { fetchSession } from '../../../analytics/client.ts';
import { outcome } from '../../../analytics/series.ts';
import type { SessionDetail as Detail } from '../../../analytics/types.ts';
import { formatDateTime, formatDuration, modeLabel } from '../../format.ts';
import { errorText } from '../../hooks/util.ts';
import { Link } from '../../router.tsx';

function KeyValues({ value }: { value: Record<string, unknown> | null }) {
  const entries = Object.entries(value ?? {});
  if (entries.length === 0) return <p className="muted">None recorded.</p>;
  return (
    <dl className="key-values">
      {entries.map(([key, v]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** One session to debug a take: what device, which settings, what happened when, and the error. */
export function SessionDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  // The panel opens below the list: take keyboard and screen-reader users to it, as a page change would.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs for each session opened; id is the trigger
  useEffect(() => {
    heading.current?.focus();
    heading.current?.scrollIntoView({ block: 'start' });
  }, [id]);
  useEffect(() => {
    let live = true;
    setDetail(null);
    setError(null);
    fetchSession(id).then(
      (d) => live && setDetail(d),
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [id]);

  return (
    <section
      className="analytics-panel session-detail"
      aria-labelledby="session-detail-title"
      data-testid="session-detail"
    >
      <div className="analytics-panel-head">
        <h2 id="session-detail-title" tabIndex={-1} ref={heading}>
          Session {id}
        </h2>
        <button type="button" className="small" onClick={onClose}>
          Close
        </button>
      </div>
      {error && <p role="alert">{error}</p>}
      {!detail && !error && <p role="status">Loading…</p>}
      {detail && <DetailBody detail={detail} />}
    </section>
  );
}

function DetailBody({ detail }: { detail: Detail }) {
  const s = detail.session;
  return (
    <>
      <p>
        {modeLabel(s.recordingType)} · {outcome(s)} · started {formatDateTime(s.startedAt)}
        {s.endedAt && `, ended ${formatDateTime(s.endedAt)}`}
        {s.duration !== null && ` · ${formatDuration(s.duration)} recorded`}
        {s.recordingId && (
          <>
            {' · '}
            <Link to={`/recordings/${s.recordingId}`}>Open the recording</Link>
          </>
        )}
      </p>
      {s.errorMessage && (
        <p className="session-error" data-testid="session-error">
          <strong>Error:</strong> {s.errorMessage}
        </p>
      )}
      <h3>Device</h3>
      <p>{[s.browser, s.os, s.deviceKind].filter(Boolean).join(' · ') || 'Not recognised'}</p>
      <KeyValues value={s.deviceInfo} />
      <h3>Settings</h3>
      <KeyValues value={s.settings} />
      <h3>Timeline</h3>
      {detail.events.length === 0 ? (
        <p className="muted">No events recorded.</p>
      ) : (
        <ol className="timeline" data-testid="session-events">
          {detail.events.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: events are in time order and never reordered
            <li key={i} data-kind={e.kind}>
              <time dateTime={e.at}>{formatDateTime(e.at)}</time> <strong>{e.kind}</strong>
              {e.detail && Object.keys(e.detail).length > 0 && (
                <span className="muted"> {JSON.stringify(e.detail)}</span>
              )}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
