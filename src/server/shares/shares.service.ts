/**
 * Share links (issue 13): members who may share a recording (access.ts share.manage) make, list, change
 * and revoke its links; anyone holding a link's token is a visitor whose rights are the link's permissions
 * (access.ts share.view / share.comment / share.download, through shareRelations). The public side of a
 * visit (the recording, its media, the page) is share-visits.service.ts; both start at resolveVisitor.
 */
import type { SharePermission } from '../../shared/domain.js';
import { authorize, type LinkRelation, relationsOf, shareRelations } from '../access/access.js';
import { hashPassword, tokenHash, verifyPassword } from '../auth/secrets.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import { SharePasswordLimiter, sharePasswordKeys } from './share-limits.js';
import { grantIsValid, makeGrant, newShareToken, shareTokenHash } from './share-token.js';
import type { ShareChanges, ShareRow, SharesRepository } from './shares.repository.js';

/** A visitor's standing, once their token (and for a password link their grant) checked out. */
export interface ShareVisit {
  shareId: string;
  recordingId: string;
  /** link-* relations only: what access.ts decides the visitor may do. */
  relations: LinkRelation[];
  permissions: SharePermission[];
}

/** The function the comments and the public share routes use (SharesService.resolveVisitor). */
export type ResolveVisitor = (token: string, access: string | undefined) => Promise<ShareVisit>;

export type ShareStatus = 'active' | 'expired' | 'revoked';

export interface ShareInput {
  permissions?: SharePermission[];
  /** null clears it (PATCH only). */
  password?: string | null;
  expiresAt?: string | null;
  label?: string | null;
}

const YEAR_MS = 366 * 24 * 60 * 60 * 1000;

export function permissionsOf(row: Pick<ShareRow, 'allow_comment' | 'allow_download'>): SharePermission[] {
  const permissions: SharePermission[] = ['view'];
  if (row.allow_comment) permissions.push('comment');
  if (row.allow_download) permissions.push('download');
  return permissions;
}

