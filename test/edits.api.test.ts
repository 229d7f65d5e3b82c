/**
 * The editor's history API (issue 12) over a real server and database: every edit type valid and
 * refused, undo/redo and the dropped redo branch, If-Match (428, 409 with the history), the 409s of an
 * empty stack and of a recording still processing, permissions, hostile text, the cascade on delete.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type Edit, foldEdits } from '../src/shared/edits.js';
import { signUp, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { editor, editsCall, insertEditableRecording } from './support/edits.js';
import { addMember, asUser, insertProject, withTestServer } from './support/recordings-fixtures.js';

type User = Awaited<ReturnType<typeof signUp>>;

const VALID: Edit[] = [
  { type: 'trim', parameters: { start: 1.5, end: 28.25 } },
  { type: 'trim', parameters: { start: 10, end: 12.5, mode: 'cut' } },
  { type: 'crop', parameters: { x: 100, y: 50, width: 640, height: 360 } },
  { type: 'filter', parameters: { name: 'brightness', amount: -0.25 } },
  { type: 'filter', parameters: { name: 'contrast', amount: 1.5 } },
  { type: 'filter', parameters: { name: 'saturation', amount: 0 } },
  { type: 'filter', parameters: { name: 'grayscale', amount: 1 } },
  { type: 'filter', parameters: { name: 'sepia', amount: 0.5 } },
  { type: 'filter', parameters: { name: 'blur', amount: 4 } },
  {
    type: 'text_overlay',
    parameters: { text: 'Hello', x: 0.1, y: 0.8, from: 1, to: 3, size: 0.08, color: '#ffffff', background: null },
  },
  { type: 'audio', parameters: { gain_db: -6 } },
  { type: 'audio', parameters: { mute: true } },
  { type: 'audio', parameters: { fade_in: 1, fade_out: 2 } },
  { type: 'audio', parameters: { denoise: true } },
];

const text = { text: 'Hi', x: 0, y: 0, from: 0, to: 1, size: 0.1, color: '#000000', background: '#00000080' };
/** [edit, expected code, what the message says (EDIT_INVALID)] */
const INVALID: [unknown, string, RegExp?][] = [
  [{ type: 'trim', parameters: { start: 5, end: 5 } }, 'EDIT_INVALID', /end after it starts/],
  [{ type: 'trim', parameters: { start: 5, end: 31 } }, 'EDIT_INVALID', /within the recording \(30 s\)/],
  [{ type: 'trim', parameters: { start: 0, end: 30, mode: 'cut' } }, 'EDIT_INVALID', /less than 0.1 s/],
  [{ type: 'trim', parameters: { start: -1, end: 5 } }, 'VALIDATION_FAILED'],
  [{ type: 'trim', parameters: { start: 1, end: 5, mode: 'slice' } }, 'VALIDATION_FAILED'],
  [{ type: 'trim', parameters: { start: 1 } }, 'VALIDATION_FAILED'],
  [{ type: 'crop', parameters: { x: 1000, y: 0, width: 640, height: 360 } }, 'EDIT_INVALID', /1280×720/],
  [{ type: 'crop', parameters: { x: 1, y: 0, width: 640, height: 360 } }, 'VALIDATION_FAILED'],
  [{ type: 'crop', parameters: { x: 0, y: 0, width: 8, height: 8 } }, 'VALIDATION_FAILED'],
  [{ type: 'filter', parameters: { name: 'vignette', amount: 1 } }, 'VALIDATION_FAILED'],
  [{ type: 'filter', parameters: { name: 'blur', amount: 21 } }, 'EDIT_INVALID', /from 0 to 20/],
  [{ type: 'filter', parameters: { name: 'brightness', amount: 'bright' } }, 'VALIDATION_FAILED'],
  [{ type: 'text_overlay', parameters: { ...text, from: 2, to: 1 } }, 'EDIT_INVALID', /disappear after/],
  [{ type: 'text_overlay', parameters: { ...text, to: 40 } }, 'EDIT_INVALID', /within the recording/],
  [{ type: 'text_overlay', parameters: { ...text, text: '' } }, 'VALIDATION_FAILED'],
  [{ type: 'text_overlay', parameters: { ...text, text: 'x'.repeat(501) } }, 'VALIDATION_FAILED'],
  [{ type: 'text_overlay', parameters: { ...text, color: 'red' } }, 'VALIDATION_FAILED'],
  [{ type: 'text_overlay', parameters: { ...text, x: 1.5 } }, 'VALIDATION_FAILED'],
  [{ type: 'text_overlay', parameters: { ...text, text: 'a\u0000b' } }, 'INVALID_TEXT'],
  [{ type: 'text_overlay', parameters: { ...text, text: 'a\ud800b' } }, 'INVALID_TEXT'],
  [{ type: 'audio', parameters: { gain_db: 31 } }, 'VALIDATION_FAILED'],
  [{ type: 'audio', parameters: { gain_db: 3, mute: true } }, 'VALIDATION_FAILED'],
  [{ type: 'audio', parameters: { fade_in: 1 } }, 'VALIDATION_FAILED'],
  [{ type: 'audio', parameters: {} }, 'VALIDATION_FAILED'],
  [{ type: 'rotate', parameters: { degrees: 90 } }, 'VALIDATION_FAILED'],
  [{ type: 'trim', parameters: { start: 1, end: 2 }, extra: 1 }, 'VALIDATION_FAILED'],
  [{ type: 'trim' }, 'VALIDATION_FAILED'],
];

