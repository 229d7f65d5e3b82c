/**
 * The comments API refusing (issue 13, "Bad input and security"): hostile text (NUL, lone surrogates,
 * 1 MB, `<script>` kept as text), times outside the recording, replies across recordings, changing what
 * someone else wrote, strangers, links without 'comment', revoked and unknown links, the guests' rate
 * limit. Each a 4xx with its code; never a 500, never another recording's data.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { TestServer } from './support/app.js';
import { call, cast, guestApi, insertShare, memberApi } from './support/comments.js';
import { pgTargets } from './support/db.js';
import { insertRecording, withTestServer } from './support/recordings-fixtures.js';

const codeOf = (r: { status: number; body: { code?: string } }) => [r.status, r.body.code];

describe.each(pgTargets().slice(0, 1))('comments API refusals on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  it('refuses text PostgreSQL cannot hold, empty text, and more than 5,000 characters; 1 MB is a 4xx', async () => {
    const { viewer, recordingId } = await cast(t.url, c);
    const api = memberApi(t.url, viewer, recordingId);
    const base = `/api/recordings/${recordingId}/comments`;
    const raw = (text: string) => call(t.url, 'POST', base, { headers: viewer.headers, raw: text });
    expect(codeOf(await api.create({ body: 'a\u0000b' }))).toEqual([400, 'INVALID_TEXT']);
    expect(codeOf(await raw('{"body":"lone \\ud800 surrogate"}'))).toEqual([400, 'INVALID_TEXT']);
    expect(codeOf(await raw('{"body":"lone \\udfff"}'))).toEqual([400, 'INVALID_TEXT']);
    expect(codeOf(await api.create({ body: '' }))).toEqual([400, 'COMMENT_EMPTY']);
    expect(codeOf(await api.create({ body: ' \n\t ' }))).toEqual([400, 'COMMENT_EMPTY']);
    expect(codeOf(await api.create({ body: 'x'.repeat(5001) }))).toEqual([400, 'COMMENT_TOO_LONG']);
    expect(codeOf(await api.create({ body: '😀'.repeat(5001) }))).toEqual([400, 'COMMENT_TOO_LONG']);
    expect((await api.create({ body: '😀'.repeat(5000) })).status).toBe(201);
    expect(codeOf(await api.create({ body: 'x'.repeat(1_000_000) }))).toEqual([400, 'COMMENT_TOO_LONG']);
    expect(codeOf(await api.create({ body: 'x'.repeat(2_000_000) }))).toEqual([413, 'JSON_TOO_LARGE']);
    expect(codeOf(await api.create({ body: { html: '<b>' } }))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await api.create({ body: 'Hi', extra: true }))).toEqual([400, 'VALIDATION_FAILED']);
    const stored = await c.query('SELECT count(*)::int AS n FROM recording_comments WHERE recording_id = $1', [
      recordingId,
    ]);
    expect(stored.rows[0].n).toBe(1);
  });

  it('keeps <script> as the text it is: stored and returned verbatim, in JSON', async () => {
    const { creator, recordingId } = await cast(t.url, c);
    const api = memberApi(t.url, creator, recordingId);
    const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> & "quotes"';
    const made = await api.create({ body: hostile });
    expect(made.body.comment.body).toBe(hostile);
    expect(made.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await api.list()).body.comments[0]!.body).toBe(hostile);
    const row = await c.query('SELECT body FROM recording_comments WHERE id = $1', [made.body.comment.id]);
    expect(row.rows[0].body).toBe(hostile);
  });

  it('refuses times below 0 or past the end of the recording, and times that are not whole ms', async () => {
    const { creator, recordingId } = await cast(t.url, c);
    const api = memberApi(t.url, creator, recordingId);
    expect(codeOf(await api.create({ body: 'Before', atMs: -1 }))).toEqual([400, 'COMMENT_AT_INVALID']);
    const past = await api.create({ body: 'After', atMs: 3001 });
    expect(codeOf(past)).toEqual([400, 'COMMENT_AT_INVALID']);
    expect(past.body.message).toContain('3000 ms');
    expect(codeOf(await api.create({ body: 'Far', atMs: 1e20 }))).toEqual([400, 'COMMENT_AT_INVALID']);
    expect(codeOf(await api.create({ body: 'Half', atMs: 1.5 }))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await api.create({ body: 'Text', atMs: 'soon' }))).toEqual([400, 'VALIDATION_FAILED']);
    expect((await api.create({ body: 'Last', atMs: 3000 })).status).toBe(201);
  });

  it("refuses a reply to another recording's comment, or to none, and says nothing of it", async () => {
    const { creator, recordingId } = await cast(t.url, c);
    const otherId = await insertRecording(c, { userId: creator.userId });
    const elsewhere = (await memberApi(t.url, creator, otherId).create({ body: 'Elsewhere' })).body.comment;
    const api = memberApi(t.url, creator, recordingId);
    for (const parentId of [elsewhere.id, '999999999', '9223372036854775807']) {
      const r = await api.create({ body: 'Reply', parentId });
      expect(codeOf(r)).toEqual([400, 'COMMENT_PARENT_INVALID']);
      expect(JSON.stringify(r.body)).not.toContain('Elsewhere');
    }
    expect(codeOf(await api.create({ body: 'Reply', parentId: 'abc' }))).toEqual([400, 'VALIDATION_FAILED']);
    // a comment of another recording is not found under this one
    expect(codeOf(await api.edit(elsewhere.id, { body: 'Hijack' }))).toEqual([404, 'COMMENT_NOT_FOUND']);
    expect(codeOf(await api.remove(elsewhere.id))).toEqual([404, 'COMMENT_NOT_FOUND']);
    expect(codeOf(await api.remove('99999999999999999999'))).toEqual([404, 'COMMENT_NOT_FOUND']);
  });

  it("refuses changing someone else's comment, resolving as a viewer, and strangers learn nothing", async () => {
    const { creator, editor, viewer, stranger, recordingId } = await cast(t.url, c);
    const byCreator = (await memberApi(t.url, creator, recordingId).create({ body: 'Mine' })).body.comment;
    const asViewer = memberApi(t.url, viewer, recordingId);
    const asEditor = memberApi(t.url, editor, recordingId);
    expect(codeOf(await asViewer.edit(byCreator.id, { body: 'Changed' }))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await asEditor.edit(byCreator.id, { body: 'Changed' }))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await asViewer.remove(byCreator.id))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await asViewer.resolve(byCreator.id))).toEqual([403, 'FORBIDDEN']);
    const asStranger = memberApi(t.url, stranger, recordingId);
    for (const r of [
      await asStranger.edit(byCreator.id, { body: 'x' }),
      await asStranger.remove(byCreator.id),
      await asStranger.resolve(byCreator.id),
      await asStranger.changes('0'),
    ])
      expect(codeOf(r)).toEqual([404, 'RECORDING_NOT_FOUND']);
    const reply = (await asViewer.create({ body: 'Re', parentId: byCreator.id })).body.comment;
    expect(codeOf(await asEditor.resolve(reply.id))).toEqual([400, 'VALIDATION_FAILED']);
    expect((await memberApi(t.url, creator, recordingId).remove(byCreator.id)).status).toBe(204);
    expect(codeOf(await memberApi(t.url, creator, recordingId).edit(byCreator.id, { body: 'x' }))).toEqual([
      409,
      'COMMENT_DELETED',
    ]);
    expect(codeOf(await asViewer.create({ body: 'Re', parentId: byCreator.id }))).toEqual([409, 'COMMENT_DELETED']);
    expect((await c.query('SELECT body FROM recording_comments WHERE id = $1', [byCreator.id])).rows).toEqual([
      { body: '' },
    ]);
  });

  it('refuses bad cursors and unknown query parameters', async () => {
    const { creator, recordingId } = await cast(t.url, c);
    const api = memberApi(t.url, creator, recordingId);
    expect(codeOf(await api.changes('abc'))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await api.changes('-1'))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await api.list('?limit=101'))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await api.list('?after=0'))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await api.list('?afterr=5'))).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('a link without comment shows no comments; unknown and revoked links say so; guests never resolve', async () => {
    const { creator, recordingId } = await cast(t.url, c);
    await memberApi(t.url, creator, recordingId).create({ body: 'Internal note' });
    const viewOnly = guestApi(t.url, (await insertShare(c, recordingId, { comment: false })).token);
    const download = guestApi(t.url, (await insertShare(c, recordingId, { comment: false, download: true })).token);
    for (const r of [
      await viewOnly.list(),
      await viewOnly.create({ body: 'Hi', guestName: 'Zed' }),
      await viewOnly.changes('0'),
      await download.list(),
    ]) {
      expect(codeOf(r)).toEqual([403, 'SHARE_NO_COMMENTS']);
      expect(JSON.stringify(r.body)).not.toContain('Internal note');
    }
    const unknown = guestApi(t.url, `sh_${'A'.repeat(43)}`);
    expect(codeOf(await unknown.list())).toEqual([404, 'SHARE_NOT_FOUND']);
    expect(codeOf(await guestApi(t.url, 'sh_short').list())).toEqual([404, 'SHARE_NOT_FOUND']);
    const revoked = guestApi(t.url, (await insertShare(c, recordingId, { revoked: true })).token);
    expect(codeOf(await revoked.create({ body: 'Hi', guestName: 'Zed' }))).toEqual([410, 'SHARE_REVOKED']);
    const { token } = await insertShare(c, recordingId);
    const resolve = await call(t.url, 'POST', `/api/s/${token}/comments/1/resolve`);
    expect(resolve.status).toBe(404);
    const guest = guestApi(t.url, token);
    expect(codeOf(await guest.create({ body: 'No name' }))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await guest.create({ body: 'Blank', guestName: '   ' }))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await guest.create({ body: 'Long', guestName: 'n'.repeat(81) }))).toEqual([400, 'VALIDATION_FAILED']);
  });

  it("a guest changes only their own comment: not another guest's, not a member's, not without the key", async () => {
    const { creator, recordingId } = await cast(t.url, c);
    const byMember = (await memberApi(t.url, creator, recordingId).create({ body: 'Team' })).body.comment;
    const { token } = await insertShare(c, recordingId);
    const guest = guestApi(t.url, token);
    const first = (await guest.create({ body: 'First guest', guestName: 'Ann' })).body;
    const second = (await guest.create({ body: 'Second guest', guestName: 'Bob' })).body;
    expect(second.guestKey).not.toBe(first.guestKey);
    expect(codeOf(await guest.edit(first.comment.id, { body: 'x' }, second.guestKey))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await guest.edit(first.comment.id, { body: 'x' }))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await guest.edit(first.comment.id, { body: 'x' }, 'gk_forged'))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await guest.remove(byMember.id, first.guestKey))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await guest.edit(first.comment.id, { body: '' }, first.guestKey))).toEqual([400, 'COMMENT_EMPTY']);
    // the key of one link does nothing through another link of another recording
    const otherId = await insertRecording(c, { userId: creator.userId });
    const other = guestApi(t.url, (await insertShare(c, otherId)).token);
    expect(codeOf(await other.remove(first.comment.id, first.guestKey))).toEqual([404, 'COMMENT_NOT_FOUND']);
    const rows = await c.query('SELECT body FROM recording_comments WHERE recording_id = $1 ORDER BY id', [
      recordingId,
    ]);
    expect(rows.rows.map((r) => r.body)).toEqual(['Team', 'First guest', 'Second guest']);
  });

  it('limits guests to 10 comments a minute per link and address: the 11th is 429 with Retry-After', async () => {
    const { recordingId } = await cast(t.url, c);
    const { token } = await insertShare(c, recordingId);
    const guest = guestApi(t.url, token);
    for (let i = 1; i <= 10; i++) expect((await guest.create({ body: `n${i}`, guestName: 'Flood' })).status).toBe(201);
    const limited = await guest.create({ body: 'n11', guestName: 'Flood' });
    expect(codeOf(limited)).toEqual([429, 'COMMENT_RATE_LIMITED']);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // another link of the same recording has its own count; the minute over, the link's count starts again
    const fresh = guestApi(t.url, (await insertShare(c, recordingId)).token);
    expect((await fresh.create({ body: 'other link', guestName: 'Flood' })).status).toBe(201);
    await c.query(`UPDATE guest_comment_limits SET window_started_at = now() - interval '61 seconds'`);
    expect((await guest.create({ body: 'next minute', guestName: 'Flood' })).status).toBe(201);
    const n = await c.query('SELECT count(*)::int AS n FROM recording_comments WHERE recording_id = $1', [recordingId]);
    expect(n.rows[0].n).toBe(12);
  });
});
