import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/**
 * A modal confirmation on the native <dialog>: focus is trapped and Escape cancels for free.
 * onConfirm may be async; its error is shown in the dialog instead of closing it.
 */
export function ConfirmDialog(p: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm(): void | Promise<void>;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (p.open && !d.open) {
      setError(null);
      d.showModal();
    } else if (!p.open && d.open) d.close();
  }, [p.open]);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await p.onConfirm();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={`${id}-t`}
      aria-describedby={`${id}-b`}
      onClose={() => p.open && p.onCancel()}
    >
      <h2 id={`${id}-t`}>{p.title}</h2>
      <div id={`${id}-b`}>{p.children}</div>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        {/* biome-ignore lint/a11y/noAutofocus: a dialog takes focus (WAI-ARIA); Cancel is safe */}
        <button type="button" onClick={p.onCancel} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className={p.danger ? 'danger' : 'primary'}
          onClick={() => void confirm()}
          disabled={busy}
        >
          {p.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
