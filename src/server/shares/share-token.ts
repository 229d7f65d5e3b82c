/**
 * Share-link tokens and the grants of password links (issue 13).
 *
 * A token is 'sh_' + 32 random bytes in base64url (256 bits), shown once at creation and stored only as
 * its sha256. A grant is what a visitor who typed the right password sends back (X-Share-Access, or
 * ?access= where a <video> cannot set headers): "<expiry epoch seconds>.<base64url HMAC-SHA256>", keyed
 * by the link's password hash. No server secret is needed, and changing or clearing the password voids
 * every grant made with the old one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { tokenHash } from '../auth/secrets.js';

export const GRANT_LIFETIME_MS = 12 * 60 * 60 * 1000;
const TOKEN_SHAPE = /^sh_[A-Za-z0-9_-]{43}$/;
const GRANT_SHAPE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export function newShareToken(): string {
  return `sh_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a well-formed token; undefined for anything no link could have (truncated, forged). */
export function shareTokenHash(token: string): string | undefined {
  return TOKEN_SHAPE.test(token) ? tokenHash(token) : undefined;
}

function signature(passwordHash: string, shareId: string, expirySeconds: number): Buffer {
  return createHmac('sha256', passwordHash).update(`${shareId}.${expirySeconds}`).digest();
}

export function makeGrant(passwordHash: string, shareId: string, now: Date): { access: string; expiresAt: Date } {
  const expirySeconds = Math.floor((now.getTime() + GRANT_LIFETIME_MS) / 1000);
  const mac = signature(passwordHash, shareId, expirySeconds).toString('base64url');
  return { access: `${expirySeconds}.${mac}`, expiresAt: new Date(expirySeconds * 1000) };
}

export function grantIsValid(passwordHash: string, shareId: string, access: string | undefined, now: Date): boolean {
  const match = access ? GRANT_SHAPE.exec(access) : null;
  if (!match) return false;
  const expirySeconds = Number(match[1]);
  if (expirySeconds * 1000 <= now.getTime()) return false;
  const expected = signature(passwordHash, shareId, expirySeconds);
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'base64url'));
}
