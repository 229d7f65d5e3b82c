import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { errorText } from '../../hooks/util.ts';
import { type CreatedShare, type Share, SharesClient } from '../../share-client.ts';
import { ShareForm } from './ShareForm.tsx';
import { ShareLinkList } from './ShareLinkList.tsx';

/**
 * Share a recording: a new link (shown once, with Copy — the server keeps only its hash, so a lost link is
 * replaced by a new one) and the links made so far, each with Revoke. A native <dialog>: focus trap and Escape.
 */
export function ShareDialog({ recordingId, open, onClose }: { recordingId: string; open: boolean; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const client = useMemo(() => new SharesClient(recordingId), [recordingId]);
  const [shares, setShares] = useState<Share[]>([]);
  const [created, setCreated] = useState<CreatedShare | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(
    () => client.list().then(setShares, (err: unknown) => setError(errorText(err))),
    [client],
  );

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setCreated(null);
      setError(null);
      dialog.showModal();
      void refresh();
    } else if (!open && dialog.open) dialog.close();
  }, [open, refresh]);

  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      setError('Copying was refused by the browser: select the link and copy it yourself.');
    }
  };

  return (
    <dialog ref={ref} className="dialog share-dialog" aria-labelledby={`${id}-t`} onClose={() => open && onClose()}>
      <h2 id={`${id}-t`}>Share this recording</h2>
      {created ? (
        <div className="share-created" data-testid="share-created">
          <p>
            Anyone with this link can open the recording{created.share.passwordProtected ? ' with the password' : ''}.
            It is shown only now: copy it.
          </p>
          <label htmlFor={`${id}-url`}>Link</label>
          <div className="inline-form">
            <input id={`${id}-url`} readOnly value={created.url} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className="small primary" onClick={() => void copy(created.url)}>
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
          <button type="button" className="link-button" onClick={() => setCreated(null)}>
            Make another link
          </button>
        </div>
      ) : (
        <ShareForm
          onCreate={async (input) => {
            const made = await client.create(input);
            setCopied(false);
            setCreated(made);
            await refresh();
          }}
        />
      )}
      <h3>Links</h3>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <ShareLinkList
        shares={shares}
        onRevoke={(s) => void client.revoke(s.id).then(refresh, (err: unknown) => setError(errorText(err)))}
      />
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
