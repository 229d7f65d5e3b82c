/**
 * The history through the API against a simple in-memory model (fast-check): random sequences of edits,
 * undos and redos on a fresh recording give, after every step, the same answer (201/200 or the same 4xx
 * code), the same edits in the same states (active / undone / dropped), the same canUndo/canRedo and the
 * same folded state as the model. The model is a list and three rules: an edit drops every undone edit and
 * goes on top; undo undoes the highest active edit; redo redoes the lowest undone one.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { checkEdit, type Edit, foldEdits } from '../src/shared/edits.js';
import { signUp, type TestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import { editor, insertEditableRecording } from './support/edits.js';
import { withTestServer } from './support/recordings-fixtures.js';

const MEDIA = { durationSeconds: 30, width: 1280, height: 720 };
type Status = 'active' | 'undone' | 'dropped';
type Command = { kind: 'edit'; edit: Edit } | { kind: 'undo' } | { kind: 'redo' };

/** Times on a 0.25 s grid, so trims sometimes leave too little and are refused (the model says so too). */
const time = fc.integer({ min: 0, max: 120 }).map((q) => q / 4);
const even = (max: number) => fc.integer({ min: 0, max: max / 2 }).map((n) => n * 2);
const edits: fc.Arbitrary<Edit> = fc.oneof(
  fc
    .record({ a: time, b: time, cut: fc.boolean() })
    .map(({ a, b, cut }) => ({ type: 'trim', parameters: { start: a, end: b, ...(cut ? { mode: 'cut' } : {}) } })),
  fc.record({ x: even(1280), y: even(720), w: even(1280), h: even(720) }).map(({ x, y, w, h }) => ({
    type: 'crop',
    parameters: { x, y, width: Math.max(16, w), height: Math.max(16, h) },
  })),
  fc
    .record({
      name: fc.constantFrom('brightness', 'contrast', 'blur', 'sepia'),
      amount: fc.integer({ min: 0, max: 2 }),
    })
    .map((parameters) => ({ type: 'filter', parameters })),
  fc.record({ from: time, to: time }).map(({ from, to }) => ({
    type: 'text_overlay',
    parameters: { text: 'T', x: 0.1, y: 0.1, from, to, size: 0.1, color: '#ffffff', background: null },
  })),
  fc.oneof(
    fc.integer({ min: -30, max: 30 }).map((gain_db) => ({ type: 'audio', parameters: { gain_db } })),
    fc.boolean().map((mute) => ({ type: 'audio', parameters: { mute } })),
  ),
) as fc.Arbitrary<Edit>;
const commands: fc.Arbitrary<Command[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: edits.map((edit) => ({ kind: 'edit', edit }) as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'undo' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'redo' } as const) },
  ),
  { minLength: 1, maxLength: 25 },
);

/** The model: what the API must answer to each command, and the history after it. */
class Model {
  readonly stack: { edit: Edit; status: Status }[] = [];
  private active = () => this.stack.filter((e) => e.status === 'active').map((e) => e.edit);
  apply(c: Command): string | null {
    if (c.kind === 'edit') {
      const refused = checkEdit(this.state(), c.edit, MEDIA);
      if (refused) return 'EDIT_INVALID';
      for (const e of this.stack) if (e.status === 'undone') e.status = 'dropped';
      this.stack.push({ edit: c.edit, status: 'active' });
    } else if (c.kind === 'undo') {
      const last = [...this.stack].reverse().find((e) => e.status === 'active');
      if (!last) return 'NOTHING_TO_UNDO';
      last.status = 'undone';
    } else {
      const first = this.stack.find((e) => e.status === 'undone');
      if (!first) return 'NOTHING_TO_REDO';
      first.status = 'active';
    }
    return null;
  }
  state = () => foldEdits(MEDIA.durationSeconds, this.active());
  canUndo = () => this.stack.some((e) => e.status === 'active');
  canRedo = () => this.stack.some((e) => e.status === 'undone');
}

describe.each(pgTargets())('edit history against a model (fast-check) on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  withTestServer(target, (s) => ({ t, c } = s));

  it('random edits, undos and redos give the model’s stack, flags and state after every step', async () => {
    const user = await signUp(t.url, 'prop');
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const ed = editor(t.url, user, await insertEditableRecording(c, user.userId));
        await ed.load();
        const model = new Model();
        for (const cmd of cmds) {
          const expectedCode = model.apply(cmd);
          const r =
            cmd.kind === 'edit' ? await ed.edit(cmd.edit) : cmd.kind === 'undo' ? await ed.undo() : await ed.redo();
          if (expectedCode) {
            expect([r.status >= 400, r.body.code]).toEqual([true, expectedCode]);
            continue;
          }
          expect(r.status).toBe(cmd.kind === 'edit' ? 201 : 200);
          const h = r.body;
          expect(h.edits.map((e) => [e.type, e.parameters, e.state])).toEqual(
            model.stack.map((e) => [e.edit.type, e.edit.parameters, e.status]),
          );
          expect(h.edits.map((e) => e.position)).toEqual(model.stack.map((_, i) => i + 1));
          expect([h.canUndo, h.canRedo]).toEqual([model.canUndo(), model.canRedo()]);
          expect(h.state).toEqual(model.state());
        }
        // What a reload (another tab, another device) sees is what the last answer said.
        const reloaded = (await ed.load()).body;
        expect(reloaded.edits.map((e) => e.state)).toEqual(model.stack.map((e) => e.status));
        expect(reloaded.state).toEqual(model.state());
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
