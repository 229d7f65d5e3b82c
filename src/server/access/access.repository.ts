/**
 * The SQL behind access decisions: a user's role in projects. The decisions themselves are in access.ts.
 */
import type { Kysely } from 'kysely';
import type { DB, MemberRole } from '../db/schema.js';
import { isBigintId } from '../ids.js';

export class AccessRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The user's role in the project; undefined when they are not a member, or there is no such project. */
  async projectRole(projectId: string, userId: string): Promise<MemberRole | undefined> {
    // An id no bigint can hold names no project: answered here, never a cast error in the query.
    if (!isBigintId(projectId)) return undefined;
    const row = await this.db
      .selectFrom('project_members')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  /** The user's role in each of these projects (absent: not a member), in one query. */
  async projectRoles(projectIds: readonly string[], userId: string): Promise<Map<string, MemberRole>> {
    const ids = projectIds.filter(isBigintId);
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('project_members')
      .select(['project_id', 'role'])
      .where('user_id', '=', userId)
      .where('project_id', 'in', ids)
      .execute();
    return new Map(rows.map((r) => [r.project_id, r.role]));
  }

  /** Whether this is the first account created (the instance's administrator, with ADMIN_EMAILS). */
  async isFirstAccount(userId: string): Promise<boolean> {
    const first = await this.db
      .selectFrom('users')
      .select('id')
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return first?.id === userId;
  }
}
