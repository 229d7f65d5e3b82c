/**
 * The comments API (issue 13) over a real server and database, every route's success: members by role
 * (creator and project owner, editor, viewer; a stranger gets 404), threads and pages, the changes cursor,
 * edit, delete (own, and moderation), resolve and reopen, link visitors with 'comment' (guest name, guest
 * key, password links' grant, never a cookie), and the comment count on the recording and in the library.
 * The refusals are in comments.failures.test.ts. Version-independent: on the first server only.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { TestServer } from './support/app.js';
import { call, cast, guestApi, insertShare, memberApi } from './support/comments.js';
import { pgTargets } from './support/db.js';
import { withTestServer } from './support/recordings-fixtures.js';

describe.each(pgTargets().slice(0, 1))('comments API on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  it('every member comments and reads; their rights show on each comment; a stranger gets 404', async () => {
    const { creator, editor, viewer, stranger, recordingId } = await cast(t.url, c);
    const api = (who: typeof creator) => memberApi(t.url, who, recordingId);
    const made = await api(creator).create({ body: 'At the start', atMs: 0 });
    expect(made.status).toBe(201);
    expect(made.body.comment).toMatchObject({
      recordingId,
      parentId: null,
      atMs: 0,
      body: 'At the start',
      author: { kind: 'member', name: 'Ada', isYou: true },
      editedAt: null,
      deletedAt: null,
      resolvedAt: null,
      resolvedBy: null,
      canEdit: true,
      canDelete: true,
      canResolve: true,
    });
    expect((await api(editor).create({ body: 'Whole thing', atMs: null })).body.comment.atMs).toBeNull();
    expect((await api(viewer).create({ body: 'At the end', atMs: 3000 })).status).toBe(201);

    const asViewer = await api(viewer).list();
    expect(asViewer.status).toBe(200);
    expect(
      asViewer.body.comments.map((x) => [x.author.name, x.author.isYou, x.canEdit, x.canDelete, x.canResolve]),
    ).toEqual([
      ['Ada', false, false, false, false],
      ['Ben', false, false, false, false],
      ['Vic', true, true, true, false],
    ]);
    const asEditor = await api(editor).list();
    expect(asEditor.body.comments.map((x) => [x.canEdit, x.canDelete, x.canResolve])).toEqual([
      [false, true, true],
      [true, true, true],
      [false, true, true],
    ]);
    for (const r of [await api(stranger).list(), await api(stranger).create({ body: 'Hi' })])
      expect([r.status, r.body.code]).toEqual([404, 'RECORDING_NOT_FOUND']);
    const anonymous = await call(t.url, 'GET', `/api/recordings/${recordingId}/comments`);
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('threads: a reply joins its thread, a reply to a reply joins the same thread; pages in id order', async () => {
    const { creator, editor, recordingId } = await cast(t.url, c);
    const api = memberApi(t.url, creator, recordingId);
    const thread = (await api.create({ body: 'Thread', atMs: 1200 })).body.comment;
    const reply = (await memberApi(t.url, editor, recordingId).create({ body: 'Re', parentId: thread.id })).body;
    expect(reply.comment).toMatchObject({ parentId: thread.id, canResolve: false });
    const deeper = (await api.create({ body: 'Re re', parentId: reply.comment.id })).body.comment;
    expect(deeper.parentId).toBe(thread.id);
    for (let i = 0; i < 3; i++) await api.create({ body: `More ${i}` });

    const first = await api.list('?limit=4');
    expect(first.body.comments.map((x) => x.body)).toEqual(['Thread', 'Re', 'Re re', 'More 0']);
    expect(first.body.nextAfter).toBe(first.body.comments[3]!.id);
    const second = await api.list(`?limit=4&after=${first.body.nextAfter}`);
    expect(second.body.comments.map((x) => x.body)).toEqual(['More 1', 'More 2']);
    expect(second.body.nextAfter).toBeNull();
    expect(BigInt(first.body.revision)).toBeGreaterThan(0n);
    expect(first.body.revision).toBe(second.body.comments[1]!.revision);
  });

  it('the changes cursor brings new, edited, resolved, reopened and deleted comments, then nothing', async () => {
    const { creator, viewer, recordingId } = await cast(t.url, c);
    const owner = memberApi(t.url, creator, recordingId);
    const reader = memberApi(t.url, viewer, recordingId);
    const empty = await reader.list();
    expect(empty.body).toEqual({ comments: [], nextAfter: null, revision: '0' });
    const a = (await owner.create({ body: 'One', atMs: 500 })).body.comment;
    const b = (await reader.create({ body: 'Two' })).body.comment;
    const step1 = await reader.changes('0');
    expect(step1.body.comments.map((x) => x.body)).toEqual(['One', 'Two']);

    const edited = await reader.edit(b.id, { body: 'Two, edited' });
    expect(edited.body.comment).toMatchObject({ body: 'Two, edited', author: { isYou: true } });
    expect(edited.body.comment.editedAt).not.toBeNull();
    const resolved = await owner.resolve(a.id);
    expect(resolved.body.comment).toMatchObject({ resolvedBy: { name: 'Ada' } });
    expect(resolved.body.comment.resolvedAt).not.toBeNull();
    const step2 = await reader.changes(step1.body.revision);
    expect(step2.body.comments.map((x) => [x.id, x.body, x.resolvedAt !== null])).toEqual([
      [b.id, 'Two, edited', false],
      [a.id, 'One', true],
    ]);

    expect((await owner.resolve(a.id, 'reopen')).body.comment.resolvedAt).toBeNull();
    expect((await reader.remove(b.id)).status).toBe(204);
    const step3 = await reader.changes(step2.body.revision);
    expect(step3.body.comments.map((x) => [x.id, x.resolvedAt, x.body, x.deletedAt !== null, x.canEdit])).toEqual([
      [a.id, null, 'One', false, false],
      [b.id, null, '', true, false],
    ]);
    const step4 = await reader.changes(step3.body.revision);
    expect(step4.body).toEqual({ comments: [], revision: step3.body.revision });
    // a deleted comment stays in the list, emptied (a thread keeps its replies)
    expect((await reader.list()).body.comments.map((x) => x.body)).toEqual(['One', '']);
  });

  it('a poller following the cursor while many write at once sees every comment and every edit', async () => {
    const { creator, editor, viewer, recordingId } = await cast(t.url, c);
    const writers = [creator, editor, viewer].map((who) => memberApi(t.url, who, recordingId));
    const reader = memberApi(t.url, viewer, recordingId);
    const seen = new Map<string, string>();
    let cursor = '0';
    let writing = true;
    const poll = async () => {
      const answer = await reader.changes(cursor);
      for (const x of answer.body.comments) seen.set(x.id, x.body);
      cursor = answer.body.revision;
    };
    const polling = (async () => {
      while (writing) await poll();
    })();
    await Promise.all(
      writers.map(async (api, w) => {
        for (let i = 0; i < 8; i++) {
          const made = (await api.create({ body: `w${w} n${i}` })).body.comment;
          if (i % 2 === 0) await api.edit(made.id, { body: `w${w} n${i} edited` });
        }
      }),
    );
    writing = false;
    await polling;
    await poll();
    const all = (await reader.list()).body.comments;
    expect(all).toHaveLength(24);
    expect(new Map(all.map((x) => [x.id, x.body]))).toEqual(seen);
  });

  it('owners and editors delete any comment (moderation); each deletes their own', async () => {
    const { creator, editor, viewer, recordingId } = await cast(t.url, c);
    const byViewer = (await memberApi(t.url, viewer, recordingId).create({ body: 'Spam' })).body.comment;
    expect((await memberApi(t.url, editor, recordingId).remove(byViewer.id)).status).toBe(204);
    const byEditor = (await memberApi(t.url, editor, recordingId).create({ body: 'Mine' })).body.comment;
    expect((await memberApi(t.url, editor, recordingId).remove(byEditor.id)).status).toBe(204);
    const again = await memberApi(t.url, creator, recordingId).remove(byEditor.id);
    expect(again.status).toBe(204);
    const rows = await c.query(
      'SELECT body, deleted_at IS NOT NULL AS gone FROM recording_comments WHERE recording_id = $1',
      [recordingId],
    );
    expect(rows.rows).toEqual([
      { body: '', gone: true },
      { body: '', gone: true },
    ]);
  });

  it('a link with comment: guests read, write under a name, change their own by key; no cookie', async () => {
    const { creator, recordingId } = await cast(t.url, c);
    await memberApi(t.url, creator, recordingId).create({ body: 'From the team', atMs: 100 });
    const { token } = await insertShare(c, recordingId, { comment: true });
    const guest = guestApi(t.url, token);
    const listed = await guest.list();
    expect(listed.status).toBe(200);
    expect(listed.body.comments[0]).toMatchObject({
      body: 'From the team',
      author: { kind: 'member', name: 'Ada', isYou: false },
      canEdit: false,
      canDelete: false,
      canResolve: false,
    });
    const made = await guest.create({ body: 'Lovely <b>bit</b>', atMs: 2000, guestName: '  Zoe  ' });
    expect(made.status).toBe(201);
    expect(made.body.guestKey).toMatch(/^gk_[A-Za-z0-9_-]{43}$/);
    expect(made.body.comment).toMatchObject({
      body: 'Lovely <b>bit</b>',
      author: { kind: 'guest', name: 'Zoe', isYou: true },
      canEdit: true,
      canDelete: true,
      canResolve: false,
    });
    const key = made.body.guestKey;
    const id = made.body.comment.id;
    const again = await guest.create({ body: 'Same me', guestName: 'Zoe', parentId: id }, key);
    expect(again.body.guestKey).toBe(key);
    const mine = await guest.list(key);
    expect(mine.body.comments.map((x) => x.author.isYou)).toEqual([false, true, true]);
    expect((await guest.list()).body.comments.map((x) => x.author.isYou)).toEqual([false, false, false]);
    const edited = await guest.edit(id, { body: 'Lovely bit' }, key);
    expect([edited.status, edited.body.comment.body]).toEqual([200, 'Lovely bit']);
    expect((await guest.changes('0')).body.comments.map((x) => x.body)).toEqual([
      'From the team',
      'Same me',
      'Lovely bit',
    ]);
    const seen = (await memberApi(t.url, creator, recordingId).list()).body.comments[1]!;
    expect(seen).toMatchObject({ author: { kind: 'guest', name: 'Zoe', isYou: false }, canDelete: true });
    expect((await guest.remove(id, key)).status).toBe(204);
    for (const r of [listed, made, edited]) expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('a password link needs its grant (X-Share-Access) for comments too', async () => {
    const { recordingId } = await cast(t.url, c);
    const { token, access } = await insertShare(c, recordingId, { comment: true, password: true });
    const locked = await guestApi(t.url, token).list();
    expect([locked.status, locked.body.code]).toEqual([401, 'SHARE_PASSWORD_REQUIRED']);
    const open = guestApi(t.url, token, access);
    expect((await open.list()).status).toBe(200);
    expect((await open.create({ body: 'Behind a password', guestName: 'Pat' })).status).toBe(201);
  });

  it('the recording and the library count the comments that stand', async () => {
    const { creator, viewer, recordingId } = await cast(t.url, c);
    const api = memberApi(t.url, creator, recordingId);
    const count = async () => {
      const one = await call<{ commentCount: number }>(t.url, 'GET', `/api/recordings/${recordingId}`, {
        headers: viewer.headers,
      });
      const list = await call<{ items: { id: string; commentCount: number }[] }>(t.url, 'GET', '/api/recordings', {
        headers: viewer.headers,
      });
      return [one.body.commentCount, list.body.items.find((r) => r.id === recordingId)!.commentCount];
    };
    expect(await count()).toEqual([0, 0]);
    const first = (await api.create({ body: 'One' })).body.comment;
    await api.create({ body: 'Two', parentId: first.id });
    await api.create({ body: 'Three' });
    expect(await count()).toEqual([3, 3]);
    await api.remove(first.id);
    expect(await count()).toEqual([2, 2]);
  });

  it('deleting the recording deletes its comments', async () => {
    const { creator, recordingId } = await cast(t.url, c);
    await memberApi(t.url, creator, recordingId).create({ body: 'Soon gone' });
    const gone = await call(t.url, 'DELETE', `/api/recordings/${recordingId}`, { headers: creator.headers });
    expect(gone.status).toBe(204);
    const left = await c.query('SELECT count(*)::int AS n FROM recording_comments WHERE recording_id = $1', [
      recordingId,
    ]);
    expect(left.rows[0].n).toBe(0);
  });
});
