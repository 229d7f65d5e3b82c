import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

export interface PublicUser {
  id: string;
  email: string;
  displayName: string;
  createdAt: string;
}

export class AuthRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findUserByEmail(email: string) {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .executeTakeFirst();
  }

  findUserById(id: string) {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** undefined when the email is taken (unique index on lower(email)). */
  async insertUser(u: { id: string; email: string; displayName: string; passwordHash: string }) {
    return this.db
      .insertInto('users')
      .values({ id: u.id, email: u.email, display_name: u.displayName, password_hash: u.passwordHash })
      .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  insertSession(s: { id: string; userId: string; expiresAt: Date; userAgent: string | null }) {
    return this.db
      .insertInto('auth_sessions')
      .values({ id: s.id, user_id: s.userId, expires_at: s.expiresAt, user_agent: s.userAgent })
      .execute();
  }

  /** The session's user when the session exists and has not expired. */
  sessionUser(sessionId: string, now: Date) {
    return this.db
      .selectFrom('auth_sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['u.id', 'u.email', 'u.display_name', 'u.created_at', 's.last_seen_at', 's.expires_at'])
      .where('s.id', '=', sessionId)
      .where('s.expires_at', '>', now)
      .executeTakeFirst();
  }

  touchSession(sessionId: string, now: Date, expiresAt: Date) {
    return this.db
      .updateTable('auth_sessions')
      .set({ last_seen_at: now, expires_at: expiresAt })
      .where('id', '=', sessionId)
      .execute();
  }

  deleteSession(sessionId: string) {
    return this.db.deleteFrom('auth_sessions').where('id', '=', sessionId).execute();
  }

  deleteExpiredSessions(now: Date) {
    return this.db.deleteFrom('auth_sessions').where('expires_at', '<=', now).executeTakeFirst();
  }

  tokenUser(hash: string, now: Date) {
    return this.db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['u.id', 'u.email', 'u.display_name', 'u.created_at', 't.id as token_id', 't.last_used_at'])
      .where('t.token_hash', '=', hash)
      .where('t.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', now)]))
      .executeTakeFirst();
  }

  touchToken(id: string, now: Date) {
    return this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  insertToken(t: { userId: string; name: string; hash: string; prefix: string; expiresAt: Date | null }) {
    return this.db
      .insertInto('api_tokens')
      .values({ user_id: t.userId, name: t.name, token_hash: t.hash, token_prefix: t.prefix, expires_at: t.expiresAt })
      .returning(['id', 'name', 'token_prefix', 'created_at', 'expires_at'])
      .executeTakeFirstOrThrow();
  }

  listTokens(userId: string) {
    return this.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'token_prefix', 'created_at', 'last_used_at', 'expires_at'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
  }

  async revokeToken(userId: string, id: string, now: Date): Promise<boolean> {
    const r = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