export function shareStatus(row: Pick<ShareRow, 'revoked_at' | 'expires_at'>, now: Date): ShareStatus {
  if (row.revoked_at) return 'revoked';
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** A link as the API shows it to the members who manage it (never its token or password hash). */
export function toShare(row: ShareRow, now: Date) {
  return {
    id: row.id,
    recordingId: row.recording_id,
    label: row.label,
    permissions: permissionsOf(row),
    passwordProtected: row.password_hash !== null,
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    viewCount: Number(row.view_count),
    lastViewedAt: iso(row.last_viewed_at),
    createdAt: row.created_at.toISOString(),
    status: shareStatus(row, now),
  };
}

export class SharesService {
  private readonly limiter: SharePasswordLimiter;

  constructor(
    private readonly repo: SharesRepository,
    private readonly clock: Clock,
  ) {
    this.limiter = new SharePasswordLimiter(repo, clock);
  }

  /** 404 RECORDING_NOT_FOUND to whoever cannot see the recording, 403 FORBIDDEN to its viewers. */
  private async authorizeManage(recordingId: string, userId: string): Promise<void> {
    const standing = isBigintId(recordingId) ? await this.repo.standing(recordingId, userId) : undefined;
    authorize(
      'share.manage',
      standing ? relationsOf(userId, { creatorId: standing.user_id, role: standing.role }) : [],
    );
  }

  async create(recordingId: string, userId: string, input: ShareInput) {
    await this.authorizeManage(recordingId, userId);
    const permissions = input.permissions ?? ['view'];
    const token = newShareToken();
    const row = await this.repo.create({
      recordingId,
      createdBy: userId,
      tokenHash: tokenHash(token),
      label: input.label?.trim() || null,
      passwordHash: input.password ? await hashPassword(input.password) : null,
      allowComment: permissions.includes('comment'),
      allowDownload: permissions.includes('download'),
      expiresAt: input.expiresAt ? this.checkedExpiry(input.expiresAt) : null,
    });
    return { share: toShare(row, this.clock.now()), token };
  }

  async list(recordingId: string, userId: string) {
    await this.authorizeManage(recordingId, userId);
    const now = this.clock.now();
    return { shares: (await this.repo.listFor(recordingId)).map((row) => toShare(row, now)) };
  }

  /** Changing or clearing the password voids every grant made with the old one (share-token.ts). */
  async update(recordingId: string, shareId: string, userId: string, input: ShareInput) {
    await this.authorizeManage(recordingId, userId);
    const changes: ShareChanges = {};
    if (input.permissions) {
      changes.allow_comment = input.permissions.includes('comment');
      changes.allow_download = input.permissions.includes('download');
    }
    if (input.password !== undefined)
      changes.password_hash = input.password === null ? null : await hashPassword(input.password);
    if (input.expiresAt !== undefined)
      changes.expires_at = input.expiresAt === null ? null : this.checkedExpiry(input.expiresAt);
    if (input.label !== undefined) changes.label = input.label?.trim() || null;
    const row = await this.repo.update(recordingId, shareId, changes);
    if (!row) throw new AppError('SHARE_NOT_FOUND', 'No such link on this recording');
    return toShare(row, this.clock.now());
  }

  /** Revoking is final (a PATCH does not bring a link back); the row stays, with its view count. */
  async revoke(recordingId: string, shareId: string, userId: string): Promise<void> {
    await this.authorizeManage(recordingId, userId);
    const row = isBigintId(shareId) ? await this.repo.revoke(recordingId, shareId, this.clock.now()) : undefined;
    if (!row) throw new AppError('SHARE_NOT_FOUND', 'No such link on this recording');
  }

  /** Housekeeping (with the sign-in limits): wrong-password counters nobody has added to for a day. */
  forgetPasswordFailures(now: Date): Promise<number> {
    return this.repo.deleteOldFailures(new Date(now.getTime() - 24 * 60 * 60 * 1000));
  }

  /** A link's expiry: in the future and at most a year ahead (400 VALIDATION_FAILED otherwise). */
  private checkedExpiry(text: string): Date {
    const at = new Date(text);
    const now = this.clock.now().getTime();
    if (Number.isNaN(at.getTime()) || at.getTime() <= now)
      throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future');
    if (at.getTime() > now + YEAR_MS) throw new AppError('VALIDATION_FAILED', 'expiresAt is at most a year ahead');
    return at;
  }

  /**
   * The live link a token names: 404 SHARE_NOT_FOUND for anything no link has (guessed, truncated,
   * malformed), 410 SHARE_GONE when its recording was deleted, 410 SHARE_REVOKED, 410 SHARE_EXPIRED.
   */
  async liveShare(token: string): Promise<ShareRow> {
    const hash = shareTokenHash(token);
    const row = hash ? await this.repo.byTokenHash(hash) : undefined;
    if (!row) {
      throw new AppError(hash && (await this.repo.tombstoned(hash)) ? 'SHARE_GONE' : 'SHARE_NOT_FOUND');
    }
    const status = shareStatus(row, this.clock.now());
    if (status === 'revoked') throw new AppError('SHARE_REVOKED');
    if (status === 'expired') throw new AppError('SHARE_EXPIRED');
    return row;
  }

  /**
   * The visitor of a token: its link must be live, and a password link needs a valid grant (from
   * POST /api/s/:token/unlock), else 401 SHARE_PASSWORD_REQUIRED (details.passwordRequired).
   */
  async resolveVisitor(token: string, access: string | undefined): Promise<ShareVisit> {
    return (await this.visit(token, access)).visit;
  }

  /** resolveVisitor with the link's row, for the public side (share-visits.service.ts). */
  async visit(token: string, access: string | undefined): Promise<{ visit: ShareVisit; row: ShareRow }> {
    const row = await this.liveShare(token);
    if (row.password_hash && !grantIsValid(row.password_hash, row.id, access, this.clock.now())) {
      throw new AppError('SHARE_PASSWORD_REQUIRED', undefined, { passwordRequired: true });
    }
    const permissions = permissionsOf(row);
    const visit = {
      shareId: row.id,
      recordingId: row.recording_id,
      relations: shareRelations(permissions),
      permissions,
    };
    return { visit, row };
  }

  /**
   * The grant a right password earns (12 hours). 429 SHARE_RATE_LIMITED after 10 wrong ones in 15 minutes
   * for the link or from the address, 401 SHARE_PASSWORD_WRONG for a wrong one.
   */
  async unlock(token: string, password: string, address: string) {
    const row = await this.liveShare(token);
    if (!row.password_hash) throw new AppError('VALIDATION_FAILED', 'This link has no password: open it directly');
    const keys = sharePasswordKeys(row.id, address);
    await this.limiter.assertAllowed(keys);
    if (!(await verifyPassword(row.password_hash, password))) {
      await this.limiter.failed(keys);
      throw new AppError('SHARE_PASSWORD_WRONG');
    }
    const grant = makeGrant(row.password_hash, row.id, this.clock.now());
    return { access: grant.access, expiresAt: grant.expiresAt.toISOString() };
  }
}
