/**
 * Browser-only mode's library: kept takes live in IndexedDB and are listed, played, renamed and
 * deleted from there (the server never sees them).
 */
import type { LocalTake, TakeStore } from './take-store.ts';

/** The user's kept local takes, newest first. */
export async function listKeptTakes(store: TakeStore, userId: string): Promise<LocalTake[]> {
  return (await store.list(userId)).filter((t) => t.state === 'kept');
}

/** One kept take, or undefined when it is not this user's or not kept. */
export async function getKeptTake(store: TakeStore, userId: string, id: string): Promise<LocalTake | undefined> {
  const t = await store.get(id);
  return t && t.userId === userId && t.state === 'kept' ? t : undefined;
}

/** The take's media for a <video>/<audio> (URL.createObjectURL on it; revoke when done). */
export function takeBlob(store: TakeStore, id: string): Promise<Blob> {
  return store.blob(id);
}

export async function renameKeptTake(
  store: TakeStore,
  userId: string,
  id: string,
  patch: { title?: string; description?: string },
): Promise<LocalTake> {
  if (!(await getKeptTake(store, userId, id))) throw new Error('No such recording in this browser');
  return store.update(id, patch);
}

export async function deleteKeptTake(store: TakeStore, userId: string, id: string): Promise<void> {
  if (!(await getKeptTake(store, userId, id))) throw new Error('No such recording in this browser');
  await store.delete(id);
}
