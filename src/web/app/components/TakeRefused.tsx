import type { ReactNode } from 'react';
import type { UploadRefusal } from '../../persist/refusal.ts';
import type { TakeStore } from '../../persist/take-store.ts';
import { DownloadTake } from './TakeMismatch.tsx';

/** "Not uploaded: <the server's reason>" — one text node, the same words everywhere a refused take is shown. */
export function notUploadedText(refusal: UploadRefusal): string {
  return `Not uploaded: ${refusal.message.trim().replace(/\.$/, '')}.`;
}

/**
 * A take whose upload the server refused for good (not media it accepts, too large …): the reason in
 * the server's words, the local copy as a download, and "Try again", which sends it as a fresh upload.
 */
export function RefusedActions(p: {
  store: TakeStore;
  localId: string;
  title?: string;
  refusal: UploadRefusal;
  /** How many times "Try again" was refused in a row here: the words change so it is announced again. */
  refusedAgain?: number;
  busy: boolean;
  error?: string | null;
  /** Announce it (the answer to the click just made); a list shown on load stays quiet. */
  alert?: boolean;
  onRetry(): void;
  /** More actions after "Try again" (Discard). */
  children?: ReactNode;
}) {
  const again = p.refusedAgain ?? 0;
  return (
    <div className="notice error take-problem" role={p.alert ? 'alert' : undefined}>
      <p>{notUploadedText(p.refusal)}</p>
      <p>Your full take is still safe in this browser: download it, or try the upload again.</p>
      {again > 0 && (
        <p className="small-print">
          Tried again {again === 1 ? 'once' : `${again} times`}: the server refused it again.
        </p>
      )}
      {p.error && <p className="small-print">Trying again failed: {p.error}</p>}
      <div className="actions">
        <DownloadTake store={p.store} localId={p.localId} title={p.title} />
        <button type="button" className="small primary" onClick={p.onRetry} disabled={p.busy}>
          {p.busy ? 'Uploading the take again…' : 'Try again'}
        </button>
        {p.children}
      </div>
    </div>
  );
}
