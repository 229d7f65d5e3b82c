/**
 * Constraint behaviour after `up`: every check rejects what it must (SQLSTATE 23514, under its own
 * name) and accepts the edge values; NOT NULL columns reject NULL (23502); defaults fill in; foreign
 * keys reject dangling references (23503) and cascade deletes as the spec says; the updated_at
 * triggers keep updated_at true. All statements are parameterised.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

const RECORDING_TYPES = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'];
const QUALITIES = ['high', 'medium', 'low'];
const RECORDING_STATUSES = ['processing', 'completed', 'failed'];
const SESSION_STATUSES = ['active', 'completed', 'interrupted'];
const EDIT_TYPES = ['trim', 'crop', 'filter', 'text_overlay', 'audio'];

/** Columns a test may set; names are interpolated into SQL, so only these are allowed. */
const COLUMNS = {
  users: ['id', 'email', 'display_name', 'created_at'],
  projects: ['owner_id', 'name', 'created_at', 'updated_at'],
  recordings: [
    'user_id', 'project_id', 'title', 'description', 'recording_type', 'duration', 'file_size', 'mime_type',
    'storage_url', 'thumbnail_url', 'quality', 'status', 'metadata', 'created_at', 'updated_at',
  ],
  recording_sessions: ['user_id', 'recording_type', 'started_at', 'ended_at', 'duration', 'device_info', 'settings', 'status', 'error_message', 'created_at'],
  recording_edits: ['recording_id', 'edit_type', 'parameters', 'applied_at', 'undo_data'],
} as const;
type Table = keyof typeof COLUMNS;
type Row = Record<string, unknown>;

/** The error a statement fails with; fails the test if it succeeds or fails with something else. */
async function pgError(p: Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof pg.DatabaseError) return e;
    throw e;
  }
  throw new Error('expected the statement to be rejected by the database, but it succeeded');
}

const violation = (e: pg.DatabaseError) => ({ code: e.code, table: e.table, constraint: e.constraint });
const notNull = (e: pg.DatabaseError) => ({ code: e.code, table: e.table, column: e.column });

