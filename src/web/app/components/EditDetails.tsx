import { useId, useState, type FormEvent } from 'react';
import { errorText } from '../hooks/util.ts';

/** Title and description, edited in place; save() throws to keep the form open with the reason. */
export function EditDetails(p: {
  title: string;
  description: string;
  save(d: { title: string; description: string | null }): Promise<void>;
  onClose(): void;
}) {
  const id = useId();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const title = String(d.get('title') ?? '').trim();
    const description = String(d.get('description') ?? '').trim();
    if (!title) return setError('A title is needed.');
    setBusy(true);
    try {
      await p.save({ title, description: description || null });
      p.onClose();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="edit-details" onSubmit={submit}>
      <div className="field">
        <label htmlFor={`${id}-t`}>Title</label>
        {/* biome-ignore lint/a11y/noAutofocus: opened by "Rename" to type a title */}
        <input id={`${id}-t`} name="title" defaultValue={p.title} maxLength={300} required autoFocus />
      </div>
      <div className="field">
        <label htmlFor={`${id}-d`}>Description</label>
        <textarea id={`${id}-d`} name="description" defaultValue={p.description} rows={3} maxLength={10000} />
      </div>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={p.onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
