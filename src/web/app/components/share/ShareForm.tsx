import { useId, useState, type FormEvent } from 'react';
import { EXPIRY_CHOICES, expiryFrom, type NewShare, type SharePermission } from '../../share-client.ts';
import { ErrorText } from '../ErrorText.tsx';

/** The settings of a new link: what it allows beyond viewing, a password, an expiry, a label. */
export function ShareForm({ onCreate }: { onCreate(input: NewShare): Promise<void> }) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const permissions: SharePermission[] = ['view'];
    if (form.get('comment')) permissions.push('comment');
    if (form.get('download')) permissions.push('download');
    const password = String(form.get('password') ?? '');
    const label = String(form.get('label') ?? '').trim();
    const expiresAt = expiryFrom(String(form.get('expiry') ?? 'never'));
    if (password && password.length < 8) return setError('A password needs at least 8 characters.');
    setBusy(true);
    setError(null);
    try {
      await onCreate({
        permissions,
        ...(password ? { password } : {}),
        ...(expiresAt ? { expiresAt } : {}),
        ...(label ? { label } : {}),
      });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="share-form" onSubmit={(e) => void submit(e)}>
      <fieldset>
        <legend>People with the link can</legend>
        <label className="check">
          <input type="checkbox" checked disabled /> View
        </label>
        <label className="check">
          <input type="checkbox" name="comment" /> Comment
        </label>
        <label className="check">
          <input type="checkbox" name="download" /> Download
        </label>
      </fieldset>
      <p className="field">
        <label htmlFor={`${id}-pw`}>Password (optional)</label>
        <input id={`${id}-pw`} name="password" type="password" autoComplete="new-password" maxLength={200} />
      </p>
      <p className="field">
        <label htmlFor={`${id}-exp`}>Expires</label>
        <select id={`${id}-exp`} name="expiry" defaultValue="never">
          {EXPIRY_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </p>
      <p className="field">
        <label htmlFor={`${id}-label`}>Label (optional)</label>
        <input id={`${id}-label`} name="label" maxLength={200} placeholder="For the design team" />
      </p>
      <ErrorText error={error} className="form-error" />
      <button type="submit" className="primary" disabled={busy}>
        Create link
      </button>
    </form>
  );
}
