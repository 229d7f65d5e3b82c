import { useCallback, useEffect, useState } from 'react';
import {
  dropUnfinished,
  findUnfinishedTakes,
  recoverTake,
  verifyUploadedTakes,
  type UnfinishedTake,
} from '../../persist/recovery.ts';
import type { UploadRefusal } from '../../persist/refusal.ts';
import type { TakeManager } from '../../persist/take-manager.ts';
import type { TakeStore } from '../../persist/take-store.ts';
import { defaultTitle, formatDateTime, formatBytes, formatDuration, modeLabel, relativeTime } from '../format.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ConfirmDialog } from './ConfirmDialog.tsx';
import { MismatchActions } from './TakeMismatch.tsx';
import { RefusedActions } from './TakeRefused.tsx';

type RowState =
  | { kind: 'idle' }
  | { kind: 'recovering' }
  | { kind: 'done'; href: string }
  | { kind: 'failed'; message: string }
  /** Recovered, but the server's size or sha256 differs from the local bytes: the local copy was kept. */
  | { kind: 'mismatch'; localId: string; recordingId?: string; problem?: string }
  /** Tried again here and the server refused the upload again (refusedAgain times in a row). */
  | { kind: 'refused'; refusal: UploadRefusal; refusedAgain: number };

/**
 * Re-checks takes whose upload finished but whose check never ran (the page died in between), so they
 * are either cleared or listed with their problem. Once per page load and manager (a new sign-in gets
 * its own): every banner mount waits for the same run.
 */
const verified = new WeakMap<TakeManager, Promise<void>>();
function verifyOnce(store: TakeStore, manager: TakeManager): Promise<void> {
  let p = verified.get(manager);
  if (!p) {
    p = verifyUploadedTakes(store, manager).then(
      () => undefined,
      (err: unknown) => console.warn('could not re-check uploaded takes against the server', err),
    );
    verified.set(manager, p);
  }
  return p;
}

const keyOf = (t: UnfinishedTake) => t.localId ?? t.sessionId ?? t.startedAt;

function where(t: UnfinishedTake): string {
  const parts: string[] = [];
  if (t.localBytes > 0 || t.where !== 'server') parts.push(`${formatBytes(t.localBytes)} in this browser`);
  // A refused upload's bytes on the server never become a recording: only the local copy counts.
  if (t.where !== 'local' && !t.refused) parts.push(`${formatBytes(t.serverBytes)} on the server`);
  return parts.join(', ');
}

/** The server's refusal of a listed take's upload, or of the Try again just made here. */
function refusalOf(t: UnfinishedTake, s: RowState): { refusal: UploadRefusal; refusedAgain: number } | null {
  if (s.kind === 'refused') return s;
  return t.refused && t.localId ? { refusal: t.refused, refusedAgain: 0 } : null;
}

/** Not cut off: uploaded with a failed check, or refused by the server; "not finished" would be the wrong story. */
const needsAttention = (t: UnfinishedTake) => !!t.localId && (!!t.problem || !!t.refused);

/** The failed check of a listed take, or of one just recovered here; only a take with a local copy has one. */
function problemOf(t: UnfinishedTake, s: RowState): { localId: string; recordingId?: string; problem?: string } | null {
  if (s.kind === 'mismatch') return s;
  if (!t.problem || !t.localId) return null;
  return { localId: t.localId, ...(t.recordingId ? { recordingId: t.recordingId } : {}), problem: t.problem };
}

const UNDONE = 'This cannot be undone.';

