/**
 * "This take belongs to a live page": a Web Lock `recorder-take-<id>` held by the page that records
 * (or recovers) the take. The browser releases it when that page dies, however it dies, so another tab
 * or the next load can tell a take in progress from an abandoned one.
 *
 * Where Web Locks are missing (Node tests, very old browsers) the in-process set below is all there is:
 * another tab cannot see it, so two tabs could both offer the same abandoned take; recovering it twice
 * is still safe (the server returns the session's one recording).
 */

const liveInThisPage = new Set<string>();

export const lockName = (takeId: string) => `recorder-take-${takeId}`;

function locks(): LockManager | undefined {
  return typeof navigator !== 'undefined' ? navigator.locks : undefined;
}

/** Holds the take's lock until the returned release is called; null when another page holds it. */
export async function holdTakeLock(takeId: string): Promise<(() => void) | null> {
  if (liveInThisPage.has(takeId)) return null;
  liveInThisPage.add(takeId);
  const lm = locks();
  if (!lm) return () => void liveInThisPage.delete(takeId);
  const got = await new Promise<(() => void) | null>((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    lm.request(lockName(takeId), { ifAvailable: true }, async (lock) => {
      if (!lock) return resolve(null);
      resolve(release);
      await held;
    }).catch(reject);
  });
  if (!got) {
    liveInThisPage.delete(takeId);
    return null;
  }
  return () => {
    liveInThisPage.delete(takeId);
    got();
  };
}

/**
 * true when no page (this one included) holds or waits for the take's lock. It only looks
 * (locks.query): probing with request() would hold the lock for a moment, and a page starting that
 * very take then could not get it and would record with no lock — other tabs would offer its live
 * take as abandoned. request() remains only where query() is missing.
 */
export async function isTakeLockFree(takeId: string): Promise<boolean> {
  if (liveInThisPage.has(takeId)) return false;
  const lm = locks();
  if (!lm) return true;
  const name = lockName(takeId);
  if (typeof lm.query === 'function') {
    const s = await lm.query();
    return !(s.held ?? []).some((l) => l.name === name) && !(s.pending ?? []).some((l) => l.name === name);
  }
  return lm.request(name, { ifAvailable: true }, async (lock) => lock !== null);
}

/** A fresh take's lock can only be busy for a moment (another tab's isTakeLockFree fallback probe). */
export async function holdLockBriefly(takeId: string): Promise<(() => void) | null> {
  for (let i = 0; i < 10; i++) {
    const release = await holdTakeLock(takeId).catch(() => null);
    if (release) return release;
    await new Promise((r) => setTimeout(r, 50 * (i + 1)));
  }
  return null;
}
