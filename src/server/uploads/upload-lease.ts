/**
 * A tus Locker whose locks are leases on the `uploads` row, so one request at a time works on an upload
 * whichever app server it reached (@tus/server's default MemoryLocker only knows its own process).
 *
 * - A lease lasts LEASE_MS and is renewed every RENEW_MS while its request runs; a server killed with
 *   `kill -9` stops renewing, and its lease is free again within LEASE_MS.
 * - A request that finds the lease taken asks its holder to let go (release_requested_at), as the
 *   MemoryLocker does in-process: a client only sends a new request for an upload when it gave up on
 *   the previous one (a half-open connection the server has not noticed). The holder sees the request
 *   at its next renewal and ends its write gracefully, keeping the bytes it stored.
 * - Every write commit is fenced by the lease token (UploadsRepository.commit): a holder that lost its
 *   lease while paused can store nothing more.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lock, Locker, RequestRelease } from '@tus/utils';
import type { Logger } from '../logger.js';
import type { UploadsRepository } from './uploads.repository.js';

export interface LeaseTimings {
  leaseMs: number;
  renewMs: number;
  acquireTimeoutMs: number;
}

const DEFAULT_TIMINGS: LeaseTimings = { leaseMs: 6_000, renewMs: 1_000, acquireTimeoutMs: 30_000 };

/** Lease not acquired in time: 423 Locked, which tus clients retry. */
export const LEASE_TIMEOUT = {
  status_code: 423,
  body: JSON.stringify({ code: 'UPLOAD_LOCKED', message: 'Another request is working on this upload; retry shortly' }),
};

export class UploadLeaseLocker implements Locker {
  /** upload id → the token of the lease this process holds (the store fences its commits with it). */
  private readonly held = new Map<string, string>();
  readonly timings: LeaseTimings;

  constructor(
    readonly repo: UploadsRepository,
    readonly logger: Logger,
    timings: Partial<LeaseTimings> = {},
  ) {
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
  }

  newLock(id: string): Lock {
    return new UploadLease(id, this);
  }

  tokenOf(id: string): string | undefined {
    return this.held.get(id);
  }

  hold(id: string, token: string): void {
    this.held.set(id, token);
  }

  drop(id: string, token: string): void {
    if (this.held.get(id) === token) this.held.delete(id);
  }
}

class UploadLease implements Lock {
  private token: string | undefined;
  private renewal: NodeJS.Timeout | undefined;

  constructor(
    private readonly id: string,
    private readonly locker: UploadLeaseLocker,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const { repo, timings } = this.locker;
    const token = randomUUID();
    const deadline = Date.now() + timings.acquireTimeoutMs;
    let asked = false;
    for (let wait = 10; !(await repo.tryLease(this.id, token, timings.leaseMs)); wait = Math.min(wait * 2, 250)) {
      // No row: nothing to lock; the handler answers 404 from getUpload.
      if (!(await repo.exists(this.id))) return;
      if (!asked) {
        await repo.requestRelease(this.id);
        asked = true;
      }
      if (signal.aborted || Date.now() > deadline) throw LEASE_TIMEOUT;
      await sleep(wait);
    }
    this.token = token;
    this.locker.hold(this.id, token);
    this.renewal = setInterval(() => void this.renew(requestRelease), timings.renewMs);
    this.renewal.unref();
  }

  private async renew(requestRelease: RequestRelease): Promise<void> {
    if (!this.token) return;
    try {
      const { held, releaseRequested } = await this.locker.repo.renewLease(
        this.id,
        this.token,
        this.locker.timings.leaseMs,
      );
      if (!held || releaseRequested) await requestRelease();
    } catch (err) {
      // The database briefly away: the lease may lapse, and the fenced commit will then refuse.
      this.locker.logger.warn({ uploadId: this.id, err: (err as Error).message }, 'could not renew an upload lease');
    }
  }

  async unlock(): Promise<void> {
    clearInterval(this.renewal);
    const token = this.token;
    if (!token) return;
    this.token = undefined;
    this.locker.drop(this.id, token);
    await this.locker.repo.releaseLease(this.id, token).catch((err: Error) => {
      // It lapses by itself within the lease time.
      this.locker.logger.warn({ uploadId: this.id, err: err.message }, 'could not release an upload lease');
    });
  }
}
