/**
 * Timestamped comments (issue 13; docs/api.md "Comments"). Two kinds of reader share one implementation,
 * a Viewer: a project member (relations to the recording from access.ts relationsOf) and a share link's
 * visitor (link-* relations from SharesService.resolveVisitor; comments-guests.ts). On a comment a viewer
 * also holds 'author' when they wrote it (a member by user id, a guest by the key of X-Guest-Key), and
 * access.ts decides: comment.editOwn (its author only), comment.deleteOwn (its author, and as moderation
 * the recording's creator and the project's owners and editors), comment.resolve (those, on threads).
 *
 * Threads: a reply names its thread; a reply to a reply is attached to that reply's thread (the UI shows
 * one level). Deleting is soft: the body is emptied and the row stays, so a thread keeps its replies and
 * pollers learn of it. Every change takes a new revision (comments.repository.ts explains the order).
 */
import { type Relation, authorize, can, relationsOf } from '../access/access.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import type { Comment, CommentChanges, CommentPage } from './comments.schemas.js';
import {
  CHANGES_LIMIT,
  type CommentChange,
  type CommentRecording,
  type CommentRow,
  type CommentsRepository,
  type NewComment,
} from './comments.repository.js';

/** Who reads or writes: a member, or a link's guest. */
export interface Viewer {
  kind: 'member' | 'guest';
  /** The member's user id (null for a guest). */
  userId: string | null;
  /** sha256 of the guest's X-Guest-Key, when they sent one (null for a member). */
  guestKeyHash: string | null;
  /** The link a guest came through. */
  shareId: string | null;
  /** How the viewer stands to the recording: creator/roles for a member, link-* for a guest. */
  relations: Relation[];
}

export interface CommentInput {
  body: string;
  atMs?: number | null;
  parentId?: string;
  /** Guests only. */
  guestName?: string;
}

export const MAX_COMMENT_CHARS = 5000;
/** A comment's time may run this far past the recording's whole-second duration (it is rounded). */
const WHOLE_SECOND_SLACK_MS = 1000;
const DELETED_ACCOUNT = 'Deleted account';

/** The trimmed text, or the 400 that says what is wrong (NUL and lone surrogates: the input guard's 400). */
export function checkedBody(body: string): string {
  const text = body.trim();
  if (text === '') throw new AppError('COMMENT_EMPTY');
  if ([...text].length > MAX_COMMENT_CHARS) throw new AppError('COMMENT_TOO_LONG');
  return text;
}

/** The longest at_ms the recording allows: what plays (a current version, else the original), in ms. */
export function lastMs(recording: CommentRecording): number {
  if (recording.current_duration_ms !== null) return recording.current_duration_ms;
  const exact = recording.metadata?.duration_ms;
  if (typeof exact === 'number' && exact > 0) return exact;
  return recording.duration * 1000 + WHOLE_SECOND_SLACK_MS;
}

function checkAt(atMs: number | null | undefined, recording: CommentRecording): number | null {
  if (atMs === undefined || atMs === null) return null;
  const end = lastMs(recording);
  if (atMs < 0 || atMs > end) {
    throw new AppError('COMMENT_AT_INVALID', `The time of a comment must be from 0 to ${end} ms (the recording)`);
  }
  return atMs;
}

/** The viewer's relations to one comment: to its recording, plus 'author' when they wrote it. */
export function commentRelations(viewer: Viewer, row: CommentRow): Relation[] {
  const mine =
    viewer.kind === 'member'
      ? row.author_id !== null && row.author_id === viewer.userId
      : row.guest_key_hash !== null && row.guest_key_hash === viewer.guestKeyHash;
  return mine ? [...viewer.relations, 'author'] : viewer.relations;
}

export function toApi(row: CommentRow, viewer: Viewer): Comment {
  const relations = commentRelations(viewer, row);
  const standing = row.deleted_at === null;
  return {
    id: row.id,
    recordingId: row.recording_id,
    parentId: row.parent_id,
    atMs: row.at_ms,
    body: row.body,
    author: {
      kind: row.guest_name === null ? 'member' : 'guest',
      name: row.guest_name ?? row.author_name ?? DELETED_ACCOUNT,
      isYou: relations.includes('author'),
    },
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deletedAt: row.deleted_at?.toISOString() ?? null,
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    resolvedBy: row.resolved_at ? { name: row.resolved_by_name ?? DELETED_ACCOUNT } : null,
    revision: row.revision,
    canEdit: standing && can('comment.editOwn', relations),
    canDelete: standing && can('comment.deleteOwn', relations),
    canResolve: standing && row.parent_id === null && can('comment.resolve', viewer.relations),
  };
}

export class CommentsService {
  constructor(private readonly repo: CommentsRepository) {}

  /** A member: how they stand to the recording (404 RECORDING_NOT_FOUND for a stranger). */
  async member(recordingId: string, userId: string): Promise<Viewer> {
    const recording = isBigintId(recordingId) ? await this.repo.recording(recordingId, userId) : undefined;
    const relations = recording ? relationsOf(userId, { creatorId: recording.user_id, role: recording.role }) : [];
    authorize('recording.read', relations);
    return { kind: 'member', userId, guestKeyHash: null, shareId: null, relations };
  }

