/**
 * The comments client against a scripted server: the list read page by page with the first page's revision
 * as the cursor, the poll asking /changes?since=<cursor>, a link visitor's headers (X-Share-Access, and
 * X-Guest-Key on their own comment); a visitor's tab memory (grant, name, guest keys); share helpers.
 */
import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../src/web/persist/api.ts';
import { type Comment, CommentsClient, memberComments, visitorComments } from '../../src/web/app/comments-client.ts';
import { GuestIdentity } from '../../src/web/app/guest-identity.ts';
import { expiryFrom, shareRefusal, withAccess } from '../../src/web/app/share-client.ts';

interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

function scripted(answer: (req: Seen) => { status: number; body?: unknown }) {
  const seen: Seen[] = [];
  const fetchImpl = (async (input: string, init: RequestInit) => {
    const req = {
      method: init.method ?? 'GET',
      url: new URL(input),
      headers: new Headers(init.headers),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    seen.push(req);
    const a = answer(req);
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status });
  }) as typeof fetch;
  return { seen, client: new ApiClient({ baseUrl: 'http://test', fetchImpl }) };
}

const comment = (id: string, revision: string, over: Partial<Comment> = {}): Comment => ({
  id,
  recordingId: '7',
  parentId: null,
  atMs: 2000,
  body: `c${id}`,
  author: { kind: 'guest', name: 'Visitor', isYou: false },
  createdAt: '2026-12-03T10:00:00.000Z',
  editedAt: null,
  deletedAt: null,
  resolvedAt: null,
  resolvedBy: null,
  revision,
  canEdit: false,
  canDelete: false,
  canResolve: false,
  ...over,
});

describe('CommentsClient', () => {
  it('reads every page, keeps the first page’s revision as the cursor, and polls changes since it', async () => {
    const { seen, client } = scripted((req) => {
      if (req.url.pathname.endsWith('/changes'))
        return { status: 200, body: { comments: [comment('1', '12', { body: 'edited' })], revision: '12' } };
      const after = req.url.searchParams.get('after');
      return after
        ? { status: 200, body: { comments: [comment('2', '11')], nextAfter: null, revision: '11' } }
        : { status: 200, body: { comments: [comment('1', '5')], nextAfter: '1', revision: '10' } };
    });
    const comments = new CommentsClient(memberComments('7'), client);
    const updates: number[] = [];
    comments.subscribe((held) => updates.push(held.size));
    await comments.poll(); // nothing held yet: loads
    expect(seen.map((s) => `${s.url.pathname}${s.url.search}`)).toEqual([
      '/api/recordings/7/comments?limit=100',
      '/api/recordings/7/comments?limit=100&after=1',
    ]);
    expect(comments.cursor).toBe('10');
    await comments.poll();
    expect(seen[2]!.url.search).toBe('?since=10');
    expect(comments.cursor).toBe('12');
    expect(comments.comments.get('1')!.body).toBe('edited');
    expect(updates).toEqual([1, 2, 2]);
  });

  it('sends a visitor’s grant on every call and the guest key on their own comment', async () => {
    let grant: string | null = null;
    const { seen, client } = scripted((req) => {
      if (req.method === 'POST') return { status: 201, body: { comment: comment('3', '20'), guestKey: 'gk_1' } };
      if (req.method === 'DELETE') return { status: 204 };
      return { status: 200, body: { comments: [comment('3', '21', { deletedAt: 'x', body: '' })], revision: '21' } };
    });
    const comments = new CommentsClient(
      visitorComments('sh_tok', () => grant),
      client,
    );
    grant = '123.sig';
    const made = await comments.create({ body: 'hello', atMs: 2000, guestName: 'Visitor' });
    expect(made.guestKey).toBe('gk_1');
    expect(seen[0]!.url.pathname).toBe('/api/s/sh_tok/comments');
    expect(seen[0]!.headers.get('x-share-access')).toBe('123.sig');
    expect(seen[0]!.body).toEqual({ body: 'hello', atMs: 2000, guestName: 'Visitor' });
    await comments.remove('3', 'gk_1');
    expect(seen[1]!.method).toBe('DELETE');
    expect(seen[1]!.headers.get('x-guest-key')).toBe('gk_1');
    expect(comments.comments.get('3')!.deletedAt).toBe('x'); // the poll after the delete brought its state
  });

  it('passes the server’s refusal on as an ApiError with its code', async () => {
    const { client } = scripted(() => ({ status: 429, body: { code: 'COMMENT_RATE_LIMITED', message: 'slow' } }));
    const comments = new CommentsClient(memberComments('7'), client);
    const err = await comments.create({ body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('COMMENT_RATE_LIMITED');
  });
});

function memoryStorage() {
  const data = new Map<string, string>();
  return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
}

describe('GuestIdentity', () => {
  it('remembers the grant until it expires, the name, and each comment’s key, per link', () => {
    const storage = memoryStorage();
    const one = new GuestIdentity('sh_one', storage);
    const now = Date.parse('2026-12-03T10:00:00Z');
    one.saveAccess('g', '2026-12-03T22:00:00Z');
    one.saveName('Visitor');
    one.saveKey('3', 'gk_1');
    expect(one.access(now)).toBe('g');
    expect(one.access(Date.parse('2026-12-03T22:00:01Z'))).toBeNull();
    expect(one.read().name).toBe('Visitor');
    expect(new GuestIdentity('sh_one', storage).keyFor('3')).toBe('gk_1');
    expect(new GuestIdentity('sh_two', storage).keyFor('3')).toBeUndefined();
    one.forgetAccess();
    expect(one.access(now)).toBeNull();
  });

  it('starts afresh on unreadable storage', () => {
    const storage = memoryStorage();
    storage.setItem('recorder.share.sh_x', '{not json');
    expect(new GuestIdentity('sh_x', storage).read()).toEqual({ name: '', keys: {}, access: null });
  });
});

describe('share helpers', () => {
  it('adds the grant to media URLs', () => {
    expect(withAccess('/api/s/t/media', null)).toBe('/api/s/t/media');
    expect(withAccess('/api/s/t/media', 'a.b+c')).toBe('/api/s/t/media?access=a.b%2Bc');
    expect(withAccess('/api/s/t/media?v=1', 'a')).toBe('/api/s/t/media?v=1&access=a');
    expect(withAccess('/api/s/t/media?access=a', 'a')).toBe('/api/s/t/media?access=a');
    expect(withAccess('http://h:1/api/s/t/media', 'a')).toBe('http://h:1/api/s/t/media?access=a');
  });
  it('turns an expiry choice into a time', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(expiryFrom('never', now)).toBeUndefined();
    expect(expiryFrom('1d', now)).toBe('2026-12-04T10:00:00.000Z');
  });
  it('words a refused link, and nothing else', () => {
    expect(shareRefusal(new ApiError(410, 'SHARE_REVOKED', 'x'))?.title).toBe('This link was revoked');
    expect(shareRefusal(new ApiError(404, 'SHARE_NOT_FOUND', 'x'))?.title).toBe('This link does not exist');
    expect(shareRefusal(new ApiError(500, 'INTERNAL', 'x'))).toBeNull();
  });
});