/** What discarding a listed take deletes, said before the user confirms. */
function dropText(t: UnfinishedTake | null, rows: Record<string, RowState>): string {
  if (!t) return '';
  const s = rows[keyOf(t)] ?? { kind: 'idle' };
  if (problemOf(t, s))
    return `This browser's copy will be deleted; the server's copy, which does not match it, stays. ${UNDONE}`;
  if (refusalOf(t, s)) return `This browser's copy, the only one, will be deleted. ${UNDONE}`;
  return `The unfinished recording will be deleted. ${UNDONE}`;
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
      await verifyOnce(store, manager);
      setTakes(await findUnfinishedTakes(store, user.id, storage));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }, [store, manager, user.id, storage]);

  useEffect(() => void load(), [load]);

  const setRow = (k: string, s: RowState) => setRows((r) => ({ ...r, [k]: s }));

  async function recover(t: UnfinishedTake) {
    const k = keyOf(t);
    const before = rows[k];
    setRow(k, { kind: 'recovering' });
    try {
      const r = await recoverTake(store, manager, t, { title: t.title ?? defaultTitle(t.mode, new Date(t.startedAt)) });
      if (r.refused) {
        const refusedAgain = (before?.kind === 'refused' ? before.refusedAgain : 0) + 1;
        setRow(k, { kind: 'refused', refusal: r.refused, refusedAgain });
        return;
      }
      if (r.verified === false) {
        setRow(k, {
          kind: 'mismatch',
          localId: r.localId ?? t.localId!,
          ...(r.recordingId ? { recordingId: r.recordingId } : {}),
          ...(r.problem ? { problem: r.problem } : {}),
        });
        onRecovered?.(); // the server's copy is a recording all the same: the library shows it
        return;
      }
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
      {takes.length > 0 && takes.some(needsAttention) ? (
        <>
          <h2 id="recovery-h">
            {takes.length === 1 ? 'A recording needs your attention' : `${takes.length} recordings need your attention`}
          </h2>
          {!takes.every(needsAttention) && (
            <p className="muted">
              Some were cut off when the page closed or the connection dropped while recording. Nothing is lost: recover
              them to keep them, or discard them.
            </p>
          )}
        </>
      ) : (
        <>
          <h2 id="recovery-h">
            {takes.length === 1 ? 'A recording was not finished' : `${takes.length} recordings were not finished`}
          </h2>
          <p className="muted">
            The page closed or the connection dropped while recording. Nothing is lost: recover it to keep it, or
            discard it.
          </p>
        </>
      )}
      {error && (
        <p className="error-text" role="alert">
          Could not look for unfinished recordings: {error}
        </p>
      )}
      <ul className="recovery-list">
        {takes.map((t) => {
          const k = keyOf(t);
          const s = rows[k] ?? { kind: 'idle' };
          const bad = problemOf(t, s);
          const refused = bad ? null : refusalOf(t, s);
          /** What the mismatch and the refusal actions share: Try again (recovers the take) and Discard. */
          const problemActions = {
            alert: s.kind !== 'idle',
            store,
            title: t.title,
            busy: false,
            error: s.kind === 'failed' ? s.message : null,
            onRetry: () => void recover(t),
          };
          const discard = (
            <button type="button" className="small" onClick={() => setToDrop(t)}>
              Discard
            </button>
          );
          return (
            <li key={k} className="recovery-item">
              <div>
                <strong>{modeLabel(t.mode)}</strong>{' '}
                <time dateTime={t.startedAt} title={formatDateTime(t.startedAt)}>
                  {relativeTime(t.startedAt)}
                </time>
                <span className="muted">
                  {' '}
                  · {formatDuration(t.durationMs / 1000)} · {where(t)}
                </span>
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
                {bad && s.kind !== 'recovering' && s.kind !== 'done' && (
                  <MismatchActions
                    {...problemActions}
                    localId={bad.localId}
                    recordingId={bad.recordingId}
                    detail={bad.problem}
                  >
                    {discard}
                  </MismatchActions>
                )}
                {refused && s.kind !== 'recovering' && s.kind !== 'done' && (
                  <RefusedActions
                    {...problemActions}
                    localId={t.localId!}
                    refusal={refused.refusal}
                    refusedAgain={refused.refusedAgain}
                  >
                    {discard}
                  </RefusedActions>
                )}
                {!bad && !refused && (s.kind === 'idle' || s.kind === 'failed') && (
                  <>
                    {s.kind === 'failed' && (
                      <span className="error-text" role="alert">
                        Recovery failed: {s.message}{' '}
                      </span>
                    )}
                    <button type="button" className="primary small" onClick={() => void recover(t)}>
                      Recover
                    </button>
                    <button type="button" className="small" onClick={() => setToDrop(t)}>
                      Discard
                    </button>
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
        <p>{dropText(toDrop, rows)}</p>
      </ConfirmDialog>
    </section>
  );
}
