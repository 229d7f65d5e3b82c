import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import {
  type ImportProgress,
  type ImportResult,
  type ItemProgress,
  runLegacyImport,
} from '../../persist/legacy-import.ts';
import { type LegacyScan, type LegacySkip, scanLegacy } from '../../persist/legacy-sources.ts';
import { dismissedSkips, dismissSkips, reasonWords } from '../../persist/legacy-words.ts';
import { formatBytes } from '../format.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

/**
 * The import this page runs, whichever banner started it: a banner mounted again (the user came back to
 * the library) shows the running import instead of offering a second one.
 */
interface Tracked {
  userId: string;
  running: boolean;
  /** Another tab runs an import of this user: this one starts when it ends. */
  waiting: boolean;
  progress: ImportProgress | null;
  result: ImportResult | null;
  error: string | null;
}
let tracked: Tracked | null = null;
const subscribers = new Set<() => void>();
const subscribe = (f: () => void) => {
  subscribers.add(f);
  return () => void subscribers.delete(f);
};
function publish(next: Tracked): void {
  tracked = next;
  for (const f of subscribers) f();
}

const PHASE_WORDS: Record<ItemProgress['phase'], string> = {
  waiting: 'Waiting',
  checking: 'Checking',
  uploading: 'Uploading',
  verifying: 'Verifying',
  imported: 'Imported',
  already: 'Already on the server',
  failed: 'Not imported',
};

