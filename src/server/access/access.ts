/**
 * Who may do what. Every permission decision in Recorder is a row of RULES below, decided by
 * authorize()/can(): the recordings, projects, sessions and uploads services load how the user stands
 * to the resource (its creator? their role in its project?) and ask here. Nothing else compares roles.
 *
 * Relations a signed-in user can have to a resource:
 *  - creator  made the recording, the upload, the take or the import (recordings.user_id, uploads.user_id, …);
 *  - owner / editor / viewer  their role in the project the resource is in (or in the project itself).
 * A user can hold two at once (the creator of a recording who is a viewer of its project): any relation
 * the rule names is enough. Someone with no relation at all (a stranger, a member of another project)
 * gets the resource's 404, exactly as for an id that does not exist; someone with a relation that the
 * rule does not name gets 403 FORBIDDEN. Anonymous requests never get here: the auth hook answers 401.
 *
 * The library query (recordings.repository.ts `list`) selects what 'recording.read' allows in SQL
 * (own recordings and those of member projects); test/access.test.ts checks the two agree.
 */
import type { SharePermission } from '../../shared/domain.js';
import type { MemberRole } from '../db/schema.js';
import { AppError, type ErrorCode } from '../errors.js';

/** 'admin': the instance's administrator (adminRelations below); a relation to the instance only. */
export type Relation = 'creator' | MemberRole | 'admin' | LinkRelation | CommentRelation;
/**
 * 'author': wrote the comment (a member by user id; a link's guest by the X-Guest-Key its comment was made
 * with: comments.service.ts). Held on a comment together with the relations to its recording.
 */
export type CommentRelation = 'author';
export type Resource = 'recording' | 'project' | 'upload' | 'session' | 'import' | 'instance' | 'share' | 'comment';
/**
 * How a signed-out visitor of a share link stands to the link's recording (issue 13): one relation per
 * permission the link grants (shareRelations below). A visitor holds no other relation to anything.
 */
export type LinkRelation = 'link-view' | 'link-comment' | 'link-download';

interface Rule {
  on: Resource;
  allow: readonly Relation[];
  /** The 403's message. */
  refused: string | ((relations: readonly Relation[]) => string);
}

/** What a project member is told when their role falls short (the message the projects API always gave). */
const byRole = (relations: readonly Relation[]) =>
  `Your role in this project (${relations.find((r) => r !== 'creator')}) does not allow this`;

/**
 * The matrix. Current product rules: members of a project read its recordings; the creator, the
 * project's owners and editors change them; only the creator or a project owner deletes one. Moving a
 * recording out of its project is as strong as deleting it there (an editor could otherwise move a
 * colleague's recording into a project of their own and delete it), and moving it into a project is
 * adding a recording to that project. Shares, comments, edits and versions (issues 12 and 13) follow the
 * same lines: members read and comment; those who may change a recording manage its links, resolve
 * comments, edit it and render versions.
 */
export const RULES = {
  'recording.read': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor', 'viewer'],
    refused: 'You may not see this recording',
  },
  'recording.media': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor', 'viewer'],
    refused: 'You may not play this recording',
  },
  'recording.edit': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor'],
    refused: 'Viewers of a project cannot change its recordings',
  },
  'recording.retry': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor'],
    refused: 'Viewers of a project cannot process its recordings again',
  },
  'recording.delete': {
    on: 'recording',
    allow: ['creator', 'owner'],
    refused: 'Only its creator or the project owner can delete a recording',
  },
  'recording.moveOut': {
    on: 'recording',
    allow: ['creator', 'owner'],
    refused: 'Only its creator or the project owner can move a recording out of its project',
  },
  'share.manage': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor'],
    refused: 'Viewers of a project cannot share its recordings',
  },
  'comment.create': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor', 'viewer'],
    refused: 'You may not comment on this recording',
  },
  'comment.resolve': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor'],
    refused: 'Viewers of a project cannot resolve comments',
  },
  /** Change a comment's text: its author only (nobody edits what someone else wrote). */
  'comment.editOwn': { on: 'comment', allow: ['author'], refused: 'Only its author can change a comment' },
  /** Delete a comment: its author, and (moderation) those who may change the recording. */
  'comment.deleteOwn': {
    on: 'comment',
    allow: ['author', 'creator', 'owner', 'editor'],
    refused: 'Only its author, the recording’s creator or the project’s owners and editors can delete a comment',
  },
  'edit.create': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor'],
    refused: 'Viewers of a project cannot edit its recordings',
  },
  'version.create': {
    on: 'recording',
    allow: ['creator', 'owner', 'editor'],
    refused: 'Viewers of a project cannot render versions of its recordings',
  },
  /** A share link's visitor (shares.service.ts resolveVisitor): play it, see its title; comment; download. */
  'share.view': { on: 'share', allow: ['link-view'], refused: 'This link does not allow viewing' },
  'share.comment': { on: 'share', allow: ['link-comment'], refused: 'This link does not allow comments' },
  'share.download': { on: 'share', allow: ['link-download'], refused: 'This link does not allow downloading' },
  'project.read': { on: 'project', allow: ['owner', 'editor', 'viewer'], refused: byRole },
  /** Leaving: any member (a project keeps its last owner: projects.service.ts). */
  'project.leave': { on: 'project', allow: ['owner', 'editor', 'viewer'], refused: byRole },
  'project.rename': { on: 'project', allow: ['owner', 'editor'], refused: byRole },
  /** Moving a recording in, an upload into the project, a take (session) recorded for it. */
  'project.addRecordings': {
    on: 'project',
    allow: ['owner', 'editor'],
    refused: 'Viewers cannot add recordings to a project',
  },
  'project.manageMembers': { on: 'project', allow: ['owner'], refused: byRole },
  'project.delete': { on: 'project', allow: ['owner'], refused: byRole },
  /** Continue (PATCH), ask (HEAD), terminate (DELETE) an upload: only its creator. */
  'upload.act': { on: 'upload', allow: ['creator'], refused: 'This upload is not yours' },
  /** Read, beat, interrupt, keep, discard a take, or upload into it: only its creator. */
  'session.act': { on: 'session', allow: ['creator'], refused: 'This recording session is not yours' },
  /** See a take's analytics drill-down (device, settings, timeline): its creator, or the administrator. */
  'session.inspect': {
    on: 'session',
    allow: ['creator', 'admin'],
    refused: 'This recording session is not yours',
  },
  /** See, add items to and finish a legacy import (/api/imports/:id, an upload's importId): its creator only. */
  'import.act': { on: 'import', allow: ['creator'], refused: 'This import is not yours' },
  /** Run the instance: storage migrations (/api/admin/…). Anyone else learns nothing: 404, as for no route. */
  'instance.admin': { on: 'instance', allow: ['admin'], refused: 'Only an administrator may do this' },
} as const satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;

