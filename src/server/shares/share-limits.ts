/**
 * Wrong passwords of share links, limited across every server process (counters in share_password_failures,
 * migration 0030), after the pattern of auth/sign-in-limits.ts but simpler: 10 wrong passwords for one link
 * (from all addresses) or from one address (over all links) within 15 minutes refuse that key until those
 * 15 minutes are over. Only failures count; a locked key answers 429 before the password is checked, so the
 * answer says nothing about it and costs no argon2 hash.
 */
import { createHash } from 'node:crypto';
import { clientNetwork } from '../auth/sign-in-limits.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { SharesRepository } from './shares.repository.js';

export const SHARE_PASSWORD_MAX_FAILURES = 10;
export const SHARE_PASSWORD_WINDOW_MS = 15 * 60 * 1000;

/** The link's key and the address's (its sha256, of the IPv6 /64 where it is one: the table lists no address). */
export function sharePasswordKeys(shareId: string, address: string): string[] {
  return [`share:${shareId}`, `address:${createHash('sha256').update(clientNetwork(address)).digest('hex')}`];
}

export class SharePasswordLimiter {
  constructor(
    private readonly repo: SharesRepository,
    private readonly clock: Clock,
  ) {}

  /** 429 SHARE_RATE_LIMITED (details.retryAfterSeconds) while the link or the address is locked. */
  async assertAllowed(keys: string[]): Promise<void> {
    const now = this.clock.now();
    const since = new Date(now.getTime() - SHARE_PASSWORD_WINDOW_MS);
    const started = await this.repo.lockedSince(keys, since, SHARE_PASSWORD_MAX_FAILURES);
    if (!started) return;
    const until = started.getTime() + SHARE_PASSWORD_WINDOW_MS;
    const retryAfterSeconds = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
    throw new AppError('SHARE_RATE_LIMITED', `Too many wrong passwords; try again in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }

  async failed(keys: string[]): Promise<void> {
    const now = this.clock.now();
    const since = new Date(now.getTime() - SHARE_PASSWORD_WINDOW_MS);
    // Sorted: two servers counting the same pair of keys take their row locks in the same order.
    for (const key of [...keys].sort()) await this.repo.recordFailure(key, now, since);
  }
}
