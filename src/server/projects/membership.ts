/**
 * Project membership as the recordings, sessions and uploads code asks about it: the user's role in
 * one project, and whether that role may add recordings to it.
 */
import type { Kysely } from 'kysely';
import type { DB, MemberRole } from '../db/schema.js';
import { AppError } from '../errors.js';

/** The user's role in the project; undefined when they are not a member (or there is no such project). */
export function memberRole(db: Kysely<DB>, projectId: string, userId: string): Promise<MemberRole | undefined> {
  return db
    .selectFrom('project_members')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
    .then((r) => r?.role as MemberRole | undefined);
}

/**
 * Throws unless this role may add recordings to the project. A non-member gets 404, as if the project
 * did not exist (its existence is not theirs to learn); a viewer gets 403.
 */
export function assertCanAddRecordings(role: MemberRole | undefined): void {
  if (!role) throw new AppError('PROJECT_NOT_FOUND');
  if (role === 'viewer') throw new AppError('FORBIDDEN', 'Viewers cannot add recordings to a project');
}
