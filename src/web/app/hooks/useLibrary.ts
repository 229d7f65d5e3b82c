import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../../persist/api.ts';
import { deleteKeptTake, listKeptTakes, renameKeptTake } from '../../persist/library.ts';
import type { LocalTake } from '../../persist/take-store.ts';
import type { Session } from '../session.tsx';
import type { CardItem, Recording, RecordingPage } from '../types.ts';
import { errorText, useInterval } from './util.ts';

export interface LibraryFilters {
  type: string;
  projectId: string;
  q: string;
}

export interface Library {
  items: CardItem[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  loadMore(): void;
  rename(id: string, title: string): Promise<void>;
  move(id: string, projectId: string | null): Promise<void>;
  remove(id: string): Promise<void>;
  retry(id: string): Promise<void>;
}

const PAGE = 50;
/** Polling every processing card would be one request each; the first few show progress, the rest catch up. */
const POLL_AT_MOST = 12;

export function toCard(r: Recording): CardItem {
  return {
    id: r.id,
    href: `/recordings/${r.id}`,
    title: r.title,
    type: r.recordingType,
    durationSeconds: r.duration,
    bytes: r.fileSize ?? null,
    createdAt: r.createdAt,
    status: r.status,
    progress: r.progress ?? null,
    error: r.error ?? null,
    thumbnailUrl: r.thumbnailUrl ?? null,
    projectId: r.projectId,
    canEdit: r.canEdit ?? true,
    canDelete: r.canDelete ?? true,
    shared: r.shared ?? false,
    commentCount: r.commentCount ?? 0,
  };
}

export function localCard(t: LocalTake): CardItem {
  return {
    id: t.id,
    href: `/local/${t.id}`,
    title: t.title || 'Untitled recording',
    type: t.mode,
    durationSeconds: Math.round(t.durationMs / 1000),
    bytes: t.bytes,
    createdAt: t.startedAt,
    status: 'completed',
    progress: null,
    error: null,
    thumbnailUrl: null,
    projectId: t.projectId ?? null,
    canEdit: true,
    canDelete: true,
  };
}

/** Server library: keyset pages of 50, newest first; processing cards are re-read every 2 s. */
function useServerLibrary(f: LibraryFilters, enabled: boolean): Library {
  const [items, setItems] = useState<CardItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // A newer filter makes older in-flight pages irrelevant; the generation tells them apart.
  const gen = useRef(0);
  const inFlight = useRef(false);

  const fetchPage = useCallback(
    async (after: string | null, g: number) => {
      const qs = new URLSearchParams({ limit: String(PAGE) });
      if (after) qs.set('cursor', after);
      if (f.type) qs.set('type', f.type);
      if (f.projectId) qs.set('projectId', f.projectId);
      if (f.q.trim()) qs.set('q', f.q.trim());
      inFlight.current = true;
      setLoading(true);
      try {
        const page = await api<RecordingPage>('GET', `/api/recordings?${qs}`);
        if (g !== gen.current) return;
        setItems((prev) => {
          const seen = new Set(after ? prev.map((p) => p.id) : []);
          const fresh = page.items.map(toCard).filter((c) => !seen.has(c.id));
          return after ? [...prev, ...fresh] : fresh;
        });
        setCursor(page.nextCursor);
        setHasMore(page.nextCursor !== null);
        setError(null);
      } catch (err) {
        if (g === gen.current) setError(errorText(err));
      } finally {
        if (g === gen.current) {
          inFlight.current = false;
          setLoading(false);
        }
      }
    },
    [f.type, f.projectId, f.q],
  );

  useEffect(() => {
    if (!enabled) return;
    const g = ++gen.current;
    setItems([]);
    setCursor(null);
    setHasMore(false);
    void fetchPage(null, g);
  }, [fetchPage, enabled]);

  const loadMore = useCallback(() => {
    if (inFlight.current || !cursor) return;
    void fetchPage(cursor, gen.current);
  }, [cursor, fetchPage]);

  const replace = (r: Recording) => setItems((prev) => prev.map((p) => (p.id === r.id ? toCard(r) : p)));
  const processing = items.filter((i) => i.status === 'processing').slice(0, POLL_AT_MOST);
  useInterval(
    () => {
      for (const p of processing) {
        api<Recording>('GET', `/api/recordings/${p.id}`).then(replace, () => undefined);
      }
    },
    2000,
    enabled && processing.length > 0,
  );

  return {
    items,
    hasMore,
    loading,
    error,
    loadMore,
    rename: async (id, title) => replace(await api<Recording>('PATCH', `/api/recordings/${id}`, { title })),
    move: async (id, projectId) => {
      const r = await api<Recording>('PATCH', `/api/recordings/${id}`, { projectId });
      // Moved out of the project being viewed: it no longer belongs in this list.
      if (f.projectId && r.projectId !== f.projectId) setItems((prev) => prev.filter((p) => p.id !== id));
      else replace(r);
    },
    remove: async (id) => {
      await api('DELETE', `/api/recordings/${id}`);
      setItems((prev) => prev.filter((p) => p.id !== id));
    },
    retry: async (id) => replace(await api<Recording>('POST', `/api/recordings/${id}/retry`)),
  };
}

/** Browser-only library: kept takes from IndexedDB, filtered here, shown 50 more at a time. */
function useBrowserLibrary(f: LibraryFilters, session: Session, enabled: boolean): Library {
  const [all, setAll] = useState<LocalTake[]>([]);
  const [shown, setShown] = useState(PAGE);
  const [loading, setLoading] = useState(enabled);
  const [error, setError] = useState<string | null>(null);
  const { store, user } = session;

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    listKeptTakes(store, user.id).then(
      (takes) => {
        if (!live) return;
        setAll([...takes].sort((a, b) => b.startedAt.localeCompare(a.startedAt)));
        setLoading(false);
      },
      (err) => {
        if (!live) return;
        setError(errorText(err));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [store, user.id, enabled]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts again at the first page (the trigger)
  useEffect(() => setShown(PAGE), [f.type, f.q]);

  const q = f.q.trim().toLowerCase();
  const filtered = all.filter(
    (t) => (!f.type || t.mode === f.type) && (!q || (t.title ?? '').toLowerCase().includes(q)),
  );
  const update = async (id: string, patch: { title?: string }) => {
    const t = await renameKeptTake(store, user.id, id, patch);
    setAll((prev) => prev.map((p) => (p.id === id ? t : p)));
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: filtered is derived from these inputs
  const items = useMemo(() => filtered.slice(0, shown).map(localCard), [all, shown, f.type, q]);
  return {
    items,
    hasMore: filtered.length > shown,
    loading,
    error,
    loadMore: () => setShown((n) => n + PAGE),
    rename: (id, title) => update(id, { title }),
    move: async () => undefined,
    remove: async (id) => {
      await deleteKeptTake(store, user.id, id);
      setAll((prev) => prev.filter((p) => p.id !== id));
    },
    retry: async () => undefined,
  };
}

/**
 * Browser mode lists both sides: the takes in this browser, and the user's recordings on the server (made
 * before the user's side changed, or imported), marked "on the server" — nothing a user made disappears
 * from their library when the storage flag moves them. Newest first across both.
 */
function useMergedLibrary(browser: Library, server: Library): Library {
  const items = useMemo(
    () =>
      [...browser.items, ...server.items.map((i) => ({ ...i, where: 'server' as const }))].sort((a, b) =>
        b.createdAt.localeCompare(a.createdAt),
      ),
    [browser.items, server.items],
  );
  const onServer = (id: string) => server.items.some((i) => i.id === id);
  const pick = (id: string) => (onServer(id) ? server : browser);
  return {
    items,
    hasMore: browser.hasMore || server.hasMore,
    loading: browser.loading || server.loading,
    error: browser.error ?? server.error,
    loadMore: () => {
      if (browser.hasMore) browser.loadMore();
      if (server.hasMore) server.loadMore();
    },
    rename: (id, title) => pick(id).rename(id, title),
    move: (id, projectId) => pick(id).move(id, projectId),
    remove: (id) => pick(id).remove(id),
    retry: (id) => pick(id).retry(id),
  };
}

export function useLibrary(f: LibraryFilters, session: Session): Library {
  const server = useServerLibrary(f, true);
  const browser = useBrowserLibrary(f, session, session.storage === 'browser');
  const merged = useMergedLibrary(browser, server);
  return session.storage === 'server' ? server : merged;
}
