/** The comments module as the server wires it: one repository, the members' service, the guests' side. */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { SharesService } from '../shares/shares.service.js';
import { GuestComments } from './comments-guests.js';
import { CommentsRepository } from './comments.repository.js';
import type { CommentRoutesOptions } from './comments.routes.js';
import { CommentsService } from './comments.service.js';

/** Without shares there are no comments through share links (their routes are not registered). */
export function createComments(db: Kysely<DB>, shares?: Pick<SharesService, 'resolveVisitor'>): CommentRoutesOptions {
  const repo = new CommentsRepository(db);
  const comments = new CommentsService(repo);
  const resolveVisitor = shares && ((token: string, access?: string) => shares.resolveVisitor(token, access));
  return { comments, guests: resolveVisitor ? new GuestComments(comments, repo, resolveVisitor) : undefined };
}
