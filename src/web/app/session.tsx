import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError } from '../persist/api.ts';
import { TakeStore } from '../persist/take-store.ts';
import { TakeManager } from '../persist/take-manager.ts';
import type { Me, Storage, User } from './types.ts';

/**
 * Who is signed in, where their recordings live, and the persistence objects bound to them.
 * One TakeManager per signed-in user: it owns live uploads, which must outlive page changes.
 */
export interface Session {
  user: User;
  storage: Storage;
  store: TakeStore;
  manager: TakeManager;
}

type State =
  | { kind: 'loading' }
  | { kind: 'signed-out' }
  | { kind: 'error'; message: string }
  | { kind: 'signed-in'; session: Session };

interface Ctx {
  state: State;
  refresh(): Promise<void>;
  signOut(): Promise<void>;
  /** Ends every session of this account, on every device, and revokes its API tokens; throws ApiError. */
  signOutEverywhere(): Promise<void>;
}

const SessionContext = createContext<Ctx | null>(null);

let storePromise: Promise<TakeStore> | null = null;
const openStore = () => (storePromise ??= TakeStore.open());

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const refresh = useCallback(async () => {
    try {
      const me = await api<Me>('GET', '/api/auth/me');
      const storage: Storage = me.features?.storage === 'browser' ? 'browser' : 'server';
      const store = await openStore();
      const manager = new TakeManager({ store, userId: me.user.id, storage });
      setState({ kind: 'signed-in', session: { user: me.user, storage, store, manager } });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setState({ kind: 'signed-out' });
      else setState({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }, []);

  const signOut = useCallback(async () => {
    await api('POST', '/api/auth/signout').catch(() => undefined);
    setState({ kind: 'signed-out' });
  }, []);

  const signOutEverywhere = useCallback(async () => {
    await api('POST', '/api/auth/signout-everywhere');
    setState({ kind: 'signed-out' });
  }, []);

  useEffect(() => void refresh(), [refresh]);

  const value = useMemo(
    () => ({ state, refresh, signOut, signOutEverywhere }),
    [state, refresh, signOut, signOutEverywhere],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionState(): Ctx {
  const c = useContext(SessionContext);
  if (!c) throw new Error('useSessionState outside SessionProvider');
  return c;
}

/** For pages behind the sign-in wall: the session is always there. */
export function useSession(): Session {
  const { state } = useSessionState();
  if (state.kind !== 'signed-in') throw new Error('useSession on a signed-out page');
  return state.session;
}
