import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, NavLink, navigate, useLocation } from '../router.tsx';
import { useSession, useSessionState } from '../session.tsx';
import { ConfirmDialog } from './ConfirmDialog.tsx';

export function StorageBadge() {
  const { storage } = useSession();
  return (
    <span
      className={`badge badge-${storage}`}
      data-testid="storage-badge"
      title={
        storage === 'server'
          ? 'Recordings are uploaded while you record'
          : 'Recordings stay in this browser; clearing site data deletes them'
      }
    >
      {storage === 'server' ? 'Saved to the server' : 'Saved in this browser only'}
    </span>
  );
}

/** The signed-in frame: header with navigation, then the page. Moves focus to the page heading on navigation. */
export function Shell({ children }: { children: ReactNode }) {
  const { signOut, signOutEverywhere } = useSessionState();
  const { user } = useSession();
  const [confirmEverywhere, setConfirmEverywhere] = useState(false);
  const { path } = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each navigation; path is the trigger, not an input
  useEffect(() => {
    // On the first render the browser's own focus is right; after a client-side navigation it is not.
    if (first.current) {
      first.current = false;
      return;
    }
    const h = main.current?.querySelector<HTMLElement>('h1');
    if (h) {
      if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
  }, [path]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Recorder, library">
          <span aria-hidden="true" className="brand-dot" />
          <span className="brand-name">Recorder</span>
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/">Library</NavLink>
            </li>
            <li>
              <NavLink to="/record">Record</NavLink>
            </li>
            <li>
              <NavLink to="/projects">Projects</NavLink>
            </li>
            <li>
              <NavLink to="/analytics">Analytics</NavLink>
            </li>
          </ul>
        </nav>
        <div className="topbar-end">
          <StorageBadge />
          <span className="who" title={user.email}>
            {user.displayName}
          </span>
          <button type="button" className="ghost" onClick={() => void signOut().then(() => navigate('/signin'))}>
            Sign out
          </button>
          {/* Not "Sign out …": the e2e tests (and screen-reader users) find "Sign out" by its name. */}
          <button type="button" className="ghost" onClick={() => setConfirmEverywhere(true)}>
            End all sessions
          </button>
        </div>
      </header>
      <ConfirmDialog
        open={confirmEverywhere}
        title="Sign out on every device?"
        confirmLabel="End all sessions"
        danger
        onConfirm={async () => {
          await signOutEverywhere();
          navigate('/signin');
        }}
        onCancel={() => setConfirmEverywhere(false)}
      >
        <p>
          Every browser signed in to this account is signed out, this one too, and every API token stops working. Use it
          if a device was lost or someone else may know your password.
        </p>
      </ConfirmDialog>
      <main id="main" ref={main}>
        {children}
      </main>
    </>
  );
}
