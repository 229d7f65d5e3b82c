/**
 * Is a process with this pid running (on this host)? Signal 0 checks without sending anything; EPERM
 * means it exists but belongs to another user, which still counts as alive (a lock or a data
 * directory held by it is not ours to take).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