describe.each(pgTargets())('edits API on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  const fresh = async (u: User, opts: Parameters<typeof insertEditableRecording>[2] = {}) => {
    const id = await insertEditableRecording(c, u.userId, opts);
    return { id, ed: editor(t.url, u, id) };
  };

  it('an empty history: revision 0 as the ETag, the whole recording kept, the media facts', async () => {
    const a = await signUp(t.url, 'a');
    const { ed } = await fresh(a);
    const h = await ed.load();
    expect(h.status).toBe(200);
    expect(h.etag).toBe('"0"');
    expect(h.body).toMatchObject({ revision: '0', canUndo: false, canRedo: false, edits: [] });
    expect(h.body.state.keep).toEqual([{ start: 0, end: 30 }]);
    expect(h.body.media).toEqual({ durationSeconds: 30, width: 1280, height: 720 });
  });

  it('accepts every edit type, each a row with its undo data and words, folded into the state', async () => {
    const a = await signUp(t.url, 'a');
    const { ed } = await fresh(a);
    for (const [i, edit] of VALID.entries()) {
      const r = await ed.edit(edit);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.etag).toBe(`"${i + 1}"`);
      expect(r.body.edits[i]).toMatchObject({ position: i + 1, ...edit, state: 'active', createdBy: a.userId });
      expect(r.body.edits[i]!.createdByName).toBe('a');
      expect(r.body.edits[i]!.description.length).toBeGreaterThan(0);
    }
    const h = (await ed.load()).body;
    expect(h.revision).toBe(String(VALID.length));
    expect(h.state.keep).toEqual([
      { start: 1.5, end: 10 },
      { start: 12.5, end: 28.25 },
    ]);
    expect(h.state.crop).toEqual({ x: 100, y: 50, width: 640, height: 360 });
    expect(h.state.filters).toEqual({
      brightness: -0.25,
      contrast: 1.5,
      saturation: 0,
      grayscale: 1,
      sepia: 0.5,
      blur: 4,
    });
    expect(h.state.texts).toHaveLength(1);
    expect(h.state.audio).toEqual({ gainDb: -6, mute: true, fadeIn: 1, fadeOut: 2, denoise: true });
    expect(h.edits[0]!.undoData).toEqual({ keep: [{ start: 0, end: 30 }], keptSeconds: 30 });
    expect(h.edits[2]!.undoData).toEqual({ crop: null });
    expect(h.edits[0]!.description).toBe('Kept 0:01.500–0:28.250');
    const since = (await ed.load(`?since=${VALID.length - 2}`)).body;
    expect(since.edits.map((e) => e.position)).toEqual([VALID.length - 1, VALID.length]);
    expect(since.state).toEqual(h.state);
  });

  it('refuses each bad edit with its code and leaves the history as it was', async () => {
    const a = await signUp(t.url, 'a');
    const { ed } = await fresh(a);
    for (const [edit, code, message] of INVALID) {
      const r = await ed.edit(edit as Record<string, unknown>);
      expect([r.status, r.body.code], JSON.stringify(edit)).toEqual([400, code]);
      if (message) expect(r.body.message).toMatch(message);
    }
    expect((await ed.load()).body).toMatchObject({ revision: '0', edits: [] });
  });

  it('an audio recording takes trims and audio edits only', async () => {
    const a = await signUp(t.url, 'a');
    const { ed } = await fresh(a, { audio: true });
    expect((await ed.load()).body.media).toEqual({ durationSeconds: 30, width: null, height: null });
    expect((await ed.edit({ type: 'trim', parameters: { start: 1, end: 2 } })).status).toBe(201);
    expect((await ed.edit({ type: 'audio', parameters: { gain_db: 3 } })).status).toBe(201);
    for (const edit of VALID.filter((e) => e.type !== 'trim' && e.type !== 'audio')) {
      const r = await ed.edit(edit);
      expect([r.status, r.body.code]).toEqual([400, 'EDIT_INVALID']);
      expect(r.body.message).toMatch(/audio recording takes only trim and audio/);
    }
  });

  it('undo and redo walk the stack; a new edit after undos drops the redo branch, kept as history', async () => {
    const a = await signUp(t.url, 'a');
    const { ed } = await fresh(a);
    await ed.edit({ type: 'crop', parameters: { x: 0, y: 0, width: 640, height: 360 } });
    await ed.edit({ type: 'filter', parameters: { name: 'blur', amount: 2 } });
    await ed.edit({ type: 'audio', parameters: { gain_db: 6 } });
    let r = await ed.undo();
    expect([r.status, r.etag, r.body.canUndo, r.body.canRedo]).toEqual([200, '"4"', true, true]);
    expect(r.body.state.audio.gainDb).toBe(0);
    r = await ed.undo();
    expect(r.body.edits.map((e) => e.state)).toEqual(['active', 'undone', 'undone']);
    expect(r.body.state.filters).toEqual({});
    r = await ed.redo();
    expect(r.body.edits.map((e) => e.state)).toEqual(['active', 'active', 'undone']);
    expect(r.body.state.filters).toEqual({ blur: 2 });
    r = await ed.edit({ type: 'filter', parameters: { name: 'sepia', amount: 1 } });
    expect(r.body.edits.map((e) => e.state)).toEqual(['active', 'active', 'dropped', 'active']);
    expect(r.body.canRedo).toBe(false);
    r = await ed.redo();
    expect([r.status, r.body.code]).toEqual([409, 'NOTHING_TO_REDO']);
    for (let i = 0; i < 3; i++) expect((await ed.undo()).status).toBe(200);
    r = await ed.undo();
    expect([r.status, r.body.code]).toEqual([409, 'NOTHING_TO_UNDO']);
    r = await ed.load();
    expect(r.body.edits.map((e) => e.state)).toEqual(['undone', 'undone', 'dropped', 'undone']);
    expect(r.body.state).toEqual((await ed.load()).body.state);
    expect(r.body.state.crop).toBeNull();
    // Redo brings back the first undone edit, skipping the dropped one.
    await ed.redo();
    await ed.redo();
    r = await ed.redo();
    expect(r.body.edits.map((e) => e.state)).toEqual(['active', 'active', 'dropped', 'active']);
    expect(r.body.state.filters).toEqual({ blur: 2, sepia: 1 });
  });

  it('If-Match: missing is 428, stale is 409 with the history as it stands; nothing changes', async () => {
    const a = await signUp(t.url, 'a');
    const { id, ed } = await fresh(a);
    await ed.edit({ type: 'audio', parameters: { mute: true } });
    const base = `/api/recordings/${id}/edits`;
    const body = { type: 'audio', parameters: { gain_db: 1 } };
    for (const path of [base, `${base}/undo`, `${base}/redo`]) {
      const r = await editsCall(t.url, a.headers, 'POST', path, path === base ? { body } : {});
      expect([r.status, r.body.code]).toEqual([428, 'PRECONDITION_REQUIRED']);
    }
    const stale = await editsCall(t.url, a.headers, 'POST', base, { ifMatch: '"0"', body });
    expect([stale.status, stale.body.code]).toEqual([409, 'EDIT_CONFLICT']);
    expect(stale.body.details!.history).toMatchObject({ revision: '1', canUndo: true });
    expect(stale.body.details!.history.edits).toHaveLength(1);
    const undoStale = await editsCall(t.url, a.headers, 'POST', `${base}/undo`, { ifMatch: '"7"' });
    expect(undoStale.body.code).toBe('EDIT_CONFLICT');
    const bad = await editsCall(t.url, a.headers, 'POST', `${base}/undo`, { ifMatch: '*' });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await editsCall(t.url, a.headers, 'POST', `${base}/undo`, { ifMatch: 'W/"1"' })).status).toBe(200);
    expect((await ed.load()).body).toMatchObject({ revision: '2', canUndo: false, canRedo: true });
  });

  it('two clients at the same revision: one wins, the other gets 409 and the winner’s history', async () => {
    const a = await signUp(t.url, 'a');
    const { id } = await fresh(a);
    const [x, y] = [editor(t.url, a, id), editor(t.url, a, id)];
    for (let round = 0; round < 5; round++) {
      await x.load();
      await y.load();
      const answers = await Promise.all([
        x.edit({ type: 'filter', parameters: { name: 'blur', amount: round } }),
        y.edit({ type: 'audio', parameters: { gain_db: round } }),
      ]);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
      const lost = answers.find((r) => r.status === 409)!;
      const won = answers.find((r) => r.status === 201)!;
      expect(lost.body.details!.history).toEqual(won.body);
    }
    const h = (await x.load()).body;
    expect(h.edits.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
    expect(h.revision).toBe('5');
  });

  it('six clients (edits, undos, redos) on one revision at once: exactly one change is made', async () => {
    const a = await signUp(t.url, 'a');
    const { id, ed } = await fresh(a);
    await ed.edit({ type: 'audio', parameters: { mute: true } });
    await ed.edit({ type: 'audio', parameters: { gain_db: 3 } });
    await ed.undo();
    for (let round = 0; round < 3; round++) {
      const base = (await ed.load()).body;
      const clients = Array.from({ length: 6 }, () => editor(t.url, a, id));
      for (const client of clients) client.revision = base.revision;
      const answers = await Promise.all(
        clients.map((client, i) =>
          i < 2
            ? client.edit({ type: 'filter', parameters: { name: 'sepia', amount: (round + i) / 10 } })
            : i < 4
              ? client.undo()
              : client.redo(),
        ),
      );
      const won = answers.filter((r) => r.status < 300);
      expect(won).toHaveLength(1);
      expect(answers.filter((r) => r.status >= 300).map((r) => r.body.code)).toEqual(Array(5).fill('EDIT_CONFLICT'));
      const now = (await ed.load()).body;
      expect(now.revision).toBe(String(Number(base.revision) + 1));
      expect(now).toEqual(won[0]!.body);
      // Keep something to undo and to redo for the next round.
      if (!now.canRedo) await ed.undo();
      if (!now.canUndo) await ed.redo();
    }
  });

  it('a recording still processing: 409 RECORDING_PROCESSING for changes, its history readable', async () => {
    const a = await signUp(t.url, 'a');
    const { ed } = await fresh(a, { status: 'processing' });
    expect((await ed.load()).status).toBe(200);
    const r = await ed.edit({ type: 'audio', parameters: { mute: true } });
    expect([r.status, r.body.code]).toEqual([409, 'RECORDING_PROCESSING']);
  });

  it('owner and project editors edit; viewers read only (403); strangers and bad ids get 404', async () => {
    const [owner, editorUser, viewer, stranger] = [
      await signUp(t.url, 'owner'),
      await signUp(t.url, 'editor'),
      await signUp(t.url, 'viewer'),
      await signUp(t.url, 'stranger'),
    ];
    const p = await insertProject(c, owner.userId);
    await addMember(c, p, editorUser.userId, 'editor');
    await addMember(c, p, viewer.userId, 'viewer');
    const { id } = await fresh(owner, { projectId: p });
    const trim = { type: 'trim', parameters: { start: 1, end: 20 } } as const;
    expect((await editor(t.url, owner, id).edit(trim)).status).toBe(201);
    const ed = editor(t.url, editorUser, id);
    await ed.load();
    expect((await ed.edit({ type: 'audio', parameters: { mute: true } })).status).toBe(201);
    expect((await ed.undo()).status).toBe(200);
    const v = editor(t.url, viewer, id);
    expect((await v.load()).body.edits).toHaveLength(2);
    for (const r of [await v.edit(trim), await v.undo(), await v.redo()])
      expect([r.status, r.body.code]).toEqual([403, 'FORBIDDEN']);
    const s = editor(t.url, stranger, id);
    s.revision = '3';
    for (const r of [await s.load(), await s.edit(trim), await s.undo(), await s.redo()])
      expect([r.status, r.body.code]).toEqual([404, 'RECORDING_NOT_FOUND']);
    for (const bad of ['abc', '0', '99999999999999999999', '424242'])
      expect((await editor(t.url, owner, bad).load()).body.code).toBe('RECORDING_NOT_FOUND');
    const anonymous = await editsCall(t.url, { origin: t.url }, 'GET', `/api/recordings/${id}/edits`);
    expect(anonymous.status).toBe(401);
  });

  it('10,000 edits on one recording: every change and read stays correct and quick', async () => {
    const a = await signUp(t.url, 'a');
    const { id, ed } = await fresh(a);
    // 9,998 rows written as the service writes them (through the API this is O(n²) reads: minutes), then
    // the last two and undo/redo through the API on top of them.
    // A third of them cuts (3,333 kept ranges by the end), the rest filters and audio.
    const seeded: Edit[] = Array.from({ length: 9_998 }, (_, i) =>
      i % 3 === 0
        ? { type: 'trim', parameters: { start: i * 0.002, end: i * 0.002 + 0.001, mode: 'cut' } }
        : i % 3 === 1
          ? { type: 'audio', parameters: { gain_db: (i % 61) - 30 } }
          : { type: 'filter', parameters: { name: 'blur', amount: i % 21 } },
    );
    await c.query(
      `INSERT INTO recording_edits (recording_id, edit_type, parameters, undo_data, position, created_by)
       SELECT $1, e->>'type', e->'parameters', '{}', n, $3
         FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(e, n)`,
      [id, JSON.stringify(seeded), a.userId],
    );
    await c.query('UPDATE recordings SET edit_revision = 9998 WHERE id = $1', [id]);
    const timed = async <T>(fn: () => Promise<T>) => {
      const started = performance.now();
      const out = await fn();
      return { out, ms: performance.now() - started };
    };
    const load = await timed(() => ed.load());
    expect(load.out.body.edits).toHaveLength(9_998);
    const crop: Edit = { type: 'crop', parameters: { x: 0, y: 0, width: 640, height: 360 } };
    const trim: Edit = { type: 'trim', parameters: { start: 2, end: 20 } };
    const steps = [
      await timed(() => ed.edit(crop, '?since=9998')),
      await timed(() => ed.edit(trim, '?since=9998')),
      await timed(() => ed.undo('?since=9998')),
      await timed(() => ed.redo('?since=9998')),
    ];
    expect(steps.map((s) => s.out.status)).toEqual([201, 201, 200, 200]);
    const last = steps.at(-1)!.out.body;
    expect(last.revision).toBe('10002');
    expect(last.edits.map((e) => [e.position, e.state])).toEqual([
      [9_999, 'active'],
      [10_000, 'active'],
    ]);
    expect(last.state).toEqual(foldEdits(30, [...seeded, crop, trim]));
    // The keep trim removed over a thousand ranges: its undo data names ten and counts the rest.
    expect(last.edits[1]!.undoData).toMatchObject({ moreRanges: expect.any(Number) });
    expect((last.edits[1]!.undoData as { keep: unknown[] }).keep).toHaveLength(10);
    const all = await timed(() => ed.load());
    expect(all.out.body.edits).toHaveLength(10_000);
    expect(all.out.body.state).toEqual(last.state);
    // Generous bounds (2 CPUs shared, a debug-free but cold server): a regression to O(n²) work fails here.
    for (const s of [load, ...steps, all]) expect(s.ms).toBeLessThan(3_000);
  });

  it('deleting the recording deletes its history; a deleted author leaves the edit without one', async () => {
    const a = await signUp(t.url, 'a');
    const b = await signUp(t.url, 'b');
    const p = await insertProject(c, a.userId);
    await addMember(c, p, b.userId, 'editor');
    const { id, ed } = await fresh(a, { projectId: p });
    await ed.edit({ type: 'audio', parameters: { mute: true } });
    const eb = editor(t.url, b, id);
    await eb.load();
    await eb.edit({ type: 'audio', parameters: { mute: false } });
    await c.query('DELETE FROM users WHERE id = $1', [b.userId]);
    const h = (await ed.load()).body;
    expect(h.edits.map((e) => [e.createdBy, e.createdByName])).toEqual([
      [a.userId, 'a'],
      [null, null],
    ]);
    expect((await asUser(t.url, a).delete(`/api/recordings/${id}`)).status).toBe(204);
    const db = await connect(t.dbUrl);
    try {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM recording_edits WHERE recording_id = $1', [id]);
      expect(rows[0].n).toBe(0);
    } finally {
      await db.end();
    }
  });
});
