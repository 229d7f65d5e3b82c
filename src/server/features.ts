/**
 * Per-user features the web app learns from GET /api/auth/me. For now one: where takes are stored
 * (USE_DATABASE_STORAGE). A percentage enables server storage for a stable share of users: the same
 * user lands on the same side on every call, on every server process and after every restart, because
 * the answer is a pure function of the user id and the configured share.
 */
import { createHash } from 'node:crypto';

export type StorageMode = 'server' | 'browser';

/** 0..99 for a user id: the first 4 bytes of sha256(userId), as an unsigned integer, mod 100. */
export function rolloutBucket(userId: string): number {
  return createHash('sha256').update(userId, 'utf8').digest().readUInt32BE(0) % 100;
}

export function storageFor(userId: string, percent: number): StorageMode {
  if (percent >= 100) return 'server';
  if (percent <= 0) return 'browser';
  return rolloutBucket(userId) < percent ? 'server' : 'browser';
}
