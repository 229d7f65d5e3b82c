/**
 * The comments panel's logic without a browser: threading (replies under their top-level comment, replies to
 * replies too, deleted ones), the order of threads, markers on the timeline, time labels, merging changes.
 */
import { describe, expect, it } from 'vitest';
import type { Comment } from '../../src/web/app/comments-client.ts';
import {
  commentMarkers,
  compareIds,
  excerpt,
  formatAt,
  mergeComments,
  threadComments,
  timelineMs,
} from '../../src/web/app/comments-model.ts';

let next = 0;
function comment(over: Partial<Comment> = {}): Comment {
  next += 1;
  return {
    id: String(next),
    recordingId: '1',
    parentId: null,
    atMs: null,
    body: `comment ${next}`,
    author: { kind: 'member', name: 'Ann', isYou: false },
    createdAt: '2026-12-03T10:00:00.000Z',
    editedAt: null,
    deletedAt: null,
    resolvedAt: null,
    resolvedBy: null,
    revision: String(next),
    canEdit: false,
    canDelete: false,
    canResolve: false,
    ...over,
  };
}

describe('formatAt', () => {
  it('reads like the player: m:ss, and h:mm:ss from an hour on', () => {
    expect(formatAt(0)).toBe('0:00');
    expect(formatAt(2_000)).toBe('0:02');
    expect(formatAt(12_999)).toBe('0:12');
    expect(formatAt(725_000)).toBe('12:05');
    expect(formatAt(3_723_000)).toBe('1:02:03');
  });
  it('reads nonsense as 0:00', () => {
    expect(formatAt(-5)).toBe('0:00');
    expect(formatAt(Number.NaN)).toBe('0:00');
  });
});

describe('compareIds', () => {
  it('orders bigint strings by value, not as text', () => {
    expect(['10', '9', '100', '11'].sort(compareIds)).toEqual(['9', '10', '11', '100']);
    expect(compareIds('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
  });
});

describe('threadComments', () => {
  it('puts replies (and replies to replies) under their top-level comment, in the order written', () => {
    const root = comment({ atMs: 5000 });
    const reply = comment({ parentId: root.id });
    const replyToReply = comment({ parentId: reply.id });
    const threads = threadComments([replyToReply, root, reply]);
    expect(threads).toHaveLength(1);
    expect(threads[0]!.root.id).toBe(root.id);
    expect(threads[0]!.replies.map((r) => r.id)).toEqual([reply.id, replyToReply.id]);
  });

  it('orders whole-recording threads first, then by time, ties in the order written', () => {
    const late = comment({ atMs: 9000 });
    const whole = comment({ atMs: null });
    const early = comment({ atMs: 1000 });
    const earlyToo = comment({ atMs: 1000 });
    expect(threadComments([late, earlyToo, whole, early]).map((t) => t.root.id)).toEqual([
      whole.id,
      early.id,
      earlyToo.id,
      late.id,
    ]);
  });

  it('keeps a deleted top-level comment only while replies remain, and drops deleted replies', () => {
    const gone = comment({ deletedAt: '2026-12-03T11:00:00.000Z', body: '' });
    const kept = comment({ deletedAt: '2026-12-03T11:00:00.000Z', body: '' });
    const reply = comment({ parentId: kept.id });
    const deletedReply = comment({ parentId: kept.id, deletedAt: '2026-12-03T11:00:00.000Z' });
    const threads = threadComments([gone, kept, reply, deletedReply]);
    expect(threads.map((t) => t.root.id)).toEqual([kept.id]);
    expect(threads[0]!.replies.map((r) => r.id)).toEqual([reply.id]);
  });

  it('shows a reply whose parent it does not hold as a thread of its own rather than losing it', () => {
    const orphan = comment({ parentId: '999999' });
    expect(threadComments([orphan]).map((t) => t.root.id)).toEqual([orphan.id]);
  });
});

describe('commentMarkers', () => {
  it('places a marker per timed thread as a share of the length, resolved ones marked, clamped', () => {
    const whole = comment({ atMs: null });
    const at2 = comment({
      atMs: 2000,
      body: 'look   here\nplease',
      author: { kind: 'guest', name: 'Bo', isYou: true },
    });
    const reply = comment({ parentId: at2.id, atMs: 3000 });
    const resolved = comment({ atMs: 6000, resolvedAt: '2026-12-03T12:00:00.000Z' });
    const past = comment({ atMs: 12_000 });
    const deleted = comment({ atMs: 1000, deletedAt: '2026-12-03T12:00:00.000Z' });
    const kept = comment({ parentId: deleted.id });
    const markers = commentMarkers(threadComments([whole, at2, reply, resolved, past, deleted, kept]), 8000);
    expect(markers.map((m) => [m.id, m.leftPercent, m.resolved])).toEqual([
      [at2.id, 25, false],
      [resolved.id, 75, true],
      [past.id, 100, false],
    ]);
    expect(markers[0]!.label).toBe('0:02 — Bo: look here please');
  });

  it('puts every marker at the start while the length is unknown', () => {
    expect(commentMarkers(threadComments([comment({ atMs: 4000 })]), 0)[0]!.leftPercent).toBe(0);
  });
});

describe('mergeComments', () => {
  it('adds new comments and replaces older states, never with an older revision', () => {
    const a = comment();
    const held = mergeComments(new Map(), [a]);
    const edited = { ...a, body: 'edited', revision: '100' };
    const merged = mergeComments(held, [edited, comment()]);
    expect(merged.size).toBe(2);
    expect(merged.get(a.id)!.body).toBe('edited');
    expect(mergeComments(merged, [{ ...a, body: 'stale', revision: '99' }]).get(a.id)!.body).toBe('edited');
    expect(held.get(a.id)!.body).toBe(a.body); // the earlier map is left as it was (React state)
  });
});

describe('excerpt and timelineMs', () => {
  it('cuts long text on one line with an ellipsis', () => {
    expect(excerpt('a\n\nb', 10)).toBe('a b');
    expect(excerpt('abcdefghij', 5)).toBe('abcd…');
  });
  it('takes the element’s length, else the exact ms, else whole seconds', () => {
    expect(timelineMs(6.5, 6400, 7)).toBe(6500);
    expect(timelineMs(Number.POSITIVE_INFINITY, 6400, 7)).toBe(6400);
    expect(timelineMs(undefined, undefined, 7)).toBe(7000);
  });
});