async function download(s: LegacySkip) {
  if (!s.download) return;
  const blob = await s.download.read();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = s.download.filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function ItemRow({ p }: { p: ItemProgress }) {
  const pct = p.size > 0 ? Math.round((Math.min(p.sent, p.size) / p.size) * 100) : 0;
  return (
    <li className="recovery-item" data-testid="legacy-item" data-uid={p.uid} data-phase={p.phase}>
      <div>
        <strong>{p.title ?? 'Untitled recording'}</strong> <span className="muted">· {formatBytes(p.size)}</span>
      </div>
      <div className="recovery-actions" aria-live="polite">
        {(p.phase === 'uploading' || p.phase === 'checking') && (
          <progress max={100} value={pct} aria-label={`${PHASE_WORDS[p.phase]} ${p.title ?? 'recording'}`} />
        )}
        <span className={p.phase === 'failed' ? 'error-text' : undefined}>
          {PHASE_WORDS[p.phase]}
          {p.phase === 'uploading' ? ` ${pct}%` : ''}
          {p.phase === 'failed' && p.message ? `: ${p.message}` : ''}
        </span>
        {p.recordingId && <Link to={`/recordings/${p.recordingId}`}>Open</Link>}
      </div>
    </li>
  );
}

/** Items that cannot be imported: why, in plain words; Download for what is readable; Dismiss. */
function SkippedList({ skips, onDismiss }: { skips: LegacySkip[]; onDismiss(): void }) {
  if (skips.length === 0) return null;
  return (
    <div data-testid="legacy-skipped">
      <h3>{skips.length === 1 ? 'One item could not be imported' : `${skips.length} items could not be imported`}</h3>
      <p className="muted">They stay in this browser as they are.</p>
      <ul className="recovery-list">
        {skips.map((s) => (
          <li key={s.uid} className="recovery-item" data-testid="legacy-skip" data-reason={s.reason} data-uid={s.uid}>
            <div>
              <strong>{s.title ?? (s.legacyId ? `Recording ${s.legacyId}` : 'Saved list')}</strong>{' '}
              <span className="muted" title={s.message}>
                {reasonWords(s.reason)}
              </span>
            </div>
            {s.download && (
              <div className="recovery-actions">
                <button type="button" className="small" onClick={() => void download(s)}>
                  Download
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="small" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

/** Recordings this browser kept from before the server (or in browser mode), and the way to import them. */
export function LegacyImportBanner({ onImported }: { onImported?: () => void } = {}) {
  const { store, user, storage } = useSession();
  const [scan, setScan] = useState<LegacyScan | null>(null);
  const [scanError, setScanError] = useState<string | null>(null);
  const [dismissed, setDismissed] = useState(() => dismissedSkips());
  const current = useSyncExternalStore(subscribe, () => tracked);
  const mine = current?.userId === user.id ? current : null;
  const onImportedRef = useRef(onImported);
  onImportedRef.current = onImported;

  const load = useCallback(async () => {
    try {
      setScan(await scanLegacy({ store, userId: user.id, storage }));
      setScanError(null);
    } catch (err) {
      setScanError(err instanceof Error ? err.message : String(err));
    }
  }, [store, user.id, storage]);
  useEffect(() => void load(), [load]);

  // An import that ended (here or before this banner was mounted): what is left is looked at again.
  const result = mine?.result ?? null;
  const ended = mine !== null && !mine.running;
  useEffect(() => {
    if (!ended) return;
    void load();
    if (result) onImportedRef.current?.();
  }, [ended, result, load]);

  function start() {
    if (!scan || tracked?.running) return;
    const base: Tracked = { userId: user.id, running: true, waiting: false, progress: null, result: null, error: null };
    publish(base);
    runLegacyImport({
      store,
      userId: user.id,
      scan,
      rescan: () => scanLegacy({ store, userId: user.id, storage }),
      onWaiting: () => publish({ ...(tracked ?? base), waiting: true }),
      onProgress: (progress) => publish({ ...(tracked ?? base), waiting: false, progress }),
    }).then(
      (r) => publish({ ...(tracked ?? base), running: false, result: r }),
      (err: unknown) =>
        publish({ ...(tracked ?? base), running: false, error: err instanceof Error ? err.message : String(err) }),
    );
  }

  const progress = mine?.progress ?? null;
  const error = mine?.error ?? scanError;
  const importing = mine?.running === true;
  const skips = [...(scan?.skips ?? []), ...(result?.failures ?? [])].filter(
    (s, i, all) => !dismissed.has(s.uid) && all.findIndex((x) => x.uid === s.uid) === i,
  );
  const candidates = scan?.candidates ?? [];
  if (!importing && !result && candidates.length === 0 && skips.length === 0 && !error) return null;
  const bytes = candidates.reduce((n, c) => n + c.size, 0);
  const total = progress?.bytesTotal ?? 0;

  return (
    <section
      className="recovery legacy-import"
      data-testid="legacy-import"
      data-state={importing ? 'importing' : result ? 'done' : 'ready'}
      aria-labelledby="legacy-import-h"
    >
      <h2 id="legacy-import-h">
        {importing
          ? mine?.waiting
            ? 'Waiting for the import running in another tab…'
            : 'Importing your earlier recordings…'
          : candidates.length > 0
            ? `${candidates.length === 1 ? 'One recording' : `${candidates.length} recordings`} in this browser ` +
              `(${formatBytes(bytes)}) can be moved to your account`
            : 'Earlier recordings'}
      </h2>
      {!importing && candidates.length > 0 && (
        <p className="muted">
          They were kept in this browser only. Importing uploads them with their titles and dates, checks that the
          server received every byte, and only then removes them here.{' '}
          <button type="button" className="primary small" onClick={start}>
            Import
          </button>
        </p>
      )}
      {progress && (importing || result) && (
        <>
          <p className="progress-inline">
            <progress
              data-testid="legacy-import-total"
              max={Math.max(1, total)}
              value={progress.bytesDone}
              aria-label="Import progress"
            />
            {progress.itemsDone} of {progress.items.length} · {formatBytes(progress.bytesDone)} of {formatBytes(total)}
          </p>
          <ul className="recovery-list">
            {progress.items.map((p) => (
              <ItemRow key={p.uid} p={p} />
            ))}
          </ul>
        </>
      )}
      {result && (
        <p
          role="status"
          data-testid="legacy-import-summary"
          data-imported={result.import?.imported ?? 0}
          data-already={result.import?.already ?? 0}
          data-failed={result.failures.length}
        >
          {result.import
            ? `Import finished: ${result.import.imported} imported, ${result.import.already} already on the server` +
              `${result.failures.length > 0 ? `, ${result.failures.length} not imported` : ''}. `
            : 'Nothing was left to import: another tab imported it. '}
          <Link to="/imports">See the import history</Link>
        </p>
      )}
      {error && (
        <p className="error-text" role="alert">
          The import stopped: {error}. Nothing was removed from this browser that the server had not confirmed.
        </p>
      )}
      {!importing && (
        <SkippedList
          skips={skips}
          onDismiss={() => {
            dismissSkips(skips.map((s) => s.uid));
            setDismissed(dismissedSkips());
          }}
        />
      )}
    </section>
  );
}
