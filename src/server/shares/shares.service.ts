/**
 * Share links (issue 13): members who may share a recording (access.ts share.manage) make, list, change
 * and revoke links; anyone holding a link's token is a visitor whose rights are the link's permissions
 * (access.ts share.view / share.comment / share.download through shareRelations).
 */
import type { SharePermission } from '../../shared/domain.js';
import { type LinkRelation, shareRelations } from '../access/access.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { grantIsValid, shareTokenHash } from './share-token.js';
import type { ShareRow, SharesRepository } from './shares.repository.js';

/** A visitor's standing, once their token (and for a password link their grant) checked out. */
export interface ShareVisit {
  shareId: string;
  recordingId: string;
  /** link-* relations only: what access.ts decides the visitor may do. */
  relations: LinkRelation[];
  permissions: SharePermission[];
}

export function permissionsOf(row: Pick<ShareRow, 'allow_comment' | 'allow_download'>): SharePermission[] {
  const permissions: SharePermission[] = ['view'];
  if (row.allow_comment) permissions.push('comment');
  if (row.allow_download) permissions.push('download');
  return permissions;
}

export class SharesService {
  constructor(
    private readonly repo: SharesRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The live link a token names: 404 SHARE_NOT_FOUND for anything no link has (guessed, truncated,
   * malformed), 410 SHARE_GONE when the recording was deleted, 410 SHARE_REVOKED, 410 SHARE_EXPIRED.
   */
  async liveShare(token: string): Promise<ShareRow> {
    const hash = shareTokenHash(token);
    const row = hash ? await this.repo.byTokenHash(hash) : undefined;
    if (!row) {
      throw new AppError(hash && (await this.repo.tombstoned(hash)) ? 'SHARE_GONE' : 'SHARE_NOT_FOUND');
    }
    if (row.revoked_at) throw new AppError('SHARE_REVOKED');
    if (row.expires_at && row.expires_at.getTime() <= this.clock.now().getTime()) throw new AppError('SHARE_EXPIRED');
    return row;
  }

  /**
   * The visitor of a token: its link must be live, and a password link needs a valid grant (from
   * POST /api/s/:token/unlock), else 401 SHARE_PASSWORD_REQUIRED (details.passwordRequired).
   */
  async resolveVisitor(token: string, access: string | undefined): Promise<ShareVisit> {
    const row = await this.liveShare(token);
    if (row.password_hash && !grantIsValid(row.password_hash, row.id, access, this.clock.now())) {
      throw new AppError('SHARE_PASSWORD_REQUIRED', undefined, { passwordRequired: true });
    }
    const permissions = permissionsOf(row);
    return { shareId: row.id, recordingId: row.recording_id, relations: shareRelations(permissions), permissions };
  }
}

/** The function COMMENTS and the public share routes use (see SharesService.resolveVisitor). */
export type ResolveVisitor = (token: string, access: string | undefined) => Promise<ShareVisit>;
