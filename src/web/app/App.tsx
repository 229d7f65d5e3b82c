import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import { matchPath, navigate, Redirect, useLocation } from './router.tsx';
import { SessionProvider, useSessionState } from './session.tsx';
import { Shell } from './components/Shell.tsx';
import { AuthPage } from './pages/AuthPage.tsx';
import { LibraryPage } from './pages/LibraryPage.tsx';
import { RecordPage } from './pages/RecordPage.tsx';
import { PlayerPage } from './pages/PlayerPage.tsx';
import { LocalPlayerPage } from './pages/LocalPlayerPage.tsx';
import { ProjectsPage } from './pages/ProjectsPage.tsx';
import { ProjectPage } from './pages/ProjectPage.tsx';
import { ImportsPage } from './pages/ImportsPage.tsx';
import { EditorPage } from './pages/EditorPage.tsx';
import { SharePage } from './pages/SharePage.tsx';
// uPlot (~50 KB) is loaded with the analytics page only, not by every page of the app.
const AnalyticsPage = lazy(() => import('./pages/AnalyticsPage.tsx').then((m) => ({ default: m.AnalyticsPage })));

type Route = { pattern: string; title: string; render: (p: Record<string, string>) => ReactNode };

const ROUTES: Route[] = [
  { pattern: '/', title: 'Library', render: () => <LibraryPage /> },
  { pattern: '/record', title: 'Record', render: () => <RecordPage /> },
  { pattern: '/recordings/:id', title: 'Recording', render: (p) => <PlayerPage key={p.id} id={p.id!} /> },
  { pattern: '/recordings/:id/edit', title: 'Editor', render: (p) => <EditorPage key={p.id} id={p.id!} /> },
  {
    pattern: '/local/:localId',
    title: 'Recording',
    render: (p) => <LocalPlayerPage key={p.localId} localId={p.localId!} />,
  },
  { pattern: '/projects', title: 'Projects', render: () => <ProjectsPage /> },
  { pattern: '/projects/:id', title: 'Project', render: (p) => <ProjectPage key={p.id} id={p.id!} /> },
  { pattern: '/imports', title: 'Import history', render: () => <ImportsPage /> },
  {
    pattern: '/analytics',
    title: 'Analytics',
    render: () => (
      <Suspense fallback={<p role="status">Loading…</p>}>
        <AnalyticsPage />
      </Suspense>
    ),
  },
];

function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Recorder`;
  }, [title]);
}

function Routes() {
  const { state } = useSessionState();
  const { path, href, search } = useLocation();
  const isAuth = path === '/signin' || path === '/signup';
  const route = ROUTES.map((r) => ({ r, params: matchPath(r.pattern, path) })).find((x) => x.params);
  useDocumentTitle(isAuth ? (path === '/signin' ? 'Sign in' : 'Sign up') : (route?.r.title ?? 'Not found'));

  if (state.kind === 'loading')
    return (
      <p className="boot" role="status">
        Loading…
      </p>
    );
  if (state.kind === 'error')
    return (
      <main className="boot" role="alert">
        <p>The server could not be reached: {state.message}</p>
        <button type="button" onClick={() => location.reload()}>
          Try again
        </button>
      </main>
    );
  if (state.kind === 'signed-out') {
    if (isAuth) return <AuthPage mode={path === '/signin' ? 'signin' : 'signup'} />;
    return <Redirect to={`/signin?next=${encodeURIComponent(href)}`} />;
  }
  if (isAuth) {
    const next = search.get('next');
    return <Redirect to={next?.startsWith('/') && !next.startsWith('//') ? next : '/'} />;
  }
  return (
    <Shell>
      {route ? (
        route.r.render(route.params!)
      ) : (
        <section>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            Nothing lives at {path}.{' '}
            <a
              href="/"
              onClick={(e) => {
                e.preventDefault();
                navigate('/');
              }}
            >
              Go to the library
            </a>
            .
          </p>
        </section>
      )}
    </Shell>
  );
}

export function App() {
  const { path } = useLocation();
  // A share link's page is for anyone: outside the session provider, so no session call and no cookie.
  const shared = matchPath('/s/:token', path);
  if (shared) return <SharePage key={shared.token} token={shared.token!} />;
  return (
    <SessionProvider>
      <Routes />
    </SessionProvider>
  );
}
