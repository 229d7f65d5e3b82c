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

/** Who may do what: viewers read; editors also rename and add recordings; owners manage members and delete. */
const CAN = {
  read: ['owner', 'editor', 'viewer'],
  write: ['owner', 'editor'],
  manage: ['owner'],
} as const satisfies Record<string, readonly MemberRole[]>;

export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly queue: JobQueue,
  ) {}

  /** The member's view of the project; 404 for non-members (never reveal it exists), 403 for too low a role. */
  async access(projectId: string, userId: string, need: keyof typeof CAN): Promise<ProjectRow> {
    const p = isBigintId(projectId) ? await this.repo.getForUser(projectId, userId) : undefined;
    if (!p) throw new AppError('PROJECT_NOT_FOUND');
    if (!(CAN[need] as readonly MemberRole[]).includes(p.role))
      throw new AppError('FORBIDDEN', `Your role in this project (${p.role}) does not allow this`);
    return p;
  }

  async create(userId: string, name: string) {
    return toApi(await this.repo.create(userId, name.trim()));
  }

  async list(userId: string) {
    return (await this.repo.listForUser(userId)).map(toApi);
  }

  async get(projectId: string, userId: string) {
    return toApi(await this.access(projectId, userId, 'read'));
  }

  async rename(projectId: string, userId: string, name: string) {
    const p = await this.access(projectId, userId, 'write');
    const updated = await this.repo.rename(projectId, name.trim());
    return toApi({ ...updated, role: p.role });
  }

  async delete(projectId: string, userId: string): Promise<void> {
    await this.access(projectId, userId, 'manage');
    await this.repo.delete(projectId);
    await this.queue.send(JOBS.deleteMedia, {}); // the recordings' media, queued by their delete trigger
  }

  async members(projectId: string, userId: string) {
    await this.access(projectId, userId, 'read');
    return (await this.repo.members(projectId)).map((m) => ({
      userId: m.id,
      email: m.email,
      displayName: m.display_name,
      role: m.role,
      addedAt: m.created_at.toISOString(),
    }));
  }

  async addMember(projectId: string, userId: string, email: string, role: MemberRole) {
    await this.access(projectId, userId, 'manage');
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
    await this.access(projectId, userId, 'manage');
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
    await this.access(projectId, userId, memberId === userId ? 'read' : 'manage');
    const target = await this.repo.getForUser(projectId, memberId);
    if (!target) throw new AppError('NOT_FOUND', 'That user is not a member of the project');
    if (target.role === 'owner' && (await this.repo.ownerCount(projectId)) <= 1) throw new AppError('LAST_OWNER');
    await this.repo.removeMember(projectId, memberId);
  }
}
