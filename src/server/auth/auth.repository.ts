import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, SignInLimitsTable } from '../db/schema.js';
import type { LimitState, LimitStore } from './sign-in-limits.js';

const DAY_MS = 86_400_000;

function toLimitState(row: Selectable<SignInLimitsTable>): LimitState {
  return {
    failures: row.failures,
    windowStartedAt: row.window_started_at,
    lockedUntil: row.locked_until,
    lockouts: row.lockouts,
    updatedAt: row.updated_at,
  };
}

export interface PublicUser {
  id: string;
  email: string;
  displayName: string;
  createdAt: string;
}

export class AuthRepository implements LimitStore {
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

  /** Expired sessions; and, as the same kind of leftover, sign-in limits nobody has hit for a day. */
  async deleteExpiredSessions(now: Date) {
    await this.db
      .deleteFrom('sign_in_limits')
      .where('updated_at', '<', new Date(now.getTime() - DAY_MS))
      .execute();
    return this.db.deleteFrom('auth_sessions').where('expires_at', '<=', now).executeTakeFirst();
  }

  /** Sign out everywhere: every session of the user goes, every live API token is revoked, at once. */
  revokeEverything(userId: string, now: Date) {
    return this.db.transaction().execute(async (trx) => {
      const sessions = await trx.deleteFrom('auth_sessions').where('user_id', '=', userId).executeTakeFirst();
      const tokens = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return { sessions: Number(sessions.numDeletedRows), tokens: Number(tokens.numUpdatedRows) };
    });
  }

  async activeLock(keys: string[], now: Date): Promise<Date | undefined> {
    const row = await this.db
      .selectFrom('sign_in_limits')
      .select((eb) => eb.fn.max('locked_until').as('until'))
      .where('key', 'in', keys)
      .where('locked_until', '>', now)
      .executeTakeFirst();
    return row?.until ?? undefined;
  }

  async updateLimits(keys: string[], now: Date, next: (key: string, prev: LimitState) => LimitState): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Sorted: two servers updating the same pair of rows take their locks in the same order (no deadlock).
      for (const key of [...keys].sort()) {
        // Creates the row, or takes the existing one's row lock: concurrent failures on a key queue here.
        const row = await trx
          .insertInto('sign_in_limits')
          .values({ key, window_started_at: now, updated_at: now })
          .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ key: eb.ref('excluded.key') })))
          .returningAll()
          .executeTakeFirstOrThrow();
        const state = next(key, toLimitState(row));
        await trx
          .updateTable('sign_in_limits')
          .set({
            failures: state.failures,
            window_started_at: state.windowStartedAt,
            locked_until: state.lockedUntil,
            lockouts: state.lockouts,
            updated_at: state.updatedAt,
          })
          .where('key', '=', key)
          .execute();
      }
    });
  }

  async deleteLimit(key: string): Promise<void> {
    await this.db.deleteFrom('sign_in_limits').where('key', '=', key).execute();
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
