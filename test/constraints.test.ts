/**
 * Constraint behaviour after `up` (all migrations, Phase 1 and 2): every check rejects what it must
 * (SQLSTATE 23514, under its own name) and accepts the edge values; NOT NULL columns reject NULL
 * (23502); unique indexes and constraints reject duplicates (23505); defaults fill in; foreign keys
 * reject dangling references (23503), cascade deletes as the spec says and clear an upload's link to a
 * deleted recording or session (ON DELETE SET NULL); the updated_at triggers keep updated_at true.
 * All statements are parameterised.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

const RECORDING_TYPES = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'];
const QUALITIES = ['high', 'medium', 'low'];
const RECORDING_STATUSES = ['processing', 'completed', 'failed'];
const SESSION_STATUSES = ['active', 'completed', 'interrupted'];
const EDIT_TYPES = ['trim', 'crop', 'filter', 'text_overlay', 'audio'];
const STORAGE_PROVIDERS = ['local', 's3'];
const MEMBER_ROLES = ['owner', 'editor', 'viewer'];
const UPLOAD_STATUSES = ['uploading', 'completed', 'failed', 'terminated'];

/** Columns a test may set; names are interpolated into SQL, so only these are allowed. */
const COLUMNS = {
  users: ['id', 'email', 'display_name', 'created_at', 'password_hash'],
  projects: ['owner_id', 'name', 'created_at', 'updated_at'],
  recordings: [
    'user_id',
    'project_id',
    'title',
    'description',
    'recording_type',
    'duration',
    'file_size',
    'mime_type',
    'storage_url',
    'thumbnail_url',
    'quality',
    'status',
    'metadata',
    'created_at',
    'updated_at',
    'storage_provider',
    'storage_key',
    'storage_region',
    'storage_bucket',
    'cdn_url',
  ],
  recording_sessions: [
    'user_id',
    'recording_type',
    'started_at',
    'ended_at',
    'duration',
    'device_info',
    'settings',
    'status',
    'error_message',
    'created_at',
    'project_id',
    'last_heartbeat_at',
    'recording_id',
    'discarded_at',
    'take',
  ],
  recording_edits: [
    'recording_id',
    'edit_type',
    'parameters',
    'applied_at',
    'undo_data',
    'created_by',
    'position',
    'undone_at',
    'dropped_at',
  ],
  auth_sessions: ['id', 'user_id', 'created_at', 'last_seen_at', 'expires_at', 'user_agent'],
  api_tokens: [
    'user_id',
    'name',
    'token_hash',
    'token_prefix',
    'created_at',
    'last_used_at',
    'expires_at',
    'revoked_at',
  ],
  project_members: ['project_id', 'user_id', 'role', 'created_at'],
  uploads: [
    'id',
    'user_id',
    'recording_id',
    'session_id',
    'upload_length',
    'upload_offset',
    'metadata',
    'status',
    'created_at',
    'updated_at',
    'completed_at',
  ],
  storage_deletions: ['storage_provider', 'storage_bucket', 'storage_key', 'requested_at', 'attempts', 'last_error'],
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

describe.each(pgTargets())('constraints (Phase 1 and 2) on $name', (target) => {
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
    for (const n of names)
      if (!(COLUMNS[table] as readonly string[]).includes(n)) throw new Error(`unknown column ${table}.${n}`);
    const placeholders = names.map((_, i) => `$${i + 1}`).join(', ');
    const sql = `INSERT INTO ${table} (${names.join(', ')}) VALUES (${placeholders}) RETURNING *`;
    const { rows } = await c.query<Row>(sql, Object.values(values));
    return rows[0]!;
  }
  const newUser = async (over: Row = {}) => {
    const n = ++seq;
    return insert('users', { id: `user_${n}`, email: `user${n}@example.test`, display_name: `User ${n}`, ...over });
  };
  const newProject = (owner: unknown, over: Row = {}) =>
    insert('projects', { owner_id: owner, name: `Project ${++seq}`, ...over });
  const newRecording = (user: unknown, over: Row = {}) =>
    insert('recordings', { user_id: user, title: `Take ${++seq}`, recording_type: 'camera', duration: 60, ...over });
  const newSession = (user: unknown, over: Row = {}) =>
    insert('recording_sessions', {
      user_id: user,
      recording_type: 'screen',
      started_at: new Date('2025-01-01T10:00:00Z'),
      ...over,
    });
  const newEdit = (recording: unknown, over: Row = {}) =>
    insert('recording_edits', {
      recording_id: recording,
      edit_type: 'trim',
      parameters: { start: 1, end: 5 },
      position: ++seq,
      ...over,
    });
  const HOUR = 3600_000;
  const newAuthSession = (user: unknown, over: Row = {}) =>
    insert('auth_sessions', { id: `sess_${++seq}`, user_id: user, expires_at: new Date(Date.now() + HOUR), ...over });
  const newToken = (user: unknown, over: Row = {}) => {
    const n = ++seq;
    return insert('api_tokens', {
      user_id: user,
      name: `token ${n}`,
      token_hash: `hash_${n}`,
      token_prefix: `rec_${n}`,
      ...over,
    });
  };
  const newMember = (project: unknown, user: unknown, over: Row = {}) =>
    insert('project_members', { project_id: project, user_id: user, role: 'editor', ...over });
  const newUpload = (user: unknown, over: Row = {}) =>
    insert('uploads', { id: `upload_${String(++seq).padStart(8, '0')}`, user_id: user, ...over });
  const newDeletion = (over: Row = {}) =>
    insert('storage_deletions', { storage_provider: 's3', storage_key: `rec/${++seq}.webm`, ...over });

  const count = async (sql: string, params: unknown[]) =>
    Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);
  const dbNow = async () => (await c.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;

  describe('recordings checks', () => {
    it.each(['video', 'Camera', '', 'screen_camera', 'slides camera'])(
      'rejects recording_type %j with chk_recording_type, storing nothing',
      async (type) => {
        const u = await newUser();
        const e = await pgError(newRecording(u.id, { recording_type: type }));
        expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_recording_type' });
        expect(await count('recordings WHERE user_id = $1', [u.id])).toBe(0);
      },
    );

    it('accepts each of the six recording types', async () => {
      const u = await newUser();
      for (const t of RECORDING_TYPES) await newRecording(u.id, { recording_type: t });
      const { rows } = await c.query<{ recording_type: string }>(
        'SELECT recording_type FROM recordings WHERE user_id = $1 ORDER BY id',
        [u.id],
      );
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
      expect(notNull(await pgError(newRecording(u.id, { duration: null })))).toEqual({
        code: '23502',
        table: 'recordings',
        column: 'duration',
      });
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
      expect(notNull(await pgError(newRecording(u.id, { quality: null })))).toEqual({
        code: '23502',
        table: 'recordings',
        column: 'quality',
      });
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
      expect(notNull(await pgError(newRecording(u.id, { status: null })))).toEqual({
        code: '23502',
        table: 'recordings',
        column: 'status',
      });
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
        expect(violation(e), `UPDATE ${column} = ${JSON.stringify(value)}`).toEqual({
          code: '23514',
          table: 'recordings',
          constraint,
        });
      }
      const { rows } = await c.query(
        'SELECT duration, status, quality, recording_type, file_size FROM recordings WHERE id = $1',
        [r.id],
      );
      expect(rows).toEqual([
        { duration: 30, status: 'processing', quality: 'high', recording_type: 'camera', file_size: null },
      ]);
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
      expect(notNull(await pgError(newSession(u.id, { status: null })))).toEqual({
        code: '23502',
        table: 'recording_sessions',
        column: 'status',
      });
    });

    it('rejects an unknown recording_type (chk_session_recording_type) and accepts the six', async () => {
      const u = await newUser();
      const e = await pgError(newSession(u.id, { recording_type: 'video' }));
      expect(violation(e)).toEqual({
        code: '23514',
        table: 'recording_sessions',
        constraint: 'chk_session_recording_type',
      });
      for (const t of RECORDING_TYPES) expect((await newSession(u.id, { recording_type: t })).recording_type).toBe(t);
    });

    it('rejects a negative duration (chk_session_duration) but accepts 0 and NULL (still running)', async () => {
      const u = await newUser();
      const e = await pgError(newSession(u.id, { duration: -1 }));
      expect(violation(e)).toEqual({ code: '23514', table: 'recording_sessions', constraint: 'chk_session_duration' });
      expect((await newSession(u.id, { duration: 0 })).duration).toBe(0);
      expect((await newSession(u.id)).duration).toBeNull();
    });

    it('rejects ended_at before started_at (chk_session_ended_after_started); equal or open-ended is OK', async () => {
      const u = await newUser();
      const started_at = new Date('2025-01-01T10:00:00Z');
      const e = await pgError(newSession(u.id, { started_at, ended_at: new Date('2025-01-01T09:59:59Z') }));
      expect(violation(e)).toEqual({
        code: '23514',
        table: 'recording_sessions',
        constraint: 'chk_session_ended_after_started',
      });
      expect((await newSession(u.id, { started_at, ended_at: started_at })).ended_at).toEqual(started_at);
      expect((await newSession(u.id, { started_at, ended_at: null })).ended_at).toBeNull();
    });

    it('rejects a NULL started_at (NOT NULL, 23502)', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newSession(u.id, { started_at: null })))).toEqual({
        code: '23502',
        table: 'recording_sessions',
        column: 'started_at',
      });
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

    it('an edit has a place (position >= 1), once per recording; only an undone edit can be dropped', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      for (const position of [null, 0, -1]) {
        const e = await pgError(newEdit(r.id, { position }));
        expect(violation(e)).toEqual({ code: '23514', table: 'recording_edits', constraint: 'chk_edit_position' });
      }
      await newEdit(r.id, { position: 1 });
      const dup = await pgError(newEdit(r.id, { position: 1 }));
      expect(violation(dup)).toEqual({
        code: '23505',
        table: 'recording_edits',
        constraint: 'idx_edits_recording_position',
      });
      const dropped = await pgError(newEdit(r.id, { position: 2, dropped_at: new Date() }));
      expect(violation(dropped)).toEqual({
        code: '23514',
        table: 'recording_edits',
        constraint: 'chk_edit_dropped_undone',
      });
      await newEdit(r.id, { position: 2, undone_at: new Date(), dropped_at: new Date() });
      expect(await count('recording_edits WHERE recording_id = $1', [r.id])).toBe(2);
    });

    it('accepts each edit type', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      for (const edit_type of EDIT_TYPES) await newEdit(r.id, { edit_type });
      const { rows } = await c.query<{ edit_type: string }>(
        'SELECT edit_type FROM recording_edits WHERE recording_id = $1 ORDER BY id',
        [r.id],
      );
      expect(rows.map((x) => x.edit_type)).toEqual(EDIT_TYPES);
    });

    it('rejects NULL parameters (NOT NULL, 23502)', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      expect(notNull(await pgError(newEdit(r.id, { parameters: null })))).toEqual({
        code: '23502',
        table: 'recording_edits',
        column: 'parameters',
      });
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

    it.each(['no-at-sign', 'a@b c', '@example.test', `${'a'.repeat(310)}@example.test`])(
      'rejects email %j with chk_user_email',
      async (email) => {
        const e = await pgError(newUser({ email }));
        expect(violation(e)).toEqual({ code: '23514', table: 'users', constraint: 'chk_user_email' });
      },
    );

    it('rejects a second account with the same email in another case (idx_users_email_lower, 23505)', async () => {
      await newUser({ email: 'Same.Person@Example.test' });
      const e = await pgError(newUser({ email: 'same.person@example.TEST' }));
      expect(violation(e)).toEqual({ code: '23505', table: 'users', constraint: 'idx_users_email_lower' });
    });

    it('rejects an empty display name (chk_user_display_name), a blank project name (chk_project_name)', async () => {
      expect(violation(await pgError(newUser({ display_name: '' })))).toEqual({
        code: '23514',
        table: 'users',
        constraint: 'chk_user_display_name',
      });
      const u = await newUser();
      expect(violation(await pgError(newProject(u.id, { name: '   ' })))).toEqual({
        code: '23514',
        table: 'projects',
        constraint: 'chk_project_name',
      });
      expect((await newProject(u.id, { name: 'P' })).name).toBe('P');
    });
  });

  describe('recording storage (Phase 2: 0007..0009)', () => {
    it.each(['gcs', 'S3', 'Local', 'azure', ''])(
      'rejects storage_provider %j with chk_storage_provider, storing nothing',
      async (storage_provider) => {
        const u = await newUser();
        const e = await pgError(newRecording(u.id, { storage_provider }));
        expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_storage_provider' });
        expect(await count('recordings WHERE user_id = $1', [u.id])).toBe(0);
      },
    );

    it('accepts local and s3', async () => {
      const u = await newUser();
      for (const storage_provider of STORAGE_PROVIDERS)
        expect((await newRecording(u.id, { storage_provider })).storage_provider).toBe(storage_provider);
    });

    it('storage_provider defaults to local, and the other storage columns to NULL', async () => {
      const u = await newUser();
      expect(await newRecording(u.id)).toMatchObject({
        storage_provider: 'local',
        storage_key: null,
        storage_region: null,
        storage_bucket: null,
        cdn_url: null,
      });
    });

    it('rejects a NULL storage_provider (NOT NULL, 23502): every recording lives somewhere', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newRecording(u.id, { storage_provider: null })))).toEqual({
        code: '23502',
        table: 'recordings',
        column: 'storage_provider',
      });
    });

    it('checks an UPDATE of storage_provider too, leaving the row unchanged', async () => {
      const u = await newUser();
      const r = await newRecording(u.id, { storage_provider: 's3', storage_key: `k/${++seq}` });
      const e = await pgError(c.query('UPDATE recordings SET storage_provider = $1 WHERE id = $2', ['gcs', r.id]));
      expect(violation(e)).toEqual({ code: '23514', table: 'recordings', constraint: 'chk_storage_provider' });
      expect((await c.query('SELECT storage_provider FROM recordings WHERE id = $1', [r.id])).rows).toEqual([
        { storage_provider: 's3' },
      ]);
    });

    it('rejects a duplicate storage_key (idx_recordings_storage_key, 23505), even for another user', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const storage_key = `recordings/${a.id}/${++seq}.webm`;
      await newRecording(a.id, { storage_provider: 's3', storage_bucket: 'media', storage_key });
      for (const user of [a, b]) {
        const e = await pgError(
          newRecording(user.id, { storage_provider: 's3', storage_bucket: 'media', storage_key }),
        );
        expect(violation(e)).toEqual({ code: '23505', table: 'recordings', constraint: 'idx_recordings_storage_key' });
      }
      expect(await count('recordings WHERE storage_key = $1', [storage_key])).toBe(1);
    });

    it('rejects an UPDATE that copies another recording’s storage_key', async () => {
      const u = await newUser();
      const first = await newRecording(u.id, { storage_key: `k/${++seq}` });
      const second = await newRecording(u.id, { storage_key: `k/${++seq}` });
      const e = await pgError(
        c.query('UPDATE recordings SET storage_key = $1 WHERE id = $2', [first.storage_key, second.id]),
      );
      expect(violation(e)).toEqual({ code: '23505', table: 'recordings', constraint: 'idx_recordings_storage_key' });
    });

    it('allows any number of recordings without a storage_key (NULLs are distinct)', async () => {
      const u = await newUser();
      for (let i = 0; i < 3; i++) await newRecording(u.id, { storage_key: null });
      await newRecording(u.id);
      expect(await count('recordings WHERE user_id = $1 AND storage_key IS NULL', [u.id])).toBe(4);
    });
  });

  describe('accounts (Phase 2: 0006)', () => {
    it('a user needs no password_hash (accounts created before Phase 2, or without password sign-in)', async () => {
      expect((await newUser()).password_hash).toBeNull();
      expect((await newUser({ password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' })).password_hash).toMatch(
        /^\$argon2id\$/,
      );
    });

    it.each(['admin', 'Owner', 'member', ''])(
      'rejects project member role %j with chk_project_member_role',
      async (role) => {
        const u = await newUser();
        const p = await newProject(u.id);
        const e = await pgError(newMember(p.id, u.id, { role }));
        expect(violation(e)).toEqual({
          code: '23514',
          table: 'project_members',
          constraint: 'chk_project_member_role',
        });
        expect(await count('project_members WHERE project_id = $1', [p.id])).toBe(0);
      },
    );

    it('accepts each member role, once per user and project (project_members_pkey, 23505)', async () => {
      const owner = await newUser();
      const p = await newProject(owner.id);
      for (const role of MEMBER_ROLES) expect((await newMember(p.id, (await newUser()).id, { role })).role).toBe(role);
      await newMember(p.id, owner.id, { role: 'owner' });
      const e = await pgError(newMember(p.id, owner.id, { role: 'viewer' }));
      expect(violation(e)).toEqual({ code: '23505', table: 'project_members', constraint: 'project_members_pkey' });
    });

    it('rejects a NULL member role (NOT NULL, 23502)', async () => {
      const u = await newUser();
      const p = await newProject(u.id);
      expect(notNull(await pgError(newMember(p.id, u.id, { role: null })))).toEqual({
        code: '23502',
        table: 'project_members',
        column: 'role',
      });
    });

    it('rejects a duplicate API token_hash (uq_api_tokens_token_hash, 23505), even for another user', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const token_hash = `sha256_${++seq}`;
      await newToken(a.id, { token_hash });
      for (const user of [a, b]) {
        const e = await pgError(newToken(user.id, { token_hash }));
        expect(violation(e)).toEqual({ code: '23505', table: 'api_tokens', constraint: 'uq_api_tokens_token_hash' });
      }
      expect(await count('api_tokens WHERE token_hash = $1', [token_hash])).toBe(1);
    });

    it.each(['', '   ', 'x'.repeat(101)])('rejects API token name %j with chk_api_token_name', async (name) => {
      const u = await newUser();
      const e = await pgError(newToken(u.id, { name }));
      expect(violation(e)).toEqual({ code: '23514', table: 'api_tokens', constraint: 'chk_api_token_name' });
    });

    it('accepts API token names of 1 and 100 characters', async () => {
      const u = await newUser();
      expect((await newToken(u.id, { name: 'x' })).name).toBe('x');
      expect((await newToken(u.id, { name: 'y'.repeat(100) })).name).toBe('y'.repeat(100));
    });

    it('rejects an auth session without expires_at (NOT NULL, 23502)', async () => {
      const u = await newUser();
      expect(notNull(await pgError(newAuthSession(u.id, { expires_at: null })))).toEqual({
        code: '23502',
        table: 'auth_sessions',
        column: 'expires_at',
      });
    });
  });

  describe('uploads (Phase 2: 0010)', () => {
    it.each(['done', 'Uploading', 'cancelled', ''])(
      'rejects upload status %j with chk_upload_status',
      async (status) => {
        const u = await newUser();
        const e = await pgError(newUpload(u.id, { status }));
        expect(violation(e)).toEqual({ code: '23514', table: 'uploads', constraint: 'chk_upload_status' });
        expect(await count('uploads WHERE user_id = $1', [u.id])).toBe(0);
      },
    );

    it('accepts each upload status', async () => {
      const u = await newUser();
      for (const status of UPLOAD_STATUSES) expect((await newUpload(u.id, { status })).status).toBe(status);
    });

    it.each([
      [11, 10],
      [1, 0],
      [-1, 10],
      [-1, null],
    ])('rejects upload_offset %d with upload_length %s (chk_upload_offset)', async (upload_offset, upload_length) => {
      const u = await newUser();
      const e = await pgError(newUpload(u.id, { upload_offset, upload_length }));
      expect(violation(e)).toEqual({ code: '23514', table: 'uploads', constraint: 'chk_upload_offset' });
    });

    it('accepts an offset up to the length, and any offset while the length is NULL (deferred length)', async () => {
      const u = await newUser();
      expect(await newUpload(u.id, { upload_offset: 0, upload_length: 0 })).toMatchObject({
        upload_offset: '0',
        upload_length: '0',
      });
      expect(await newUpload(u.id, { upload_offset: 10, upload_length: 10 })).toMatchObject({
        upload_offset: '10',
        upload_length: '10',
      });
      expect(await newUpload(u.id, { upload_offset: '6000000000', upload_length: null })).toMatchObject({
        upload_offset: '6000000000',
        upload_length: null,
      });
    });

    it('rejects an UPDATE that moves the offset past the length, leaving the row unchanged', async () => {
      const u = await newUser();
      const up = await newUpload(u.id, { upload_length: 100 });
      await c.query('UPDATE uploads SET upload_offset = $1 WHERE id = $2', [100, up.id]);
      const e = await pgError(c.query('UPDATE uploads SET upload_offset = $1 WHERE id = $2', [101, up.id]));
      expect(violation(e)).toEqual({ code: '23514', table: 'uploads', constraint: 'chk_upload_offset' });
      expect((await c.query('SELECT upload_offset FROM uploads WHERE id = $1', [up.id])).rows).toEqual([
        { upload_offset: '100' },
      ]);
    });
  });

  describe('recording_sessions take links (Phase 2: 0011..0015)', () => {
    it('one recording per take: a second session cannot link it too (idx_sessions_recording_id)', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      await newSession(u.id, { recording_id: r.id, status: 'completed' });
      const e = await pgError(newSession(u.id, { recording_id: r.id, status: 'completed' }));
      expect(violation(e)).toEqual({
        code: '23505',
        table: 'recording_sessions',
        constraint: 'idx_sessions_recording_id',
      });
      // Many sessions without a recording are fine (NULLs stay distinct).
      await newSession(u.id);
      await newSession(u.id);
    });

    it('a discarded take has no recording (chk_session_discarded_or_kept)', async () => {
      const u = await newUser();
      const r = await newRecording(u.id);
      const e = await pgError(newSession(u.id, { recording_id: r.id, discarded_at: new Date(), status: 'completed' }));
      expect(violation(e)).toEqual({
        code: '23514',
        table: 'recording_sessions',
        constraint: 'chk_session_discarded_or_kept',
      });
      expect(
        (await newSession(u.id, { discarded_at: new Date('2025-01-01T10:00:05Z'), status: 'completed' })).recording_id,
      ).toBeNull();
    });

    it('rejects a project or recording that does not exist (fk_sessions_project, fk_sessions_recording)', async () => {
      const u = await newUser();
      expect(violation(await pgError(newSession(u.id, { project_id: '999999999' })))).toEqual({
        code: '23503',
        table: 'recording_sessions',
        constraint: 'fk_sessions_project',
      });
      expect(violation(await pgError(newSession(u.id, { recording_id: '999999999' })))).toEqual({
        code: '23503',
        table: 'recording_sessions',
        constraint: 'fk_sessions_recording',
      });
    });

    it('deleting its project or its recording keeps the session and clears the link (ON DELETE SET NULL)', async () => {
      const u = await newUser();
      const p = await newProject(u.id);
      const r = await newRecording(u.id);
      const s = await newSession(u.id, {
        project_id: p.id,
        recording_id: r.id,
        status: 'completed',
        take: { title: 'kept' },
      });
      await c.query('DELETE FROM recordings WHERE id = $1', [r.id]);
      await c.query('DELETE FROM projects WHERE id = $1', [p.id]);
      const { rows } = await c.query(
        'SELECT project_id, recording_id, status, take FROM recording_sessions WHERE id = $1',
        [s.id],
      );
      expect(rows).toEqual([{ project_id: null, recording_id: null, status: 'completed', take: { title: 'kept' } }]);
    });
  });

  describe('storage_deletions outbox (Phase 2: 0010)', () => {
    it.each(['gcs', ''])('rejects storage_provider %j with chk_storage_deletion_provider', async (storage_provider) => {
      const e = await pgError(newDeletion({ storage_provider }));
      expect(violation(e)).toEqual({
        code: '23514',
        table: 'storage_deletions',
        constraint: 'chk_storage_deletion_provider',
      });
    });

    it('rejects an entry without a key (NOT NULL, 23502); attempts starts at 0 and requested_at at now', async () => {
      expect(notNull(await pgError(newDeletion({ storage_key: null })))).toEqual({
        code: '23502',
        table: 'storage_deletions',
        column: 'storage_key',
      });
      const before = (await dbNow()).getTime() - 1000;
      const d = await newDeletion({ storage_provider: 'local' });
      expect(d).toMatchObject({ attempts: '0', last_error: null, storage_bucket: null });
      expect((d.requested_at as Date).getTime()).toBeGreaterThanOrEqual(before);
    });
  });

  describe('defaults', () => {
    it(
      'a recording gets an id, quality high, status completed, storage_provider local, ' +
        'and created_at = updated_at = now',
      async () => {
        const u = await newUser();
        const before = await dbNow();
        const r = await newRecording(u.id);
        const after = await dbNow();
        expect(r).toMatchObject({
          quality: 'high',
          status: 'completed',
          project_id: null,
          metadata: null,
          storage_provider: 'local',
        });
        expect(r.id).toMatch(/^[1-9][0-9]*$/);
        expect(r.created_at).toBeInstanceOf(Date);
        const created = (r.created_at as Date).getTime();
        expect(created).toBeGreaterThanOrEqual(before.getTime() - 1000);
        expect(created).toBeLessThanOrEqual(after.getTime());
        expect(r.updated_at).toEqual(r.created_at);
        const next = await newRecording(u.id);
        expect(BigInt(next.id as string)).toBeGreaterThan(BigInt(r.id as string));
      },
    );

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

    it('an upload starts uploading at offset 0 with empty metadata; created_at = updated_at = now', async () => {
      const before = (await dbNow()).getTime() - 1000;
      const u = await newUser();
      const up = await newUpload(u.id);
      expect(up).toMatchObject({
        status: 'uploading',
        upload_offset: '0',
        upload_length: null,
        metadata: {},
        recording_id: null,
        session_id: null,
        completed_at: null,
      });
      expect((up.created_at as Date).getTime()).toBeGreaterThanOrEqual(before);
      expect(up.updated_at).toEqual(up.created_at);
    });

    it('an auth session gets created_at = last_seen_at = now; API tokens and memberships get created_at', async () => {
      const before = (await dbNow()).getTime() - 1000;
      const u = await newUser();
      const s = await newAuthSession(u.id);
      expect(s.last_seen_at).toEqual(s.created_at);
      const t = await newToken(u.id);
      expect(t).toMatchObject({ last_used_at: null, expires_at: null, revoked_at: null });
      const m = await newMember((await newProject(u.id)).id, u.id);
      for (const v of [s.created_at, t.created_at, m.created_at])
        expect((v as Date).getTime()).toBeGreaterThanOrEqual(before);
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

    it('reject Phase 2 rows that point at a missing user, project, recording or session', async () => {
      const u = await newUser();
      const p = await newProject(u.id);
      const cases: [string, () => Promise<unknown>, string][] = [
        ['auth_sessions', () => newAuthSession('no_such_user'), 'fk_auth_sessions_user'],
        ['api_tokens', () => newToken('no_such_user'), 'fk_api_tokens_user'],
        ['project_members', () => newMember('999999999', u.id), 'fk_project_members_project'],
        ['project_members', () => newMember(p.id, 'no_such_user'), 'fk_project_members_user'],
        ['uploads', () => newUpload('no_such_user'), 'fk_uploads_user'],
        ['uploads', () => newUpload(u.id, { recording_id: '999999999' }), 'fk_uploads_recording'],
        ['uploads', () => newUpload(u.id, { session_id: '999999999' }), 'fk_uploads_session'],
      ];
      for (const [table, attempt, constraint] of cases) {
        expect(violation(await pgError(attempt())), constraint).toEqual({ code: '23503', table, constraint });
      }
    });
  });

  describe('cascading deletes', () => {
    /**
     * A user with a project (they are its owner member), a recording in it and one outside it, an edit
     * on each, a recording session, a sign-in session, an API token, and two uploads: one that made
     * the loose recording in that session, one that made the recording in the project.
     */
    async function account() {
      const u = await newUser();
      const p = await newProject(u.id);
      const inProject = await newRecording(u.id, { project_id: p.id });
      const loose = await newRecording(u.id);
      const e1 = await newEdit(inProject.id);
      const e2 = await newEdit(loose.id);
      const s = await newSession(u.id);
      const authSession = await newAuthSession(u.id);
      const token = await newToken(u.id);
      await newMember(p.id, u.id, { role: 'owner' });
      const upload = await newUpload(u.id, { recording_id: loose.id, session_id: s.id, status: 'completed' });
      const uploadInProject = await newUpload(u.id, { recording_id: inProject.id, status: 'completed' });
      return { u, p, inProject, loose, e1, e2, s, authSession, token, upload, uploadInProject };
    }
    type IdTable = Exclude<Table, 'project_members'>;
    const exists = async (table: IdTable, id: unknown) => (await count(`${table} WHERE id = $1`, [id])) === 1;
    const isMember = async (project: unknown, user: unknown) =>
      (await count('project_members WHERE project_id = $1 AND user_id = $2', [project, user])) === 1;
    const links = async (uploadId: unknown) =>
      (
        await c.query<{ recording_id: string | null; session_id: string | null }>(
          'SELECT recording_id, session_id FROM uploads WHERE id = $1',
          [uploadId],
        )
      ).rows[0];
    async function survivors(a: Awaited<ReturnType<typeof account>>) {
      return {
        user: await exists('users', a.u.id),
        project: await exists('projects', a.p.id),
        inProject: await exists('recordings', a.inProject.id),
        loose: await exists('recordings', a.loose.id),
        editInProject: await exists('recording_edits', a.e1.id),
        editLoose: await exists('recording_edits', a.e2.id),
        session: await exists('recording_sessions', a.s.id),
        authSession: await exists('auth_sessions', a.authSession.id),
        token: await exists('api_tokens', a.token.id),
        membership: await isMember(a.p.id, a.u.id),
        upload: await exists('uploads', a.upload.id),
        uploadInProject: await exists('uploads', a.uploadInProject.id),
      };
    }
    const all = (v: boolean) => ({
      user: v,
      project: v,
      inProject: v,
      loose: v,
      editInProject: v,
      editLoose: v,
      session: v,
      authSession: v,
      token: v,
      membership: v,
      upload: v,
      uploadInProject: v,
    });

    it(
      'deleting a user deletes their projects, recordings, edits, sessions, sign-in sessions, tokens, ' +
        'memberships and uploads, and nobody else’s',
      async () => {
        const gone = await account();
        const other = await account();
        // The other user is also a member of the departing user's project, and keeps their own.
        await newMember(gone.p.id, other.u.id, { role: 'viewer' });
        expect(await survivors(gone)).toEqual(all(true));
        const del = await c.query('DELETE FROM users WHERE id = $1', [gone.u.id]);
        expect(del.rowCount).toBe(1);
        expect(await survivors(gone)).toEqual(all(false));
        for (const t of [
          'recordings',
          'recording_sessions',
          'auth_sessions',
          'api_tokens',
          'project_members',
          'uploads',
        ] as const) {
          expect(await count(`${t} WHERE user_id = $1`, [gone.u.id]), t).toBe(0);
        }
        expect(await isMember(gone.p.id, other.u.id)).toBe(false);
        expect(await survivors(other)).toEqual(all(true));
        expect(await links(other.upload.id)).toEqual({ recording_id: other.loose.id, session_id: other.s.id });
      },
    );

    it(
      'deleting a project deletes its recordings, their edits and its memberships; ' +
        'uploads of those recordings stay, unlinked',
      async () => {
        const a = await account();
        const member = await newUser();
        await newMember(a.p.id, member.id, { role: 'editor' });
        const p2 = await newProject(a.u.id);
        await newMember(p2.id, member.id, { role: 'viewer' });
        const inOther = await newRecording(a.u.id, { project_id: p2.id });
        const del = await c.query('DELETE FROM projects WHERE id = $1', [a.p.id]);
        expect(del.rowCount).toBe(1);
        expect(await survivors(a)).toEqual({
          ...all(true),
          project: false,
          inProject: false,
          editInProject: false,
          membership: false,
        });
        expect(await count('project_members WHERE project_id = $1', [a.p.id])).toBe(0);
        // The members themselves, and their memberships elsewhere, stay.
        expect(await exists('users', member.id)).toBe(true);
        expect(await isMember(p2.id, member.id)).toBe(true);
        expect(await exists('projects', p2.id)).toBe(true);
        expect(await exists('recordings', inOther.id)).toBe(true);
        expect(await links(a.uploadInProject.id)).toEqual({ recording_id: null, session_id: null });
        expect(await links(a.upload.id)).toEqual({ recording_id: a.loose.id, session_id: a.s.id });
      },
    );

    it(
      'deleting a recording deletes its edits; ' +
        'its upload stays, with recording_id set to NULL (fk_uploads_recording ON DELETE SET NULL)',
      async () => {
        const a = await account();
        const del = await c.query('DELETE FROM recordings WHERE id = $1', [a.loose.id]);
        expect(del.rowCount).toBe(1);
        expect(await survivors(a)).toEqual({ ...all(true), loose: false, editLoose: false });
        expect(await links(a.upload.id)).toEqual({ recording_id: null, session_id: a.s.id });
        const { rows } = await c.query('SELECT user_id, status FROM uploads WHERE id = $1', [a.upload.id]);
        expect(rows).toEqual([{ user_id: a.u.id, status: 'completed' }]);
      },
    );

    it(
      'deleting a recording session keeps its upload, ' +
        'with session_id set to NULL (fk_uploads_session ON DELETE SET NULL)',
      async () => {
        const a = await account();
        await c.query('DELETE FROM recording_sessions WHERE id = $1', [a.s.id]);
        expect(await survivors(a)).toEqual({ ...all(true), session: false });
        expect(await links(a.upload.id)).toEqual({ recording_id: a.loose.id, session_id: null });
      },
    );
  });

  describe('updated_at trigger', () => {
    const OLD = new Date('2000-01-01T00:00:00Z');
    const TRIGGERED = ['recordings', 'projects', 'uploads'] as const;
    const make = (table: (typeof TRIGGERED)[number], u: Row, over: Row = {}) =>
      table === 'recordings'
        ? newRecording(u.id, over)
        : table === 'projects'
          ? newProject(u.id, over)
          : newUpload(u.id, over);
    /** A column each table lets us change, and a valid new value. */
    const CHANGE = {
      recordings: ['title', 'Renamed'],
      projects: ['name', 'Renamed'],
      uploads: ['status', 'completed'],
    } as const;
    const stamps = async (table: string, id: unknown) =>
      (
        await c.query<{ created_at: Date; updated_at: Date }>(
          `SELECT created_at, updated_at FROM ${table} WHERE id = $1`,
          [id],
        )
      ).rows[0]!;

    it.each(TRIGGERED)(
      'an UPDATE of %s sets updated_at to now, leaves created_at and untouched rows alone',
      async (table) => {
        const u = await newUser();
        const row = await make(table, u, { created_at: OLD, updated_at: OLD });
        const bystander = await make(table, u, { created_at: OLD, updated_at: OLD });
        expect(row.updated_at).toEqual(OLD);

        const [column, value] = CHANGE[table];
        const before = await dbNow();
        await c.query(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, [value, row.id]);
        const after = await dbNow();

        const changed = await stamps(table, row.id);
        expect(changed.created_at).toEqual(OLD);
        expect(changed.updated_at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
        expect(changed.updated_at.getTime()).toBeLessThanOrEqual(after.getTime());
        expect(await stamps(table, bystander.id)).toEqual({ created_at: OLD, updated_at: OLD });
      },
    );

    it.each(TRIGGERED)('on %s the trigger wins over an explicit updated_at in the UPDATE', async (table) => {
      const u = await newUser();
      const row = await make(table, u);
      const before = await dbNow();
      await c.query(`UPDATE ${table} SET updated_at = $1 WHERE id = $2`, [OLD, row.id]);
      expect((await stamps(table, row.id)).updated_at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    });
  });
});