  /** A page in id order; its revision is read first, so /changes from it misses nothing committed later. */
  async page(recordingId: string, viewer: Viewer, after: string | undefined, limit: number): Promise<CommentPage> {
    const revision = await this.repo.latestRevision(recordingId);
    const rows = await this.repo.page(recordingId, after, limit + 1);
    const shown = rows.slice(0, limit);
    return {
      comments: shown.map((r) => toApi(r, viewer)),
      nextAfter: rows.length > limit ? (shown.at(-1)?.id ?? null) : null,
      revision,
    };
  }

  /** What changed after `since`: new, edited, deleted, resolved and reopened comments, oldest change first. */
  async changes(recordingId: string, viewer: Viewer, since: string): Promise<CommentChanges> {
    const latest = await this.repo.latestRevision(recordingId);
    if (BigInt(latest) <= BigInt(since)) return { comments: [], revision: latest };
    const rows = await this.repo.changes(recordingId, since, latest);
    const capped = rows.length === CHANGES_LIMIT;
    return { comments: rows.map((r) => toApi(r, viewer)), revision: capped ? rows.at(-1)!.revision : latest };
  }

  /** A new comment or reply (the caller has checked the right to comment). */
  async create(recordingId: string, viewer: Viewer, input: CommentInput, guestKeyHash: string | null) {
    if (viewer.kind === 'member') authorize('comment.create', viewer.relations);
    const body = checkedBody(input.body);
    return this.repo.inTransaction(recordingId, viewer.userId, async (repo, recording) => {
      if (!recording) throw new AppError('RECORDING_NOT_FOUND');
      const atMs = checkAt(input.atMs, recording);
      const parentId = input.parentId === undefined ? null : await threadOf(repo, recordingId, input.parentId);
      const row: NewComment = {
        recordingId,
        parentId,
        atMs,
        body,
        authorId: viewer.kind === 'member' ? viewer.userId : null,
        shareId: viewer.shareId,
        guestName: viewer.kind === 'guest' ? (input.guestName ?? '').trim() : null,
        guestKeyHash,
      };
      const id = await repo.insert(row);
      return toApi((await repo.comment(recordingId, id))!, { ...viewer, guestKeyHash });
    });
  }

  async edit(recordingId: string, viewer: Viewer, commentId: string, text: string): Promise<Comment> {
    const body = checkedBody(text);
    return this.change(recordingId, viewer, commentId, 'comment.editOwn', { kind: 'edit', body });
  }

  async remove(recordingId: string, viewer: Viewer, commentId: string): Promise<void> {
    await this.change(recordingId, viewer, commentId, 'comment.deleteOwn', { kind: 'delete' });
  }

  /** Resolve or reopen a thread (comment.resolve: the recording's creator, the project's owners and editors). */
  async setResolved(recordingId: string, viewer: Viewer, commentId: string, resolved: boolean): Promise<Comment> {
    authorize('comment.resolve', viewer.relations);
    const change: CommentChange = resolved ? { kind: 'resolve', by: viewer.userId ?? '' } : { kind: 'reopen' };
    return this.change(recordingId, viewer, commentId, 'comment.resolve', change);
  }

  /**
   * One change of one comment under the recording's lock: 404 COMMENT_NOT_FOUND when the recording has no
   * such comment; the rule decides on the viewer's relations to the comment (403 when they fall short);
   * a deleted comment cannot change any more (409), and deleting it again changes nothing.
   */
  private change(
    recordingId: string,
    viewer: Viewer,
    commentId: string,
    action: 'comment.editOwn' | 'comment.deleteOwn' | 'comment.resolve',
    change: CommentChange,
  ): Promise<Comment> {
    return this.repo.inTransaction(recordingId, viewer.userId, async (repo, recording) => {
      if (!recording) throw new AppError('RECORDING_NOT_FOUND');
      const row = isBigintId(commentId) ? await repo.comment(recordingId, commentId) : undefined;
      if (!row) throw new AppError('COMMENT_NOT_FOUND');
      authorize(action, action === 'comment.resolve' ? viewer.relations : commentRelations(viewer, row));
      if (row.deleted_at) {
        if (change.kind === 'delete') return toApi(row, viewer);
        throw new AppError('COMMENT_DELETED');
      }
      if (action === 'comment.resolve' && row.parent_id !== null) {
        throw new AppError('VALIDATION_FAILED', 'Only a thread (a top-level comment) is resolved or reopened');
      }
      await repo.change(row.id, change);
      return toApi((await repo.comment(recordingId, row.id))!, viewer);
    });
  }
}

/** The thread a reply joins: the parent's own thread when the parent is a reply. */
async function threadOf(repo: CommentsRepository, recordingId: string, parentId: string): Promise<string> {
  const parent = await repo.comment(recordingId, parentId);
  if (!parent) throw new AppError('COMMENT_PARENT_INVALID');
  if (parent.deleted_at) throw new AppError('COMMENT_DELETED', 'The comment you answer was deleted');
  return parent.parent_id ?? parent.id;
}
