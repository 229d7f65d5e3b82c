import { useId, useState, type FormEvent } from 'react';
import { formatAt } from '../../comments-model.ts';
import { ErrorText } from '../ErrorText.tsx';

export const MAX_COMMENT = 5000;

/**
 * A comment or a reply: the text, and for a new thread "At 0:12" (the player's current time, on by default)
 * so it lands on the timeline. `guestName` is the visitor's name field on a share page.
 */
export function CommentForm(p: {
  label: string;
  submitLabel: string;
  initial?: string;
  /** The player's time in ms, or undefined for a reply or an edit (no time of their own). */
  atMs?: number;
  guestName?: { value: string; onChange(name: string): void };
  onSubmit(body: string, atMs: number | null): Promise<void>;
  onCancel?(): void;
}) {
  const id = useId();
  const [body, setBody] = useState(p.initial ?? '');
  const [pinned, setPinned] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!body.trim()) return setError('Write something first.');
    if (p.guestName && !p.guestName.value.trim()) return setError('Give a name to comment under.');
    setBusy(true);
    setError(null);
    try {
      await p.onSubmit(body, p.atMs !== undefined && pinned ? p.atMs : null);
      setBody('');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="comment-form" onSubmit={(e) => void submit(e)}>
      {p.guestName && (
        <p className="field">
          <label htmlFor={`${id}-name`}>Your name</label>
          <input
            id={`${id}-name`}
            value={p.guestName.value}
            maxLength={80}
            autoComplete="name"
            onChange={(e) => p.guestName?.onChange(e.target.value)}
          />
        </p>
      )}
      <label htmlFor={`${id}-body`} className="sr-only">
        {p.label}
      </label>
      <textarea
        id={`${id}-body`}
        value={body}
        maxLength={MAX_COMMENT}
        rows={2}
        placeholder={p.label}
        onChange={(e) => setBody(e.target.value)}
      />
      <div className="comment-form-row">
        {p.atMs !== undefined && (
          <label className="check">
            <input type="checkbox" checked={pinned} onChange={(e) => setPinned(e.target.checked)} />
            At {formatAt(p.atMs)}
          </label>
        )}
        <button type="submit" className="small primary" disabled={busy}>
          {p.submitLabel}
        </button>
        {p.onCancel && (
          <button type="button" className="small" onClick={p.onCancel}>
            Cancel
          </button>
        )}
      </div>
      <ErrorText error={error} />
    </form>
  );
}