describe.each(pgTargets())('Phase 1 constraints on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let seq = 0;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up();
    c = await connect(db.url);
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  async function insert(table: Table, values: Row): Promise<Row> {
    const names = Object.keys(values);
    for (const n of names) if (!(COLUMNS[table] as readonly string[]).includes(n)) throw new Error(`unknown column ${table}.${n}`);
    const sql = `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;
    const { rows } = await c.query<Row>(sql, Object.values(values));
    return rows[0]!;
  }
  const newUser = async (over: Row = {}) => {
    const n = ++seq;
    return insert('users', { id: `user_${n}`, email: `user${n}@example.test`, display_name: `User ${n}`, ...over });
  };
  const newProject = (owner: unknown, over: Row = {}) => insert('projects', { owner_id: owner, name: `Project ${++seq}`, ...over });
  const newRecording = (user: unknown, over: Row = {}) =>
    insert('recordings', { user_id: user, title: `Take ${++seq}`, recording_type: 'camera', duration: 60, ...over });
  const newSession = (user: unknown, over: Row = {}) =>
    insert('recording_sessions', { user_id: user, recording_type: 'screen', started_at: new Date('2025-01-01T10:00:00Z'), ...over });
  const newEdit = (recording: unknown, over: Row = {}) => insert('recording_edits', { recording_id: recording, edit_type: 'trim', parameters: { start: 1, end: 5 }, ...over });

  const count = async (sql: string, params: unknown[]) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);
  const dbNow = async () => (await c.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;

  describe('recordings checks', () => {
    it.each(['video', 'Camera', '', 'screen_camera', 'slides camera'])('rejects recording_type %j with chk_recording_type, storing nothing', async (type) => {
      const u = await newUser();
      const e = await pgError(newRecording(u.id, { recording_type: type }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_recording_type' });
      expect(await count('recordings WHERE user_id = $1', [u.id])).toBe(0);
    });

    it('accepts each of the six recording types', async () => {
      const u = await newUser();
      for (const t of RECORDING_TYPES) await newRecording(u.id, { recording_type: t });
      const { rows } = await c.query<{ recording_type: string }>('SELECT recording_type FROM recordings WHERE user_id = $1 ORDER BY id', [u.id]);
      expect(rows.map((r) => r.recording_type)).toEqual(RECORDING_TYPES);
    });

    it.each([0, -1, -2147483648])('rejects duration %d with chk_duration_positive', async (duration) => {
      const u = await newUser();
      const e = await pgError(newRecording(u.id, { duration }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_duration_positive' });
    });

    it('accepts duration 1 and the largest integer', async () => {
      const u = await newUser();
      expect((await newRecording(u.id, { duration: 1 })).duration).toBe(1);
      expect((await newRecording(u.id, { duration: 2147483647 })).duration).toBe(2147483647);
    });

    it('rejects a NULL duration (NOT NULL, 23502): a recording exists only once its length is known', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newRecording(u.id, { duration: null })))).toEqual({ code: '23502', table: 'recordings', column: 'duration' });
    });

    it.each([0, -1])('rejects file_size %d with chk_file_size_positive', async (file_size) => {
      const u = await newUser();
      const e = await pgError(newRecording(u.id, { file_size }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_file_size_positive' });
    });

    it('accepts file_size 1, a size beyond 4 GiB (bigint), and NULL (size not yet known)', async () => {
      const u = await newUser();
      expect((await newRecording(u.id, { file_size: 1 })).file_size).toBe('1');
      expect((await newRecording(u.id, { file_size: '5000000000' })).file_size).toBe('5000000000');
      expect((await newRecording(u.id, { file_size: null })).file_size).toBeNull();
      expect((await newRecording(u.id)).file_size).toBeNull();
    });

    it.each(['ultra', 'HIGH', ''])('rejects quality %j with chk_quality', async (quality) => {
      const u = await newUser();
      const e = await pgError(newRecording(u.id, { quality }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_quality' });
    });

    it('accepts each quality', async () => {
      const u = await newUser();
      for (const quality of QUALITIES) expect((await newRecording(u.id, { quality })).quality).toBe(quality);
    });

    it('rejects a NULL quality (NOT NULL, 23502)', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newRecording(u.id, { quality: null })))).toEqual({ code: '23502', table: 'recordings', column: 'quality' });
    });

    it.each(['deleted', 'active', 'Completed', ''])('rejects status %j with chk_recording_status', async (status) => {
      const u = await newUser();
      const e = await pgError(newRecording(u.id, { status }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_recording_status' });
    });

    it('accepts each recording status', async () => {
      const u = await newUser();
      for (const status of RECORDING_STATUSES) expect((await newRecording(u.id, { status })).status).toBe(status);
    });

    it('rejects a NULL status (NOT NULL, 23502)', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newRecording(u.id, { status: null })))).toEqual({ code: '23502', table: 'recordings', column: 'status' });
    });

    it('allows a recording without a project (project_id NULL)', async () => {
      const u = await newUser();
      const r = await newRecording(u.id, { project_id: null });
      expect(r.project_id).toBeNull();
      expect(await count('recordings WHERE id = $1', [r.id])).toBe(1);
    });

    it('checks UPDATEs too, and a rejected UPDATE leaves the row unchanged', async () => {
      const u = await newUser();
      const r = await newRecording(u.id, { duration: 30, status: 'processing' });
      const cases: [string, unknown, string][] = [
        ['status', 'deleted', 'chk_recording_status'],
        ['duration', 0, 'chk_duration_positive'],
        ['quality', 'ultra', 'chk_quality'],
        ['recording_type', 'video', 'chk_recording_type'],
        ['file_size', 0, 'chk_file_size_positive'],
      ];
      for (const [column, value, constraint] of cases) {
        const e = await pgError(c.query(`UPDATE recordings SET ${column} = $1 WHERE id = $2`, [value, r.id]));
        expect(violation(e), `UPDATE ${column} = ${JSON.stringify(value)}`).toEqual({ code: '23514', table: 'recordings', constraint });
      }
      const { rows } = await c.query('SELECT duration, status, quality, recording_type, file_size FROM recordings WHERE id = $1', [r.id]);
      expect(rows).toEqual([{ duration: 30, status: 'processing', quality: 'high', recording_type: 'camera', file_size: null }]);
    });
  });

  describe('recording_sessions checks', () => {
    it.each(['paused', 'failed', 'Active', ''])('rejects status %j with chk_session_status', async (status) => {
      const u = await newUser();
      const e = await pgError(newSession(u.id, { status }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recording_sessions', constraint: 'chk_session_status' });
    });

    it('accepts each session status', async () => {
      const u = await newUser();
      for (const status of SESSION_STATUSES) expect((await newSession(u.id, { status })).status).toBe(status);
    });

    it('rejects a NULL session status (NOT NULL, 23502)', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newSession(u.id, { status: null })))).toEqual({ code: '23502', table: 'recording_sessions', column: 'status' });
    });

    it('rejects an unknown recording_type (chk_session_recording_type) and accepts the six', async () => {
      const u = await newUser();
      const e = await pgError(newSession(u.id, { recording_type: 'video' }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recording_sessions', constraint: 'chk_session_recording_type' });
      for (const t of RECORDING_TYPES) expect((await newSession(u.id, { recording_type: t })).recording_type).toBe(t);
    });

    it('rejects a negative duration (chk_session_duration) but accepts 0 and NULL (still running)', async () => {
      const u = await newUser();
      const e = await pgError(newSession(u.id, { duration: -1 }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recording_sessions', constraint: 'chk_session_duration' });
      expect((await newSession(u.id, { duration: 0 })).duration).toBe(0);
      expect((await newSession(u.id)).duration).toBeNull();
    });

    it('rejects a session that ends before it started (chk_session_ended_after_started); equal or open-ended is fine', async () => {
      const u = await newUser();
      const started_at = new Date('2025-01-01T10:00:00Z');
      const e = await pgError(newSession(u.id, { started_at, ended_at: new Date('2025-01-01T09:59:59Z') }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recording_sessions', constraint: 'chk_session_ended_after_started' });
      expect((await newSession(u.id, { started_at, ended_at: started_at })).ended_at).toEqual(started_at);
      expect((await newSession(u.id, { started_at, ended_at: null })).ended_at).toBeNull();
    });

    it('rejects a NULL started_at (NOT NULL, 23502)', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newSession(u.id, { started_at: null })))).toEqual({ code: '23502', table: 'recording_sessions', column: 'started_at' });
    });
  });

  describe('recording_edits checks', () => {
    it.each(['rotate', 'Trim', 'text-overlay', ''])('rejects edit_type %j with chk_edit_type', async (edit_type) => {
      const u = await newUser();
      const r = await newRecording(u.id);
      const e = await pgError(newEdit(r.id, { edit_type }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recording_edits', constraint: 'chk_edit_type' });
      expect(await count('recording_edits WHERE recording_id = $1', [r.id])).toBe(0);
    });

    it('accepts each edit type', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      for (const edit_type of EDIT_TYPES) await newEdit(r.id, { edit_type });
      const { rows } = await c.query<{ edit_type: string }>('SELECT edit_type FROM recording_edits WHERE recording_id = $1 ORDER BY id', [r.id]);
      expect(rows.map((x) => x.edit_type)).toEqual(EDIT_TYPES);
    });

    it('rejects NULL parameters (NOT NULL, 23502)', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      expect(notNull(await pgError(newEdit(r.id, { parameters: null })))).toEqual({ code: '23502', table: 'recording_edits', column: 'parameters' });
    });
  });

  describe('users and projects checks (ours)', () => {
    it.each(['has space', '', 'x'.repeat(65), 'dot.ted'])('rejects user id %j with chk_user_id', async (id) => {
      const e = await pgError(newUser({ id }));
      expect(violation(e)).toEqual({ code: '23514', table: 'users', constraint: 'chk_user_id' });
    });

    it('accepts a 64-character user id of letters, digits, _ and -', async () => {
      const id = `Ab0_-${'z'.repeat(59)}`;
      expect((await newUser({ id })).id).toBe(id);
    });

    it.each(['no-at-sign', 'a@b c', '@example.test', `${'a'.repeat(310)}@example.test`])('rejects email %j with chk_user_email', async (email) => {
      const e = await pgError(newUser({ email }));
      expect(violation(e)).toEqual({ code: '23514', table: 'users', constraint: 'chk_user_email' });
    });

    it('rejects a second account with the same email in another case (idx_users_email_lower, 23505)', async () => {
      await newUser({ email: 'Same.Person@Example.test' });
      const e = await pgError(newUser({ email: 'same.person@example.TEST' }));
      expect(violation(e)).toEqual({ code: '23505', table: 'users', constraint: 'idx_users_email_lower' });
    });

    it('rejects an empty display name (chk_user_display_name) and a blank project name (chk_project_name)', async () => {
      expect(violation(await pgError(newUser({ display_name: '' })))).toEqual({ code: '23514', table: 'users', constraint: 'chk_user_display_name' });
      const u = await newUser();
      expect(violation(await pgError(newProject(u.id, { name: '   ' })))).toEqual({ code: '23514', table: 'projects', constraint: 'chk_project_name' });
      expect((await newProject(u.id, { name: 'P' })).name).toBe('P');
    });
  });

  describe('defaults', () => {
    it('a recording gets an id, quality high, status completed, and created_at = updated_at = now', async () => {
      const u = await newUser();
      const before = await dbNow();
      const r = await newRecording(u.id);
      const after = await dbNow();
      expect(r).toMatchObject({ quality: 'high', status: 'completed', project_id: null, metadata: null });
      expect(r.id).toMatch(/^[1-9][0-9]*$/);
      expect(r.created_at).toBeInstanceOf(Date);
      const created = (r.created_at as Date).getTime();
      expect(created).toBeGreaterThanOrEqual(before.getTime() - 1000);
      expect(created).toBeLessThanOrEqual(after.getTime());
      expect(r.updated_at).toEqual(r.created_at);
      const next = await newRecording(u.id);
      expect(BigInt(next.id as string)).toBeGreaterThan(BigInt(r.id as string));
    });

    it('a session starts out active, with created_at set', async () => {
      const u = await newUser();
      const before = await dbNow();
      const s = await newSession(u.id);
      expect(s.status).toBe('active');
      expect(s.created_at).toBeInstanceOf(Date);
      expect((s.created_at as Date).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    });

    it('an edit gets applied_at; a project and a user get created_at (and the project updated_at)', async () => {
      const before = (await dbNow()).getTime() - 1000;
      const u = await newUser();
      const p = await newProject(u.id);
      const e = await newEdit((await newRecording(u.id)).id);
      for (const v of [u.created_at, p.created_at, p.updated_at, e.applied_at]) {
        expect(v).toBeInstanceOf(Date);
        expect((v as Date).getTime()).toBeGreaterThanOrEqual(before);
      }
    });
  });

  describe('foreign keys', () => {
    it('reject a recording for a missing user (fk_recordings_user)', async () => {
      const e = await pgError(newRecording('no_such_user'));
      expect(violation(e)).toEqual({ code: '23503', table: 'recordings', constraint: 'fk_recordings_user' });
    });

    it('reject a recording in a missing project (fk_recordings_project)', async () => {
      const u = await newUser();
      const e = await pgError(newRecording(u.id, { project_id: '999999999' }));
      expect(violation(e)).toEqual({ code: '23503', table: 'recordings', constraint: 'fk_recordings_project' });
    });

    it('reject moving a recording to a missing user (fk_recordings_user on UPDATE)', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      const e = await pgError(c.query('UPDATE recordings SET user_id = $1 WHERE id = $2', ['no_such_user', r.id]));
      expect(violation(e)).toEqual({ code: '23503', table: 'recordings', constraint: 'fk_recordings_user' });
    });

    it('reject a session for a missing user (fk_sessions_user)', async () => {
      const e = await pgError(newSession('no_such_user'));
      expect(violation(e)).toEqual({ code: '23503', table: 'recording_sessions', constraint: 'fk_sessions_user' });
    });

    it('reject an edit of a missing recording (fk_edits_recording)', async () => {
      const e = await pgError(newEdit('999999999'));
      expect(violation(e)).toEqual({ code: '23503', table: 'recording_edits', constraint: 'fk_edits_recording' });
    });

    it('reject a project for a missing owner (fk_projects_owner)', async () => {
      const e = await pgError(newProject('no_such_user'));
      expect(violation(e)).toEqual({ code: '23503', table: 'projects', constraint: 'fk_projects_owner' });
    });
  });

  describe('cascading deletes', () => {
    /** A user with a project, a recording in it and one outside it, an edit on each, and a session. */
    async function account() {
      const u = await newUser();
      const p = await newProject(u.id);
      const inProject = await newRecording(u.id, { project_id: p.id });
      const loose = await newRecording(u.id);
      const e1 = await newEdit(inProject.id);
      const e2 = await newEdit(loose.id);
      const s = await newSession(u.id);
      return { u, p, inProject, loose, e1, e2, s };
    }
    const exists = async (table: Table, id: unknown) => (await count(`${table} WHERE id = $1`, [id])) === 1;
    async function survivors(a: Awaited<ReturnType<typeof account>>) {
      return {
        user: await exists('users', a.u.id),
        project: await exists('projects', a.p.id),
        inProject: await exists('recordings', a.inProject.id),
        loose: await exists('recordings', a.loose.id),
        editInProject: await exists('recording_edits', a.e1.id),
        editLoose: await exists('recording_edits', a.e2.id),
        session: await exists('recording_sessions', a.s.id),
      };
    }
    const all = (v: boolean) => ({ user: v, project: v, inProject: v, loose: v, editInProject: v, editLoose: v, session: v });

    it('deleting a user deletes their projects, recordings, edits and sessions, and nobody else’s', async () => {
      const gone = await account();
      const other = await account();
      expect(await survivors(gone)).toEqual(all(true));
      const del = await c.query('DELETE FROM users WHERE id = $1', [gone.u.id]);
      expect(del.rowCount).toBe(1);
      expect(await survivors(gone)).toEqual(all(false));
      expect(await count('recordings WHERE user_id = $1', [gone.u.id])).toBe(0);
      expect(await survivors(other)).toEqual(all(true));
    });

    it('deleting a project deletes its recordings and their edits, but not the user’s other recordings', async () => {
      const a = await account();
      const p2 = await newProject(a.u.id);
      const inOther = await newRecording(a.u.id, { project_id: p2.id });
      const del = await c.query('DELETE FROM projects WHERE id = $1', [a.p.id]);
      expect(del.rowCount).toBe(1);
      expect(await survivors(a)).toEqual({ ...all(true), project: false, inProject: false, editInProject: false });
      expect(await exists('projects', p2.id)).toBe(true);
      expect(await exists('recordings', inOther.id)).toBe(true);
    });

    it('deleting a recording deletes its edits only', async () => {
      const a = await account();
      await c.query('DELETE FROM recordings WHERE id = $1', [a.loose.id]);
      expect(await survivors(a)).toEqual({ ...all(true), loose: false, editLoose: false });
    });
  });

  describe('updated_at trigger', () => {
    const OLD = new Date('2000-01-01T00:00:00Z');

    it.each([
      ['recordings', (u: Row) => newRecording(u.id, { created_at: OLD, updated_at: OLD }), 'title'],
      ['projects', (u: Row) => newProject(u.id, { created_at: OLD, updated_at: OLD }), 'name'],
    ] as const)('an UPDATE of %s sets updated_at to now, leaves created_at and untouched rows alone', async (table, make, column) => {
      const u = await newUser();
      const row = await make(u);
      const bystander = await make(u);
      expect(row.updated_at).toEqual(OLD);

      const before = await dbNow();
      await c.query(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, ['Renamed', row.id]);
      const after = await dbNow();

      const { rows } = await c.query<{ id: string; created_at: Date; updated_at: Date }>(
        `SELECT id, created_at, updated_at FROM ${table} WHERE id = ANY ($1::bigint[]) ORDER BY id`,
        [[row.id, bystander.id]],
      );
      const [changed, untouched] = rows;
      expect(changed!.created_at).toEqual(OLD);
      expect(changed!.updated_at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
      expect(changed!.updated_at.getTime()).toBeLessThanOrEqual(after.getTime());
      expect(untouched).toEqual({ id: bystander.id, created_at: OLD, updated_at: OLD });
    });

    it.each(['recordings', 'projects'] as const)('on %s the trigger wins over an explicit updated_at in the UPDATE', async (table) => {
      const u = await newUser();
      const row = table === 'recordings' ? await newRecording(u.id) : await newProject(u.id);
      const before = await dbNow();
      await c.query(`UPDATE ${table} SET updated_at = $1 WHERE id = $2`, [OLD, row.id]);
      const { rows } = await c.query<{ updated_at: Date }>(`SELECT updated_at FROM ${table} WHERE id = $1`, [row.id]);
      expect(rows[0]!.updated_at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    });
  });
});
