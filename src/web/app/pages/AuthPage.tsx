import { useId, useState, type FormEvent } from 'react';
import { api, ApiError } from '../../persist/api.ts';
import { fieldErrors } from '../format.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSessionState } from '../session.tsx';

type Mode = 'signin' | 'signup';

const MESSAGES: Record<string, string> = {
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  EMAIL_TAKEN: 'An account with this email exists already. Sign in instead?',
  RATE_LIMITED: 'Too many attempts. Wait a minute, then try again.',
  WEAK_PASSWORD: 'Choose a password that is harder to guess.',
};

/** How long a sign-in lock lasts, from the 429's details, in words. */
function waitWords(details: unknown): string {
  const seconds = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof seconds !== 'number') return MESSAGES.RATE_LIMITED!;
  const minutes = Math.ceil(seconds / 60);
  return `Too many attempts. Try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}.`;
}

/** The strength estimator's words for a refused password: its warning, then its suggestions. */
function weakPasswordWords(details: unknown): string {
  const d = details as { warning?: unknown; suggestions?: unknown } | undefined;
  const suggestions = Array.isArray(d?.suggestions) ? d.suggestions.filter((x) => typeof x === 'string') : [];
  const words = [typeof d?.warning === 'string' ? d.warning : '', ...suggestions].filter(Boolean).join(' ');
  return words || 'Use a few uncommon words, or a longer password.';
}

const FIELD_WORDS: Record<string, string> = {
  email: 'Enter a valid email address.',
  password: 'Use at least 8 characters.',
  displayName: 'Enter your name.',
};

function Field(p: {
  id: string;
  label: string;
  type: string;
  name: string;
  autoComplete: string;
  error?: string;
  hint?: string;
  minLength?: number;
}) {
  const errId = `${p.id}-err`;
  const hintId = `${p.id}-hint`;
  const describedBy = [p.error ? errId : '', p.hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={p.id}>{p.label}</label>
      <input
        id={p.id}
        name={p.name}
        type={p.type}
        autoComplete={p.autoComplete}
        required
        minLength={p.minLength}
        aria-invalid={p.error ? true : undefined}
        aria-describedby={describedBy}
      />
      {p.hint && (
        <small id={hintId} className="hint">
          {p.hint}
        </small>
      )}
      {p.error && (
        <small id={errId} className="field-error">
          {p.error}
        </small>
      )}
    </div>
  );
}

export function AuthPage({ mode }: { mode: Mode }) {
  const { refresh } = useSessionState();
  const { search } = useLocation();
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const next = search.get('next') ?? '/';
  const carry = next !== '/' ? `?next=${encodeURIComponent(next)}` : '';

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const body: Record<string, string> = {
      email: String(f.get('email') ?? '').trim(),
      password: String(f.get('password') ?? ''),
    };
    if (mode === 'signup') body.displayName = String(f.get('displayName') ?? '').trim();
    setBusy(true);
    setError(null);
    setFields({});
    try {
      await api('POST', mode === 'signin' ? '/api/auth/signin' : '/api/auth/signup', body);
      await refresh();
      navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'WEAK_PASSWORD') {
        setFields({ password: weakPasswordWords(err.details) });
        setError(MESSAGES.WEAK_PASSWORD!);
      } else if (err instanceof ApiError && err.code === 'RATE_LIMITED') {
        setError(waitWords(err.details));
      } else if (err instanceof ApiError) {
        const fe = fieldErrors(err.details, err.message);
        const words = Object.fromEntries(Object.keys(fe).map((k) => [k, FIELD_WORDS[k] ?? fe[k]!]));
        setFields(words);
        setError(Object.keys(words).length ? 'Please fix the marked fields.' : (MESSAGES[err.code] ?? err.message));
      } else {
        setError('The server could not be reached. Check your connection and try again.');
      }
    } finally {
      setBusy(false);
    }
  }

  const title = mode === 'signin' ? 'Sign in' : 'Create your account';
  return (
    <main className="auth" id="main">
      <div className="auth-card">
        <p className="brand auth-brand">
          <span aria-hidden="true" className="brand-dot" />
          Recorder
        </p>
        <h1>{title}</h1>
        <form onSubmit={submit} noValidate={false} aria-describedby={error ? `${id}-error` : undefined}>
          {mode === 'signup' && (
            <Field
              id={`${id}-name`}
              label="Name"
              name="displayName"
              type="text"
              autoComplete="name"
              error={fields.displayName}
            />
          )}
          <Field id={`${id}-email`} label="Email" name="email" type="email" autoComplete="email" error={fields.email} />
          <Field
            id={`${id}-password`}
            label="Password"
            name="password"
            type="password"
            autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
            minLength={mode === 'signup' ? 8 : undefined}
            hint={
              mode === 'signup' ? 'At least 8 characters, hard to guess: a few uncommon words work well.' : undefined
            }
            error={fields.password}
          />
          <div role="alert" id={`${id}-error`} className="form-error">
            {error}
          </div>
          <button type="submit" className="primary wide" disabled={busy}>
            {mode === 'signin' ? 'Sign in' : 'Sign up'}
          </button>
        </form>
        <p className="auth-switch">
          {mode === 'signin' ? (
            <>
              New here? <Link to={`/signup${carry}`}>Create an account</Link>
            </>
          ) : (
            <>
              Have an account? <Link to={`/signin${carry}`}>Sign in</Link>
            </>
          )}
        </p>
      </div>
    </main>
  );
}
