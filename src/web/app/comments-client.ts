/**
 * A recording's comments as one viewer holds them: the whole list read page by page, then kept current by
 * asking /changes?since=<revision> (polling every 2.5 s: it works through any proxy and across several
 * server processes, and resumes after a laptop sleeps). The same client serves members
 * (/api/recordings/:id/comments, cookie) and link visitors (/api/s/:token/comments, X-Share-Access for a
 * password link, X-Guest-Key for a guest's own comment). No React: the panel subscribes and renders.
 */
import type { Comment, CommentChanges, CommentPage } from '../../server/comments/comments.schemas.ts';
import { ApiError, apiClient, type ApiClient } from '../persist/api.ts';
import { mergeComments } from './comments-model.ts';

export type { Comment, CommentChanges, CommentPage };
export type CommentAuthor = Comment['author'];

export interface NewComment {
  body: string;
  atMs?: number | null;
  parentId?: string;
  /** Link visitors only: the name shown beside their comments. */
  guestName?: string;
}

/** How often the panel asks for changes. */
export const POLL_MS = 2500;
const PAGE = 100;

export interface CommentsSource {
  /** '/api/recordings/<id>/comments' or '/api/s/<token>/comments'. */
  base: string;
  /** Sent with every request (X-Share-Access on a password link). */
  headers?: () => Record<string, string>;
}

export function memberComments(recordingId: string): CommentsSource {
  return { base: `/api/recordings/${encodeURIComponent(recordingId)}/comments` };
}

export function visitorComments(token: string, access: () => string | null): CommentsSource {
  return {
    base: `/api/s/${encodeURIComponent(token)}/comments`,
    headers: (): Record<string, string> => {
      const grant = access();
      return grant ? { 'x-share-access': grant } : {};
    },
  };
}

type Listener = (comments: ReadonlyMap<string, Comment>) => void;

export class CommentsClient {
  private held = new Map<string, Comment>();
  private revision: string | null = null;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly source: CommentsSource,
    private readonly client: ApiClient = apiClient(),
  ) {}

  get comments(): ReadonlyMap<string, Comment> {
    return this.held;
  }

  get cursor(): string | null {
    return this.revision;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private take(changed: readonly Comment[]): void {
    this.held = mergeComments(this.held, changed);
    for (const l of this.listeners) l(this.held);
  }

  private request<T>(method: string, suffix: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.client.request<T>(method, this.source.base + suffix, body, {
      headers: { ...this.source.headers?.(), ...headers },
    });
  }

  /** Every comment, page by page. The first page's revision is the cursor: later changes come with the poll. */
  async load(): Promise<void> {
    let after: string | null = null;
    let first = true;
    do {
      const query: string = `?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const page: CommentPage = await this.request<CommentPage>('GET', query);
      if (first) this.revision = page.revision;
      first = false;
      this.take(page.comments);
      after = page.nextAfter;
    } while (after);
  }

  /** What changed since the cursor (new, edited, resolved, deleted); loads everything the first time. */
  async poll(): Promise<void> {
    if (this.revision === null) return this.load();
    const answer = await this.request<CommentChanges>('GET', `/changes?since=${encodeURIComponent(this.revision)}`);
    this.revision = answer.revision;
    this.take(answer.comments);
  }

  async create(input: NewComment): Promise<{ comment: Comment; guestKey?: string }> {
    const answer = await this.request<{ comment: Comment; guestKey?: string }>('POST', '', input);
    this.take([answer.comment]);
    return answer;
  }

  async edit(id: string, body: string, guestKey?: string): Promise<void> {
    const answer = await this.request<{ comment: Comment } | Comment>('PATCH', `/${id}`, { body }, keyHeader(guestKey));
    this.take([unwrap(answer)]);
  }

  /** Soft delete on the server; the poll brings the row back as deleted (a thread keeps its replies). */
  async remove(id: string, guestKey?: string): Promise<void> {
    await this.request<void>('DELETE', `/${id}`, undefined, keyHeader(guestKey));
    await this.poll();
  }

  async setResolved(id: string, resolved: boolean): Promise<void> {
    const answer = await this.request<{ comment: Comment } | Comment>(
      'POST',
      `/${id}/${resolved ? 'resolve' : 'reopen'}`,
    );
    this.take([unwrap(answer)]);
  }
}

function keyHeader(guestKey: string | undefined): Record<string, string> {
  return guestKey ? { 'x-guest-key': guestKey } : {};
}

function unwrap(answer: { comment: Comment } | Comment): Comment {
  return 'comment' in answer && typeof answer.comment === 'object' ? answer.comment : (answer as Comment);
}

/** Words for a refusal the panel shows beside the form. */
export function commentErrorText(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  if (err.code === 'COMMENT_RATE_LIMITED') return 'Too many comments in a short time. Wait a minute and try again.';
  return err.message;
}
