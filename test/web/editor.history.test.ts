/**
 * The editor's history client against a scripted server: every change carries If-Match with the
 * revision it was based on, a 409 EDIT_CONFLICT makes it adopt the server's history (and say so),
 * changes go one at a time (the second waits for the first's revision); and the undo/redo shortcuts.
 */
import { describe, expect, it } from 'vitest';
import { foldEdits } from '../../src/shared/edits.ts';
import { type EditHistory, type HistoryEvent, HistoryClient } from '../../src/web/editor/history-client.ts';
import { historyKey, type KeyLike } from '../../src/web/editor/keys.ts';
import { ApiClient } from '../../src/web/persist/api.ts';

const history = (revision: number, extra: Partial<EditHistory> = {}): EditHistory => ({
  revision: String(revision),
  canUndo: revision > 0,
  canRedo: false,
  edits: [],
  state: foldEdits(10, []),
  media: { durationSeconds: 10, width: 320, height: 240 },
  ...extra,
});

interface Seen {
  method: string;
  path: string;
  ifMatch: string | null;
  body: unknown;
}

function scripted(answer: (req: Seen) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  const fetchImpl = (async (input: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    const req = {
      method: init.method ?? 'GET',
      path: new URL(input).pathname,
      ifMatch: headers.get('if-match'),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    seen.push(req);
    const a = answer(req);
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { seen, client: new ApiClient({ baseUrl: 'http://test', fetchImpl }) };
}

describe('HistoryClient', () => {
  it('loads, then sends each change with the revision it is based on', async () => {
    let rev = 3;
    const { seen, client } = scripted((req) =>
      req.method === 'GET' ? { status: 200, body: history(rev) } : { status: 201, body: history(++rev) },
    );
    const h = new HistoryClient('42', client);
    const events: HistoryEvent['kind'][] = [];
    h.subscribe((e) => events.push(e.kind));
    await h.load();
    await h.apply({ type: 'trim', parameters: { start: 1, end: 2 } });
    await h.undo();
    await h.redo();
    expect(seen.map((s) => `${s.method} ${s.path} ${s.ifMatch}`)).toEqual([
      'GET /api/recordings/42/edits null',
      'POST /api/recordings/42/edits "3"',
      'POST /api/recordings/42/edits/undo "4"',
      'POST /api/recordings/42/edits/redo "5"',
    ]);
    expect(seen[1]!.body).toEqual({ type: 'trim', parameters: { start: 1, end: 2 } });
    expect(events).toEqual(['loaded', 'changed', 'changed', 'changed']);
    expect(h.history?.revision).toBe('6');
  });

  it('adopts the server history on 409 EDIT_CONFLICT and reports a conflict, not an error', async () => {
    const theirs = history(9, { canRedo: true });
    const { client } = scripted((req) =>
      req.method === 'GET'
        ? { status: 200, body: history(1) }
        : { status: 409, body: { code: 'EDIT_CONFLICT', message: 'stale', details: { history: theirs } } },
    );
    const h = new HistoryClient('7', client);
    const events: HistoryEvent[] = [];
    h.subscribe((e) => events.push(e));
    await h.load();
    expect(await h.undo()).toBeNull();
    expect(events.at(-1)).toEqual({ kind: 'conflict', history: theirs });
    expect(h.history).toEqual(theirs);
  });

  it('reports other refusals as errors and keeps its history', async () => {
    const { client } = scripted((req) =>
      req.method === 'GET'
        ? { status: 200, body: history(2) }
        : { status: 400, body: { code: 'EDIT_INVALID', message: 'A trim must end after it starts' } },
    );
    const h = new HistoryClient('7', client);
    const errors: string[] = [];
    h.subscribe((e) => e.kind === 'error' && errors.push(`${e.error.code}: ${e.error.message}`));
    await h.load();
    expect(await h.apply({ type: 'trim', parameters: { start: 2, end: 1 } })).toBeNull();
    expect(errors).toEqual(['EDIT_INVALID: A trim must end after it starts']);
    expect(h.history?.revision).toBe('2');
  });

  it('sends two quick changes one after the other, the second with the first one’s new revision', async () => {
    let rev = 0;
    const { seen, client } = scripted((req) =>
      req.method === 'GET' ? { status: 200, body: history(rev) } : { status: 201, body: history(++rev) },
    );
    const h = new HistoryClient('1', client);
    await Promise.all([
      h.apply({ type: 'audio', parameters: { mute: true } }),
      h.apply({ type: 'audio', parameters: { mute: false } }),
    ]);
    expect(seen.map((s) => s.ifMatch)).toEqual([null, '"0"', '"1"']);
  });
});

describe('historyKey', () => {
  const key = (k: Partial<KeyLike>): KeyLike => ({
    key: 'z',
    ctrlKey: false,
    metaKey: false,
    shiftKey: false,
    altKey: false,
    target: null,
    ...k,
  });
  it('reads Ctrl/Cmd+Z as undo and Shift+Ctrl/Cmd+Z or Ctrl+Y as redo', () => {
    expect(historyKey(key({ ctrlKey: true }))).toBe('undo');
    expect(historyKey(key({ metaKey: true }))).toBe('undo');
    expect(historyKey(key({ ctrlKey: true, shiftKey: true, key: 'Z' }))).toBe('redo');
    expect(historyKey(key({ metaKey: true, shiftKey: true }))).toBe('redo');
    expect(historyKey(key({ ctrlKey: true, key: 'y' }))).toBe('redo');
  });
  it('leaves plain keys, Alt combinations and typing in text fields alone', () => {
    expect(historyKey(key({}))).toBeNull();
    expect(historyKey(key({ ctrlKey: true, altKey: true }))).toBeNull();
    const input = { tagName: 'INPUT', type: 'text' } as unknown as EventTarget;
    expect(historyKey(key({ ctrlKey: true, target: input }))).toBeNull();
    const slider = { tagName: 'INPUT', type: 'range' } as unknown as EventTarget;
    expect(historyKey(key({ ctrlKey: true, target: slider }))).toBe('undo');
  });
});
