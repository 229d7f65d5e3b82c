/**
 * Sign-in limits that hold across every server process: counters live in PostgreSQL (sign_in_limits),
 * one row per account (lower-cased email) and one per client address, keyed by their sha256 so the
 * table lists neither emails nor addresses.
 *
 * - Failed sign-ins count per account from ALL addresses (a sprayer rotating addresses against one
 *   account hits it) and per address over ALL accounts (one password sprayed over many accounts from
 *   one address hits it). Only failures count: users who type their password right are never slowed.
 * - `max` failures within a minute lock the key: a minute the first time, then twice as long each time
 *   it trips again, capped (15 minutes by default), so an attacker cannot lock a user out for long.
 *   A key that has been quiet for the cap is forgotten. A correct password clears its account's count;
 *   it does not clear the address's, or a sprayer could reset it with an account of their own.
 * - A locked key answers 429 before the password is checked: the answer says nothing about whether
 *   the password was right, and costs no password hash.
 */
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { SignInLimitsConfig } from '../config.js';

export type SignInPolicy = SignInLimitsConfig;

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = { accountPerMinute: 10, addressPerMinute: 30, lockMaxSeconds: 900 };
export const WINDOW_MS = 60_000;
export const FIRST_LOCK_MS = 60_000;

export interface LimitState {
  failures: number;
  windowStartedAt: Date;
  lockedUntil: Date | null;
  /** How many times in a row this key was locked: the next lock lasts 2^lockouts minutes (capped). */
  lockouts: number;
  updatedAt: Date;
}

export interface LimitStore {
  /** The latest lock still running on any of the keys, if one is. */
  activeLock(keys: string[], now: Date): Promise<Date | undefined>;
  /** Applies `next` to each key's state atomically (a row lock per key: concurrent servers queue). */
  updateLimits(keys: string[], now: Date, next: (key: string, prev: LimitState) => LimitState): Promise<void>;
  deleteLimit(key: string): Promise<void>;
}

/** A sign-in counts against both; a refused sign-up only against its address. */
export interface LimitKeys {
  account?: string;
  address: string;
}

const keyList = (keys: LimitKeys) => (keys.account ? [keys.account, keys.address] : [keys.address]);

/** The state after one more failure at `now`, for a key allowed `max` failures a minute. */
export function afterFailure(prev: LimitState, now: Date, max: number, lockMaxMs: number): LimitState {
  const t = now.getTime();
  const lastActivity = Math.max(prev.updatedAt.getTime(), prev.lockedUntil?.getTime() ?? 0);
  const quiet = t - lastActivity > lockMaxMs;
  const lockouts = quiet ? 0 : prev.lockouts;
  const windowOver = quiet || t - prev.windowStartedAt.getTime() >= WINDOW_MS;
  const failures = (windowOver ? 0 : prev.failures) + 1;
  const windowStartedAt = windowOver ? now : prev.windowStartedAt;
  if (failures < max) return { failures, windowStartedAt, lockedUntil: prev.lockedUntil, lockouts, updatedAt: now };
  const lockMs = Math.min(FIRST_LOCK_MS * 2 ** Math.min(lockouts, 20), lockMaxMs);
  return {
    failures: 0,
    windowStartedAt: now,
    lockedUntil: new Date(t + lockMs),
    lockouts: lockouts + 1,
    updatedAt: now,
  };
}

/**
 * The part of an address that identifies one client: an IPv4 address, or an IPv6 /64 (one customer's
 * network: a single host can take any address in it).
 */
export function clientNetwork(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare) || bare.includes('.')) return address;
  const [head = '', tail = ''] = bare.split('::');
  const front = head ? head.split(':') : [];
  const back = bare.includes('::') && tail ? tail.split(':') : [];
  const groups = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

export function limitKeys(email: string, address: string): Required<LimitKeys> {
  return {
    account: `account:${digest(email.trim().toLowerCase())}`,
    address: `address:${digest(clientNetwork(address))}`,
  };
}

export class SignInLimiter {
  constructor(
    private readonly store: LimitStore,
    private readonly clock: Clock,
    private readonly policy: SignInPolicy,
  ) {}

  /** 429 RATE_LIMITED (details.retryAfterSeconds) while the account or the address is locked. */
  async assertAllowed(keys: LimitKeys): Promise<void> {
    const now = this.clock.now();
    const until = await this.store.activeLock(keyList(keys), now);
    if (!until) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
    throw new AppError('RATE_LIMITED', `Too many attempts; try again in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }

  async failed(keys: LimitKeys): Promise<void> {
    const lockMaxMs = this.policy.lockMaxSeconds * 1000;
    const now = this.clock.now();
    await this.store.updateLimits(keyList(keys), now, (key, prev) =>
      afterFailure(
        prev,
        now,
        key === keys.account ? this.policy.accountPerMinute : this.policy.addressPerMinute,
        lockMaxMs,
      ),
    );
  }

  async succeeded(keys: LimitKeys): Promise<void> {
    if (keys.account) await this.store.deleteLimit(keys.account);
  }
}
