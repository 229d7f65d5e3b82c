/**
 * The Web Locks API (navigator.locks) for one JavaScript realm, for Node tests: Node 20 has none.
 * Exclusive locks only, as locks.ts uses them: request(name, {ifAvailable?}, cb) holds the lock until
 * cb's promise settles (ifAvailable: cb(null) at once when it is held), waiters are granted in order,
 * query() reports held and pending requests — the semantics of the spec (w3c.github.io/web-locks).
 */
type Cb = (lock: Lock | null) => unknown;

export class InProcessLockManager {
  private held = new Set<string>();
  private queue: { name: string; grant: () => void }[] = [];

  async request(name: string, a: LockOptions | Cb, b?: Cb): Promise<unknown> {
    const opts = typeof a === 'function' ? {} : a;
    const cb = (typeof a === 'function' ? a : b)!;
    if (this.held.has(name) || this.queue.some((q) => q.name === name)) {
      if (opts.ifAvailable) return cb(null);
      await new Promise<void>((grant) => this.queue.push({ name, grant }));
    }
    this.held.add(name);
    try {
      return await cb({ name, mode: 'exclusive' } as Lock);
    } finally {
      this.held.delete(name);
      const i = this.queue.findIndex((q) => q.name === name);
      if (i >= 0) this.queue.splice(i, 1)[0]!.grant();
    }
  }

  async query(): Promise<LockManagerSnapshot> {
    return {
      held: [...this.held].map((name) => ({ name, mode: 'exclusive' as const, clientId: 'test' })),
      pending: this.queue.map((q) => ({ name: q.name, mode: 'exclusive' as const, clientId: 'test' })),
    };
  }
}