const NOT_FOUND: Record<Resource, ErrorCode> = {
  recording: 'RECORDING_NOT_FOUND',
  project: 'PROJECT_NOT_FOUND',
  upload: 'UPLOAD_NOT_FOUND',
  session: 'SESSION_NOT_FOUND',
  import: 'IMPORT_NOT_FOUND',
  instance: 'ROUTE_NOT_FOUND',
  share: 'SHARE_NOT_FOUND',
  comment: 'COMMENT_NOT_FOUND',
};

/** What a service knows about the resource: who created it, and the user's role in its project. */
export interface Standing {
  creatorId?: string | null;
  role?: MemberRole | null;
}

/** How userId stands to a resource (empty: no relation at all). */
export function relationsOf(userId: string, standing: Standing): Relation[] {
  const relations: Relation[] = [];
  if (standing.creatorId && standing.creatorId === userId) relations.push('creator');
  if (standing.role) relations.push(standing.role);
  return relations;
}

export function can(action: Action, relations: readonly Relation[]): boolean {
  const allowed: readonly Relation[] = RULES[action].allow;
  return relations.some((r) => allowed.includes(r));
}

/**
 * Throws unless the relations allow the action: the resource's 404 when there is no relation at all
 * (whether it exists is not the user's to learn), else 403 FORBIDDEN with the rule's reason.
 */
export function authorize(action: Action, relations: readonly Relation[]): void {
  if (can(action, relations)) return;
  const rule: Rule = RULES[action];
  if (relations.length === 0) throw new AppError(NOT_FOUND[rule.on]);
  throw new AppError('FORBIDDEN', typeof rule.refused === 'string' ? rule.refused : rule.refused(relations));
}

/**
 * Moving a recording to another project (or out of any, `target` null): the right to delete it where
 * it is, and the right to add recordings where it goes. The source is checked first, so a refused move
 * says nothing about the target project.
 */
export function authorizeMove(source: readonly Relation[], target: readonly Relation[] | null): void {
  authorize('recording.moveOut', source);
  if (target) authorize('project.addRecordings', target);
}

/** The rights the API shows on a recording, so the app offers only what the server will allow. */
export function recordingRights(relations: readonly Relation[]) {
  return {
    canEdit: can('recording.edit', relations),
    canDelete: can('recording.delete', relations),
    canShare: can('share.manage', relations),
    canResolveComments: can('comment.resolve', relations),
  };
}

/** The relations a share link gives its visitors: one per permission it grants. */
export function shareRelations(permissions: readonly SharePermission[]): LinkRelation[] {
  return permissions.map((permission) => `link-${permission}` as const);
}

/**
 * How a user stands to the instance: an administrator is the first account created, or one whose email
 * ADMIN_EMAILS lists (compared case-insensitively, as sign-in compares emails).
 */
export function adminRelations(
  user: { email: string; isFirstAccount: boolean },
  adminEmails: readonly string[],
): Relation[] {
  const listed = adminEmails.some((email) => email.toLowerCase() === user.email.toLowerCase());
  return listed || user.isFirstAccount ? ['admin'] : [];
}
