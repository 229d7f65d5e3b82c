import { useCallback, useEffect, useState } from 'react';
import { dropUnfinished, findUnfinishedTakes, recoverTake, type UnfinishedTake } from '../../persist/recovery.ts';
import { defaultTitle, formatDateTime, formatDuration, formatMB, modeLabel, relativeTime } from '../format.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ConfirmDialog } from './ConfirmDialog.tsx';

type RowState = { kind: 'idle' } | { kind: 'recovering' } | { kind: 'done'; href: string } | { kind: 'failed'; message: string };

const keyOf = (t: UnfinishedTake) => t.localId ?? t.sessionId ?? t.startedAt;

function where(t: UnfinishedTake): string {
  const parts: string[] = [];
  if (t.localBytes > 0 || t.where !== 'server') parts.push(`${formatMB(t.localBytes)} in this browser`);
  if (t.where !== 'local') parts.push(`${formatMB(t.serverBytes)} on the server`);
  return parts.join(', ');
}

/** Takes a crash, a closed tab or a lost connection left unfinished, with the way back to a recording. */
export function RecoveryBanner({ onRecovered }: { onRecovered?: () => void } = {}) {
  const session = useSession();
  const { store, manager, user, storage } = session;
  const [takes, setTakes] = useState<UnfinishedTake[]>([]);
  const [rows, setRows] = useState<Record<string, RowState>>({});
  const [toDrop, setToDrop] = useState<UnfinishedTake | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setTakes(await findUnfinishedTakes(store, user.id, storage));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }, [store, user.id, storage]);

  useEffect(() => void load(), [load]);

  const setRow = (k: string, s: RowState) => setRows((r) => ({ ...r, [k]: s }));

  async function recover(t: UnfinishedTake) {
    const k = keyOf(t);
    setRow(k, { kind: 'recovering' });
    try {
      const r = await recoverTake(store, manager, t, { title: defaultTitle(t.mode, new Date(t.startedAt)) });
      const href = r.recordingId ? `/recordings/${r.recordingId}` : r.localId ? `/local/${r.localId}` : '/';
      setRow(k, { kind: 'done', href });
      onRecovered?.();
    } catch (err) {
      setRow(k, { kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  }

  if (takes.length === 0 && !error) return null;
  return (
    <section className="recovery" data-testid="recovery" aria-labelledby="recovery-h">
      <h2 id="recovery-h">{takes.length === 1 ? 'A recording was not finished' : `${takes.length} recordings were not finished`}</h2>
      <p className="muted">The page closed or the connection dropped while recording. Nothing is lost: recover it to keep it, or discard it.</p>
      {error && <p className="error-text" role="alert">Could not look for unfinished recordings: {error}</p>}
      <ul className="recovery-list">
        {takes.map((t) => {
          const k = keyOf(t);
          const s = rows[k] ?? { kind: 'idle' };
          return (
            <li key={k} className="recovery-item">
              <div>
                <strong>{modeLabel(t.mode)}</strong>{' '}
                <time dateTime={t.startedAt} title={formatDateTime(t.startedAt)}>{relativeTime(t.startedAt)}</time>
                <span className="muted"> · {formatDuration(t.durationMs / 1000)} · {where(t)}</span>
              </div>
              <div className="recovery-actions" aria-live="polite">
                {s.kind === 'recovering' && (
                  <span className="progress-inline">
                    <progress aria-label="Recovering" /> Recovering…
                  </span>
                )}
                {s.kind === 'done' && (
                  <>
                    Recovered. <Link to={s.href}>Open the recording</Link>
                  </>
                )}
                {(s.kind === 'idle' || s.kind === 'failed') && (
                  <>
                    {s.kind === 'failed' && <span className="error-text" role="alert">Recovery failed: {s.message} </span>}
                    <button type="button" className="primary small" onClick={() => void recover(t)}>Recover</button>
                    <button type="button" className="small" onClick={() => setToDrop(t)}>Discard</button>
                  </>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      <ConfirmDialog
        open={toDrop !== null}
        title="Discard this recording?"
        confirmLabel="Yes, throw it away"
        danger
        onCancel={() => setToDrop(null)}
        onConfirm={async () => {
          if (!toDrop) return;
          await dropUnfinished(store, toDrop);
          setTakes((ts) => ts.filter((x) => keyOf(x) !== keyOf(toDrop)));
          setToDrop(null);
        }}
      >
        <p>The unfinished recording will be deleted. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}
