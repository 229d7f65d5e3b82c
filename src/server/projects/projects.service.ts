import { type Action, authorize, relationsOf } from '../access/access.js';
import type { MemberRole } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import { JOBS, type JobQueue } from '../jobs/queue.js';
import type { ProjectsRepository } from './projects.repository.js';

interface ProjectRow {
  id: string;
  owner_id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
  role: MemberRole;
  recording_count?: string | null;
}

function toApi(p: ProjectRow) {
  return {
    id: p.id,
    name: p.name,
    ownerId: p.owner_id,
    role: p.role,
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
    ...(p.recording_count !== undefined ? { recordingCount: Number(p.recording_count ?? 0) } : {}),
  };
}

export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly queue: JobQueue,
  ) {}

  /** The member's view of the project once access.ts allows the action (404 for non-members, 403 else). */
  async access(projectId: string, userId: string, action: Action): Promise<ProjectRow> {
    const p = isBigintId(projectId) ? await this.repo.getForUser(projectId, userId) : undefined;
    authorize(action, relationsOf(userId, { role: p?.role }));
    return p!;
  }

  async create(userId: string, name: string) {
    return toApi(await this.repo.create(userId, name.trim()));
  }

  async list(userId: string) {
    return (await this.repo.listForUser(userId)).map(toApi);
  }

  async get(projectId: string, userId: string) {
    return toApi(await this.access(projectId, userId, 'project.read'));
  }

  async rename(projectId: string, userId: string, name: string) {
    const p = await this.access(projectId, userId, 'project.rename');
    const updated = await this.repo.rename(projectId, name.trim());
    return toApi({ ...updated, role: p.role });
  }

  async delete(projectId: string, userId: string): Promise<void> {
    await this.access(projectId, userId, 'project.delete');
    await this.repo.delete(projectId);
    await this.queue.send(JOBS.deleteMedia, {}); // the recordings' media, queued by their delete trigger
  }

  async members(projectId: string, userId: string) {
    await this.access(projectId, userId, 'project.read');
    return (await this.repo.members(projectId)).map((m) => ({
      userId: m.id,
      email: m.email,
      displayName: m.display_name,
      role: m.role,
      addedAt: m.created_at.toISOString(),
    }));
  }

  async addMember(projectId: string, userId: string, email: string, role: MemberRole) {
    await this.access(projectId, userId, 'project.manageMembers');
    const user = await this.repo.findUserByEmail(email.trim());
    if (!user) throw new AppError('USER_NOT_FOUND');
    const m = await this.repo.addMember(projectId, user.id, role);
    if (!m) throw new AppError('ALREADY_MEMBER');
    return {
      userId: user.id,
      email: user.email,
      displayName: user.display_name,
      role: m.role,
      addedAt: m.created_at.toISOString(),
    };
  }

  async setRole(projectId: string, userId: string, memberId: string, role: MemberRole) {
    await this.access(projectId, userId, 'project.manageMembers');
    if (
      role !== 'owner' &&
      (await this.repo.getForUser(projectId, memberId))?.role === 'owner' &&
      (await this.repo.ownerCount(projectId)) <= 1
    ) {
      throw new AppError('LAST_OWNER');
    }
    if (!(await this.repo.setRole(projectId, memberId, role)))
      throw new AppError('NOT_FOUND', 'That user is not a member of the project');
  }

  /** Owners remove anyone; every member may leave. The last owner cannot go. */
  async removeMember(projectId: string, userId: string, memberId: string): Promise<void> {
    await this.access(projectId, userId, memberId === userId ? 'project.leave' : 'project.manageMembers');
    const target = await this.repo.getForUser(projectId, memberId);
    if (!target) throw new AppError('NOT_FOUND', 'That user is not a member of the project');
    if (target.role === 'owner' && (await this.repo.ownerCount(projectId)) <= 1) throw new AppError('LAST_OWNER');
    await this.repo.removeMember(projectId, memberId);
  }
}
