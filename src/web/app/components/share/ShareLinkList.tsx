import { formatDateTime, relativeTime } from '../../format.ts';
import { type Share, STATUS_WORDS } from '../../share-client.ts';

const PERMISSION_WORDS = { view: 'view', comment: 'comment', download: 'download' } as const;

const expiryWord = (s: Share) => (s.status === 'expired' ? 'expired' : 'expires');

/** The recording's links, newest first: what each allows, its state, how often it was opened; Revoke. */
export function ShareLinkList({ shares, onRevoke }: { shares: Share[]; onRevoke(share: Share): void }) {
  if (shares.length === 0) return <p className="muted">No links yet.</p>;
  return (
    <ul className="share-links" data-testid="share-links">
      {shares.map((s) => (
        <li key={s.id} data-testid="share-link" data-id={s.id} data-status={s.status}>
          <div>
            <strong>{s.label || 'Link'}</strong>{' '}
            <span className={`badge share-${s.status}`}>{STATUS_WORDS[s.status]}</span>
            <p className="muted small">
              Can {s.permissions.map((p) => PERMISSION_WORDS[p]).join(', ')}
              {s.passwordProtected ? ' · password' : ''}
              {s.expiresAt ? ` · ${expiryWord(s)} ${formatDateTime(s.expiresAt)}` : ''}
            </p>
            <p className="muted small" data-testid="share-views">
              {s.viewCount === 1 ? '1 view' : `${s.viewCount} views`}
              {s.lastViewedAt ? ` · last ${relativeTime(s.lastViewedAt)}` : ''}
            </p>
          </div>
          {s.status === 'active' && (
            <button type="button" className="small danger-outline" onClick={() => onRevoke(s)}>
              Revoke
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
