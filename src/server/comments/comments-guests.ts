/**
 * Comments through a share link (issue 13): a visitor whose link has 'comment' reads the comments, writes
 * under a name of their choosing, and edits or deletes what they wrote by the guest key its answer gave
 * (X-Guest-Key; only its sha256 is stored). A link without 'comment' shows no comments at all (403
 * SHARE_NO_COMMENTS): its owner chose a view-only link. Guests never resolve. Their comments are limited
 * per link and client address: GUEST_COMMENTS_PER_MINUTE, then 429 COMMENT_RATE_LIMITED with Retry-After.
 */
import { createHash, randomBytes } from 'node:crypto';
import { can } from '../access/access.js';
import { clientNetwork } from '../auth/sign-in-limits.js';
import { AppError } from '../errors.js';
import type { ResolveVisitor } from '../shares/shares.service.js';
import type { Comment, CommentChanges, CommentPage } from './comments.schemas.js';
import type { CommentsRepository } from './comments.repository.js';
import { type CommentInput, type CommentsService, checkedBody, type Viewer } from './comments.service.js';

export const GUEST_COMMENTS_PER_MINUTE = 10;
const GUEST_KEY = /^gk_[A-Za-z0-9_-]{43}$/;

/** What a visitor's request carries besides its token. */
export interface GuestHeaders {
  /** X-Share-Access: a password link's grant. */
  access?: string;
  /** X-Guest-Key: the key of the visitor's own comments. */
  guestKey?: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A new guest key: 256 random bits. */
export function newGuestKey(): string {
  return `gk_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a well-formed key; null for none or anything else (it then matches no comment). */
export function guestKeyHash(key: string | undefined): string | null {
  return key && GUEST_KEY.test(key) ? sha256(key) : null;
}

export class GuestComments {
  constructor(
    private readonly comments: CommentsService,
    private readonly repo: CommentsRepository,
    private readonly resolveVisitor: ResolveVisitor,
  ) {}

  /** The visitor of a live link that allows comments (else the link's 404/410/401, or 403 SHARE_NO_COMMENTS). */
  private async visitor(token: string, headers: GuestHeaders): Promise<{ recordingId: string; viewer: Viewer }> {
    const visit = await this.resolveVisitor(token, headers.access);
    if (!can('share.comment', visit.relations)) throw new AppError('SHARE_NO_COMMENTS');
    const viewer: Viewer = {
      kind: 'guest',
      userId: null,
      guestKeyHash: guestKeyHash(headers.guestKey),
      shareId: visit.shareId,
      relations: visit.relations,
    };
    return { recordingId: visit.recordingId, viewer };
  }

  async page(token: string, headers: GuestHeaders, after: string | undefined, limit: number): Promise<CommentPage> {
    const { recordingId, viewer } = await this.visitor(token, headers);
    return this.comments.page(recordingId, viewer, after, limit);
  }

  async changes(token: string, headers: GuestHeaders, since: string): Promise<CommentChanges> {
    const { recordingId, viewer } = await this.visitor(token, headers);
    return this.comments.changes(recordingId, viewer, since);
  }

  /** A guest's comment and the key to change it (the one they sent as X-Guest-Key, else a new one). */
  async create(
    token: string,
    headers: GuestHeaders,
    address: string,
    input: CommentInput,
  ): Promise<{ comment: Comment; guestKey: string }> {
    const { recordingId, viewer } = await this.visitor(token, headers);
    checkedBody(input.body);
    await this.countComment(viewer.shareId!, address);
    const guestKey = viewer.guestKeyHash ? headers.guestKey! : newGuestKey();
    const comment = await this.comments.create(recordingId, viewer, input, sha256(guestKey));
    return { comment, guestKey };
  }

  async edit(token: string, headers: GuestHeaders, commentId: string, body: string): Promise<Comment> {
    const { recordingId, viewer } = await this.visitor(token, headers);
    return this.comments.edit(recordingId, viewer, commentId, body);
  }

  async remove(token: string, headers: GuestHeaders, commentId: string): Promise<void> {
    const { recordingId, viewer } = await this.visitor(token, headers);
    await this.comments.remove(recordingId, viewer, commentId);
  }

  /** Counts one comment of this link from this network; 429 (details.retryAfterSeconds) past the limit. */
  private async countComment(shareId: string, address: string): Promise<void> {
    const key = sha256(`${shareId}:${clientNetwork(address)}`);
    const { comments, windowStartedAt } = await this.repo.countGuestComment(key);
    if (comments <= GUEST_COMMENTS_PER_MINUTE) return;
    const left = Math.ceil((windowStartedAt.getTime() + 60_000 - Date.now()) / 1000);
    const retryAfterSeconds = Math.min(60, Math.max(1, left));
    throw new AppError('COMMENT_RATE_LIMITED', `Too many comments from here; try again in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }
}
