import type { Kysely } from 'kysely';
import type { DB, MemberRole } from '../db/schema.js';

export class ProjectsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Creates the project and its owner membership together. */
  create(ownerId: string, name: string) {
    return this.db.transaction().execute(async (tx) => {
      const p = await tx
        .insertInto('projects')
        .values({ owner_id: ownerId, name })
        .returningAll()
        .executeTakeFirstOrThrow();
      await tx.insertInto('project_members').values({ project_id: p.id, user_id: ownerId, role: 'owner' }).execute();
      return { ...p, role: 'owner' as MemberRole };
    });
  }

  /** The projects a user belongs to, with their role, newest first. */
  listForUser(userId: string) {
    return this.db
      .selectFrom('projects as p')
      .innerJoin('project_members as m', 'm.project_id', 'p.id')
      .select(['p.id', 'p.owner_id', 'p.name', 'p.created_at', 'p.updated_at', 'm.role'])
      .select((eb) =>
        eb
          .selectFrom('recordings as r')
          .whereRef('r.project_id', '=', 'p.id')
          .select(eb.fn.countAll<string>().as('n'))
          .as('recording_count'),
      )
      .where('m.user_id', '=', userId)
      .orderBy('p.created_at', 'desc')
      .orderBy('p.id', 'desc')
      .execute();
  }

  /** The project as seen by userId: undefined when it does not exist or they are not a member. */
  getForUser(projectId: string, userId: string) {
    return this.db
      .selectFrom('projects as p')
      .innerJoin('project_members as m', 'm.project_id', 'p.id')
      .select(['p.id', 'p.owner_id', 'p.name', 'p.created_at', 'p.updated_at', 'm.role'])
      .where('p.id', '=', projectId)
      .where('m.user_id', '=', userId)
      .executeTakeFirst();
  }

  rename(projectId: string, name: string) {
    return this.db
      .updateTable('projects')
      .set({ name })
      .where('id', '=', projectId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Deletes the project; its recordings go with it (ON DELETE CASCADE, as the spec says), and the
   * recordings' delete trigger queues their media in the same transaction (migration 0010).
   */
  delete(projectId: string) {
    return this.db.deleteFrom('projects').where('id', '=', projectId).execute();
  }

  members(projectId: string) {
    return this.db
      .selectFrom('project_members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.id', 'u.email', 'u.display_name', 'm.role', 'm.created_at'])
      .where('m.project_id', '=', projectId)
      .orderBy('m.created_at')
      .execute();
  }

  /** undefined when the user is a member already. */
  addMember(projectId: string, userId: string, role: MemberRole) {
    return this.db
      .insertInto('project_members')
      .values({ project_id: projectId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  async setRole(projectId: string, userId: string, role: MemberRole): Promise<boolean> {
    const r = await this.db
      .updateTable('project_members')
      .set({ role })
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async removeMember(projectId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('project_members')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async ownerCount(projectId: string): Promise<number> {
    const r = await this.db
      .selectFrom('project_members')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('project_id', '=', projectId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  findUserByEmail(email: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'email', 'display_name'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .executeTakeFirst();
  }
}
