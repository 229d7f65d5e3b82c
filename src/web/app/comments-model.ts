/**
 * What the comments panel and the timeline show, computed from the flat list the server answers with
 * (replies are rows with a parentId; the client threads them). No React, no DOM: tested under Node.
 */
import type { Comment } from '../../server/comments/comments.schemas.ts';

export interface CommentThread {
  root: Comment;
  replies: Comment[];
}

export interface CommentMarker {
  id: string;
  atMs: number;
  /** 0..100: where on the bar, as a share of the recording's length. */
  leftPercent: number;
  resolved: boolean;
  label: string;
}

/** Ids are bigint strings: compared by length first, so "10" sorts after "9". */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Milliseconds as the player shows them: 0:12, 12:05, 1:02:03 (negative and NaN read 0:00). */
export function formatAt(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** The answer of a change folded into what we hold: the newer revision of each comment wins. */
export function mergeComments(held: ReadonlyMap<string, Comment>, changed: readonly Comment[]): Map<string, Comment> {
  const out = new Map(held);
  for (const comment of changed) {
    const before = out.get(comment.id);
    if (!before || compareIds(before.revision, comment.revision) <= 0) out.set(comment.id, comment);
  }
  return out;
}

/** The thread a comment belongs to: replies to replies are shown under the top-level comment they answer. */
function rootOf(comment: Comment, byId: ReadonlyMap<string, Comment>): Comment {
  let current = comment;
  const seen = new Set<string>();
  while (current.parentId && !seen.has(current.id)) {
    seen.add(current.id);
    const parent = byId.get(current.parentId);
    if (!parent) break; // a parent we do not hold: the reply stands as its own thread rather than vanish
    current = parent;
  }
  return current;
}

/** Whole-recording comments first, then by time on the timeline; equal times in the order they were written. */
function threadOrder(a: CommentThread, b: CommentThread): number {
  const at = (t: CommentThread) => t.root.atMs ?? -1;
  return at(a) - at(b) || compareIds(a.root.id, b.root.id);
}

/**
 * Threads to show. A deleted reply is left out; a deleted top-level comment stays (as "deleted") only while
 * replies remain under it.
 */
export function threadComments(comments: Iterable<Comment>): CommentThread[] {
  const byId = new Map<string, Comment>();
  for (const c of comments) byId.set(c.id, c);
  const threads = new Map<string, CommentThread>();
  const sorted = [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
  for (const comment of sorted) {
    const root = rootOf(comment, byId);
    let thread = threads.get(root.id);
    if (!thread) {
      thread = { root, replies: [] };
      threads.set(root.id, thread);
    }
    if (comment !== root && !comment.deletedAt) thread.replies.push(comment);
  }
  return [...threads.values()].filter((t) => !t.root.deletedAt || t.replies.length > 0).sort(threadOrder);
}

/** One marker per timed, not deleted, top-level thread; placed on a bar as long as the recording. */
export function commentMarkers(threads: readonly CommentThread[], durationMs: number): CommentMarker[] {
  const markers: CommentMarker[] = [];
  for (const { root } of threads) {
    if (root.atMs == null || root.deletedAt) continue;
    const share = durationMs > 0 ? (root.atMs / durationMs) * 100 : 0;
    markers.push({
      id: root.id,
      atMs: root.atMs,
      leftPercent: Math.min(100, Math.max(0, share)),
      resolved: root.resolvedAt != null,
      label: `${formatAt(root.atMs)} — ${root.author.name}: ${excerpt(root.body, 60)}`,
    });
  }
  return markers;
}

/** The first `max` characters of a text on one line, with an ellipsis when cut. */
export function excerpt(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The length the timeline spans: the element's when it knows it, else the server's exact ms, else its seconds. */
export function timelineMs(mediaSeconds: number | undefined, exactMs: unknown, wholeSeconds: number): number {
  if (mediaSeconds !== undefined && Number.isFinite(mediaSeconds) && mediaSeconds > 0) return mediaSeconds * 1000;
  if (typeof exactMs === 'number' && exactMs > 0) return exactMs;
  return Math.max(0, wholeSeconds) * 1000;
}
