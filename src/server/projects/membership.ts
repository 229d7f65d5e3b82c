/**
 * Kept only for sessions.repository.ts (another owner's file), which imports memberRole from here: the
 * query is the access module's (access.repository.ts), and every decision on it is made in access.ts.
 * Once that import points at AccessRepository, this file goes.
 */
import type { Kysely } from 'kysely';
import type { DB, MemberRole } from '../db/schema.js';
import { AccessRepository } from '../access/access.repository.js';

/** The user's role in the project; undefined when they are not a member (or there is no such project). */
export function memberRole(db: Kysely<DB>, projectId: string, userId: string): Promise<MemberRole | undefined> {
  return new AccessRepository(db).projectRole(projectId, userId);
}
