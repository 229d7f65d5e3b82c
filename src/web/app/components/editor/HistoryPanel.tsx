import type { EditHistory } from '../../../editor/history-client.ts';
import { formatDateTime } from '../../format.ts';

const STATE_WORDS = { active: '', undone: ' (undone)', dropped: ' (dropped by a later edit)' } as const;

/**
 * Every edit in words, oldest first: active ones plain, undone ones greyed (Redo brings them back),
 * dropped ones struck through (a new edit after undos replaced them; they stay as history).
 */
export function HistoryPanel(p: { history: EditHistory; busy: boolean; onUndo(): void; onRedo(): void }) {
  const h = p.history;
  return (
    <section className="editor-panel history-panel" aria-label="History">
      <h2>History</h2>
      <div className="actions">
        <button type="button" disabled={p.busy || !h.canUndo} onClick={p.onUndo} aria-keyshortcuts="Control+Z Meta+Z">
          Undo
        </button>
        <button
          type="button"
          disabled={p.busy || !h.canRedo}
          onClick={p.onRedo}
          aria-keyshortcuts="Control+Shift+Z Meta+Shift+Z"
        >
          Redo
        </button>
      </div>
      {h.edits.length === 0 ? (
        <p className="hint">No edits yet. The original is never changed; every edit can be undone.</p>
      ) : (
        <ol className="history-list" data-testid="history">
          {h.edits.map((e) => (
            <li
              key={e.id}
              className={`history-${e.state}`}
              data-state={e.state}
              title={`${e.createdByName ?? 'A deleted account'}, ${formatDateTime(e.appliedAt)}`}
            >
              {e.state === 'dropped' ? <s>{e.description}</s> : e.description}
              <span className="sr-only">{STATE_WORDS[e.state]}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
