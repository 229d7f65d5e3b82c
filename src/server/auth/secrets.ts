import { hash, verify, Algorithm } from '@node-rs/argon2';
import { createHash, randomBytes } from 'node:crypto';

/** argon2id with the library's defaults (19 MiB, t=2, p=1: OWASP's recommended minimum). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: Algorithm.Argon2id });
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash computed for unknown emails, so a sign-in takes as long whether or not the account exists. */
export const DUMMY_HASH = hash('not-a-real-password', { algorithm: Algorithm.Argon2id });

/** 256 random bits; the prefix tells a session cookie from an API token at a glance. */
export function newToken(prefix: 'rs' | 'rt'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are stored only as their sha256: a leaked table opens nothing. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Ids for users and uploads: 128 random bits, URL-safe, fits chk_user_id. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}
